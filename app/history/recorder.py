"""The recorder: every chamber's tick records become history samples without configuration,
and other sources (the ingest) hand in samples through `record` and `record_text`.

A chamber's readings are gathered per interval of `history_interval_s` (aligned to the
epoch, so the chambers' samples line up): when a tick falls in the next interval, or the
interval has ended without one, each field's sample is written with the mean, min and max
of the ticks in it and the time of the first of them. A field no tick had a value for (a
lost sensor) gets no sample: a gap stays a gap.

Samples are kept on the loop and handed to the one database writer every `flush_s` in one
transaction (`enqueue`: a slow or locked disk delays the write, never a tick). `stop` closes
the open intervals and hands on what is left, which the writer's stop then writes.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..db.writer import DbWriter
from ..periodic import Periodic
from .store import (
    MAX_TEXT,
    MAX_UNIT,
    SERIES_NAME,
    TEXT_KINDS,
    VALUE_KINDS,
    NewSample,
    Written,
    check_sample,
    write_samples,
)

log = logging.getLogger(__name__)

FLUSH_S = 2.0  # at most this much recorded data waits on the loop; one transaction per flush
MAX_BATCH = 5000  # a burst of ingested samples is written in transactions of this many
FUTURE_MS = 5 * 60_000  # a sender's clock may be this far ahead of ours
DAY_MS = 86_400_000
CHAMBER_PREFIX = "chamber/"
# tick record field -> (unit, kind) of its series `chamber/<id>/<field>`
CHAMBER_FIELDS: dict[str, tuple[str, str]] = {
    "beer": ("°C", "measurement"),
    "fridge": ("°C", "measurement"),
    "room": ("°C", "measurement"),
    "beer_set": ("°C", "measurement"),
    "fridge_set": ("°C", "measurement"),
    "heat_duty": ("", "measurement"),  # 0-1
    "cool_duty": ("", "measurement"),
    "heat": ("", "state"),  # the relay, 1 on, 0 off: the mean is the share of ticks it was on
    "cool": ("", "state"),
}
SWITCH_NAME = re.compile(r"[a-z0-9_]{1,32}")
CHANNEL = re.compile(r"chamber/([0-9]+)/data")


class SampleRefused(ValueError):
    """A sample handed to `record` or `record_text` that no series may hold; nothing was kept."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _Interval:
    """One chamber's open interval: field -> [sum, n, min, max]."""

    __slots__ = ("index", "length_ms", "first_ts", "fields")

    def __init__(self, index: int, length_ms: int, first_ts: int) -> None:
        self.index = index
        self.length_ms = length_ms
        self.first_ts = first_ts
        self.fields: dict[str, list[float]] = {}

    def add(self, field: str, value: float) -> None:
        acc = self.fields.get(field)
        if acc is None:
            self.fields[field] = [value, 1, value, value]
        else:
            acc[0] += value
            acc[1] += 1
            if value < acc[2]:
                acc[2] = value
            elif value > acc[3]:
                acc[3] = value


