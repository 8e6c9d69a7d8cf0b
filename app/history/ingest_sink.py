"""The history recorder as a sink of the ingest (`app/ingest/sink.py`): every accepted
sample is kept as a sample of its series, and a sample the recorder would refuse is
refused to its sender before anything of its batch is kept or published."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..ingest.sink import NUMERIC_KINDS, Sample
from ..ingest.validate import IngestError
from .recorder import Recorder, SampleRefused
from .store import NewSample

log = logging.getLogger(__name__)


class HistorySink:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def _new(self, sample: Sample) -> NewSample:
        """The recorder's sample for `sample`; SampleRefused when it would not keep it."""
        if sample.kind in NUMERIC_KINDS:
            assert sample.value is not None
            return self.recorder.checked(
                sample.series, sample.ts_ms, sample.value, unit=sample.unit or "", kind=sample.kind
            )
        assert sample.text is not None
        return self.recorder.checked_text(
            sample.series, sample.ts_ms, sample.text, kind=sample.kind, unit=sample.unit or ""
        )

    def check(self, samples: Sequence[Sample]) -> None:
        """IngestError naming the first sample the recorder would refuse (older than the
        raw samples are kept, a text it cannot hold): the ingest answers it to the sender
        (`ERR`, 400) and keeps and publishes nothing of the batch."""
        for sample in samples:
            try:
                self._new(sample)
            except SampleRefused as error:
                raise IngestError(f"{sample.series} not kept: {error.message}", error.field) from None

    def record(self, samples: Sequence[Sample]) -> None:
        """Queue each sample. `check` passed them a moment before, on the same loop turn; a
        refusal here all the same is logged and the sample skipped, the rest still go in."""
        for sample in samples:
            try:
                self.recorder.keep(self._new(sample))
            except SampleRefused as error:
                log.info("ingest sample of %s not kept in history: %s", sample.series, error)
