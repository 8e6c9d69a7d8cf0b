"""The history recorder as a sink of the ingest (`app/ingest/sink.py`): every accepted
sample is kept as a sample of its series."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..ingest.sink import NUMERIC_KINDS, Sample
from .recorder import Recorder, SampleRefused

log = logging.getLogger(__name__)


class HistorySink:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def record(self, samples: Sequence[Sample]) -> None:
        """Queue each sample; one the store refuses (older than the raw samples are kept)
        is logged and skipped, the rest still go in."""
        for sample in samples:
            try:
                if sample.kind in NUMERIC_KINDS:
                    assert sample.value is not None
                    self.recorder.record(
                        sample.series, sample.ts_ms, sample.value, unit=sample.unit or "", kind=sample.kind
                    )
                else:
                    assert sample.text is not None
                    self.recorder.record_text(
                        sample.series, sample.ts_ms, sample.text, kind=sample.kind, unit=sample.unit or ""
                    )
            except SampleRefused as error:
                log.info("ingest sample of %s not kept in history: %s", sample.series, error)