def _number(value: Any) -> float | None:
    """A reading as a sample value: numbers as they are, relay and switch states as 1/0."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _record_ms(record: Mapping[str, Any]) -> int | None:
    stamp = record.get("ts")
    if not isinstance(stamp, str):
        return None
    try:
        return int(datetime.fromisoformat(stamp).timestamp() * 1000)
    except ValueError:
        return None


class Recorder:
    def __init__(
        self,
        writer: DbWriter,
        setting: Callable[[str], Any],
        *,
        wall: Callable[[], float] = time.time,
        flush_s: float = FLUSH_S,
    ) -> None:
        """`setting(name)` reads a runtime setting (`history_interval_s`, `history_raw_days`);
        `wall` is epoch seconds (a test or the benchmark passes a virtual one)."""
        self._writer = writer
        self._setting = setting
        self._wall = wall
        self._open: dict[int, _Interval] = {}  # chamber id -> its open interval
        self._pending: list[NewSample] = []
        self._bad_switches: set[str] = set()
        self._periodic = Periodic(
            "flushing history", self._due, period_s=flush_s, first_run_s=flush_s, wall=wall
        )
        self.queued = 0  # samples handed to the writer
        self.stored = 0  # ... and committed
        self.refused = 0  # ... refused there (older than their series' raw_from)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        """Close every open interval and hand everything to the writer (whose stop writes it)."""
        await self._periodic.stop()
        for chamber_id in list(self._open):
            self._close(chamber_id)
        self.flush()

    async def _due(self) -> None:
        self.close_ended()
        self.flush()

    # -- chambers -------------------------------------------------------------------------
    def on_publish(self, channel: str, data: Any) -> None:
        """Everything the control loop publishes passes here; tick records are recorded."""
        if channel.startswith(CHAMBER_PREFIX) and isinstance(data, dict):
            match = CHANNEL.fullmatch(channel)
            if match is not None:
                self.chamber_record(int(match.group(1)), data)

    def chamber_record(self, chamber_id: int, record: Mapping[str, Any]) -> None:
        """One tick record of `chamber/<id>/data`."""
        ts = _record_ms(record)
        if ts is None:
            ts = int(self._wall() * 1000)
        length_ms = int(self._setting("history_interval_s") * 1000)
        index = ts // length_ms
        interval = self._open.get(chamber_id)
        if interval is not None and (interval.index != index or interval.length_ms != length_ms):
            self._close(chamber_id)
            interval = None
        if interval is None:
            interval = self._open[chamber_id] = _Interval(index, length_ms, ts)
        for field in CHAMBER_FIELDS:
            value = _number(record.get(field))
            if value is not None:
                interval.add(field, value)
        switches = record.get("switches")
        if isinstance(switches, dict):
            for name, state in switches.items():
                value = _number(state)
                if value is not None and self._switch_ok(name):
                    interval.add(name, value)

    def _switch_ok(self, name: Any) -> bool:
        if isinstance(name, str) and SWITCH_NAME.fullmatch(name) and name not in CHAMBER_FIELDS:
            return True
        if str(name) not in self._bad_switches:
            self._bad_switches.add(str(name))
            log.warning("switch input %r is not recorded: its name is not one a series can carry", name)
        return False

    def close_ended(self) -> None:
        """Close the intervals that ended without a tick after them (a stopped chamber)."""
        now_ms = int(self._wall() * 1000)
        for chamber_id, interval in list(self._open.items()):
            if (interval.index + 1) * interval.length_ms <= now_ms:
                self._close(chamber_id)

    def _close(self, chamber_id: int) -> None:
        interval = self._open.pop(chamber_id)
        prefix = f"{CHAMBER_PREFIX}{chamber_id}/"
        for field, (total, count, low, high) in interval.fields.items():
            unit, kind = CHAMBER_FIELDS.get(field, ("", "state"))  # not a field: a switch
            self._pending.append(
                NewSample(prefix + field, interval.first_ts, total / count, low, high, unit=unit, kind=kind)
            )
        if len(self._pending) >= MAX_BATCH:
            self.flush()

    # -- other sources (the ingest) -------------------------------------------------------
    def record(
        self,
        series: str,
        ts_ms: int | None,
        value: float,
        *,
        unit: str = "",
        kind: str = "measurement",
        min: float | None = None,  # noqa: A002 - the sample's own words
        max: float | None = None,  # noqa: A002
    ) -> None:
        """Keep one numeric sample (`ts_ms` None: now); SampleRefused names what is wrong."""
        self.keep(self.checked(series, ts_ms, value, unit=unit, kind=kind, min=min, max=max))

    def record_text(
        self, series: str, ts_ms: int | None, text: str, *, kind: str = "event", unit: str = ""
    ) -> None:
        """Keep one event or categorical state (`ts_ms` None: now)."""
        self.keep(self.checked_text(series, ts_ms, text, kind=kind, unit=unit))

    def checked(
        self,
        series: str,
        ts_ms: int | None,
        value: float,
        *,
        unit: str = "",
        kind: str = "measurement",
        min: float | None = None,  # noqa: A002
        max: float | None = None,  # noqa: A002
    ) -> NewSample:
        """The sample `record` would keep, kept nowhere: SampleRefused when it would be
        refused. A source that must answer its sender (the ingest) asks this first."""
        if kind not in VALUE_KINDS:
            raise SampleRefused("kind", f"kind must be one of {', '.join(VALUE_KINDS)} for a number")
        ts = self._checked(series, ts_ms, unit)
        try:
            check_sample(series, value, min, max)
        except ValueError as error:
            raise SampleRefused("value", str(error)) from None
        return NewSample(series, ts, float(value), min, max, unit=unit, kind=kind)

    def checked_text(
        self, series: str, ts_ms: int | None, text: str, *, kind: str = "event", unit: str = ""
    ) -> NewSample:
        """The sample `record_text` would keep, kept nowhere (as `checked`)."""
        if kind not in TEXT_KINDS:
            raise SampleRefused("kind", f"kind must be one of {', '.join(TEXT_KINDS)} for a text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT or not text.isprintable():
            raise SampleRefused("text", f"text must be 1-{MAX_TEXT} printable characters")
        ts = self._checked(series, ts_ms, unit)
        return NewSample(series, ts, None, text=text, unit=unit, kind=kind)

    def _checked(self, series: str, ts_ms: int | None, unit: str) -> int:
        if not isinstance(series, str) or not SERIES_NAME.fullmatch(series):
            raise SampleRefused("series", "series name must be 1-64 of a-z 0-9 _ . / -")
        if series.startswith(CHAMBER_PREFIX):
            raise SampleRefused("series", "series chamber/... are the chambers' own")
        if not isinstance(unit, str) or len(unit) > MAX_UNIT or not unit.isprintable():
            raise SampleRefused("unit", f"unit must be at most {MAX_UNIT} printable characters")
        now_ms = int(self._wall() * 1000)
        if ts_ms is None:
            return now_ms
        if isinstance(ts_ms, bool) or not isinstance(ts_ms, int):
            raise SampleRefused("ts", "ts must be an integer of epoch milliseconds")
        raw_days = self._setting("history_raw_days")
        if ts_ms < now_ms - raw_days * DAY_MS:
            raise SampleRefused(
                "ts",
                f"ts is more than {raw_days} days ago: raw history is kept that long (history_raw_days)",
            )
        if ts_ms > now_ms + FUTURE_MS:
            raise SampleRefused("ts", "ts is more than 5 min ahead of the server's clock")
        return ts_ms

    def keep(self, sample: NewSample) -> None:
        """Queue a sample `checked` or `checked_text` made."""
        self._pending.append(sample)
        if len(self._pending) >= MAX_BATCH:
            self.flush()

    # -- writing --------------------------------------------------------------------------
    def flush(self) -> None:
        """Hand the samples kept so far to the writer, as one transaction."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self.queued += len(batch)
        self._writer.enqueue("history", lambda session: write_samples(session, batch), then=self._written)

    def _written(self, written: Written) -> None:
        self.stored += written.stored
        if written.refused:
            self.refused += written.refused
            log.info("%d history samples refused: older than the raw samples kept", written.refused)

    def status(self) -> dict[str, Any]:
        return {
            "interval_s": self._setting("history_interval_s"),
            "open_chambers": len(self._open),
            "waiting": len(self._pending),
            "queued": self.queued,
            "stored": self.stored,
            "refused": self.refused,
        }
