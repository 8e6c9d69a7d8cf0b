"""The seam between ingest and whatever keeps samples: a `Sample` value and the
`SampleSink` protocol. Ingest knows nothing of the history store; the store's recorder
implements `SampleSink` and is appended to `IngestService.sinks` (see docs/ingest.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Kind = Literal["measurement", "counter", "event", "state"]
KINDS: tuple[Kind, ...] = ("measurement", "counter", "event", "state")
NUMERIC_KINDS = frozenset({"measurement", "counter"})  # carry `value`; the others carry `text`


@dataclass(frozen=True, slots=True)
class Sample:
    """One ingested reading.

    `measurement`: `value` is the reading; `counter`: `value` is the increment (the store
    sums them); `event`: `text` is free text (a note); `state`: `text` is the new state
    (`on`, `open`). `unit` is None where the sender gave none; temperatures are °C.
    """

    series: str
    ts_ms: int  # UTC, epoch milliseconds
    kind: Kind
    value: float | None = None
    text: str | None = None
    unit: str | None = None


class SampleSink(Protocol):
    def record(self, samples: Sequence[Sample]) -> None:
        """Take validated samples, in order. Called on the IOLoop's thread: queue them and
        return at once (no disk or network I/O here). An exception is logged, and the
        samples are still published and handed to the other sinks."""


class CheckingSink(SampleSink, Protocol):
    """A sink that may refuse a sample it cannot keep, so that the sender hears of it."""

    def check(self, samples: Sequence[Sample]) -> None:
        """Raise IngestError (app/ingest/validate.py) naming a sample of the batch this sink
        would not keep: the batch is refused to its sender (`ERR`, 400), and nothing of it
        is handed to any sink or published. Called before any sink's `record`, on the
        IOLoop's thread, with no I/O. Any other exception is logged and counts as a pass."""
