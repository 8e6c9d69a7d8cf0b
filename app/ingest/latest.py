"""The latest numeric sample of each ingested series, in memory: a sink of the ingest
(`app/ingest/sink.py`) that the server reads for what a chamber shows beside its
temperatures (docs/ingest.md "Gravity beside temperature"). A lookup is a dict read on
the IOLoop's thread; the database is never asked."""

from __future__ import annotations

from collections.abc import Sequence

from .sink import NUMERIC_KINDS, Sample


class LatestSamples:
    """Keeps, per series, the measurement or counter sample with the newest own timestamp:
    a late sample (an iSpindel's backlog, a line with an old `@ts`) never replaces a newer
    one. Events and states are not kept. Bounded by the ingest's `max_series`, since only
    samples the ingest accepted arrive here."""

    def __init__(self) -> None:
        self._latest: dict[str, Sample] = {}

    def record(self, samples: Sequence[Sample]) -> None:
        latest = self._latest
        for sample in samples:
            if sample.kind not in NUMERIC_KINDS or sample.value is None:
                continue
            kept = latest.get(sample.series)
            if kept is None or sample.ts_ms >= kept.ts_ms:
                latest[sample.series] = sample

    def get(self, series: str) -> Sample | None:
        """The latest sample of `series`, or None when none arrived since start."""
        return self._latest.get(series)
