"""History: the recorder, roll-ups into time frames, retention and chart queries
(docs/history.md). Nothing here imports the control loop, the pub/sub or the API."""

from .recorder import Recorder, SampleRefused
from .service import History

__all__ = ["History", "Recorder", "SampleRefused"]
