"""The ingest service: every accepted sample, whether it came by a TCP line or an HTTP feed,
goes through `submit`: checked, checked by the sinks that can refuse (the history recorder:
a sample it would not keep is refused to the sender, not published), handed to the sinks,
then published on `ingest/<series>` (design.md "Ingest")."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..pubsub.hub import Hub, utc_iso
from .sink import NUMERIC_KINDS, Sample, SampleSink
from .validate import IngestError, check_sample

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "ingest/"


def sample_message(sample: Sample) -> dict[str, Any]:
    """What `ingest/<series>` carries: `{"series","ts","kind","value","unit"}` for
    measurements and counters, `{"series","ts","kind","text"}` for events and states."""
    message: dict[str, Any] = {
        "series": sample.series,
        "ts": utc_iso(sample.ts_ms / 1000),
        "kind": sample.kind,
    }
    if sample.kind in NUMERIC_KINDS:
        message["value"] = sample.value
        message["unit"] = sample.unit
    else:
        message["text"] = sample.text
    return message


class IngestService:
    """Checks, stores (through `sinks`) and publishes samples.

    `max_series` bounds how many distinct series outside writers can create since start,
    so a script with a token cannot fill the hub with channels.
    """

    def __init__(self, hub: Hub, max_series: int = 1000, clock: Callable[[], float] = time.time) -> None:
        self.hub = hub
        self.max_series = max_series
        self.clock = clock
        self.sinks: list[SampleSink] = []
        self._series: set[str] = set()
        self.accepted = 0

    def now_s(self) -> float:
        return self.clock()

    def submit(self, samples: Sequence[Sample]) -> list[dict[str, Any]]:
        """Accept all of `samples` or none: IngestError (ours, or a sink's `check`) before
        anything is handed on. Returns the published messages, in order."""
        now_s = self.clock()
        for sample in samples:
            check_sample(sample, now_s)
        batch = list(samples)
        for sink in self.sinks:
            check = getattr(sink, "check", None)  # a CheckingSink (the history recorder's)
            if check is None:
                continue
            try:
                check(batch)
            except IngestError:
                raise
            except Exception:  # a broken check must not stop live data
                log.exception("ingest sink %r failed checking %d sample(s)", sink, len(batch))
        new = {sample.series for sample in samples} - self._series
        if new and len(self._series) + len(new) > self.max_series:
            raise IngestError(
                f"already {len(self._series)} series since start (ingest.max_series is {self.max_series}); "
                "write to an existing one",
                "series",
            )
        self._series |= new
        for sink in self.sinks:
            try:
                sink.record(batch)
            except Exception:  # one broken sink must not stop live data or the other sinks
                log.exception("ingest sink %r failed on %d sample(s)", sink, len(batch))
        messages = []
        for sample in batch:
            message = sample_message(sample)
            self.hub.publish(CHANNEL_PREFIX + sample.series, message)
            messages.append(message)
        self.accepted += len(batch)
        return messages
