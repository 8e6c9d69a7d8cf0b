"""Alarm rules on ingested series as the server runs them (docs/control.md "Alarm rules on
ingested series"): the rules stored in `series_rule` (`/api/series-rules`), each a
`SeriesRule` fed every sample of its series and checked for staleness every second, their
findings raised and cleared through the `AlarmService` like a chamber's.

Samples come in through `record`, which has the shape of the ingest's sink
(`app/ingest/sink.py`); the server appends this to `IngestService.sinks`, subscribes it to
`_series-rules` and runs `check_stale` on a timer. Nothing here imports the ingest or the
pub/sub. Staleness is measured on the monotonic `clock` from when a sample arrived, never
on the samples' own timestamps; a rule that has seen no sample since it took effect (a
start, a new rule) counts from then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..db.models import SeriesAlarmRule
from .alarms.finding import Finding
from .alarms.series_rules import SeriesRule
from .gravity import Lookup, no_readings

log = logging.getLogger(__name__)

CHANNEL = "_series-rules"  # the change events of /api/series-rules
STALE_CHECK_S = 1.0  # how often `check_stale` runs in the server
SOURCE_PREFIX = "series::"
CODES = ("above", "below", "stale")


class IngestedSample(Protocol):
    """What `record` reads of a sample (the ingest's `Sample` is one)."""

    series: str
    ts_ms: int
    value: float | None  # None for events and states


class Alarms(Protocol):
    """What is used of the `AlarmService`."""

    def apply(self, source: str, findings: Mapping[str, Finding | None]) -> Any: ...

    def clear_source(self, source: str) -> None: ...

    def active_codes(self, prefix: str) -> dict[str, set[str]]: ...


@dataclass
class _Watched:
    rule: SeriesRule
    settings: tuple[Any, ...]  # the stored row's values: a change rebuilds the rule
    last_at: float  # monotonic: the last sample's arrival, or when watching began
    last_ts_ms: int | None = None  # the newest sample judged, by its own time


def _settings(row: SeriesAlarmRule) -> tuple[Any, ...]:
    return (row.above, row.below, row.hysteresis, row.stale_min, row.severity)


class SeriesAlarms:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        alarms: Alarms,
        latest: Lookup = no_readings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`latest` looks up a series' latest sample (judged when a rule is created or
        changed, so it applies at once); `clock` is monotonic seconds (a test may hand in
        its own)."""
        self._sessions = sessions
        self._alarms = alarms
        self._latest = latest
        self.clock = clock
        self.rules: dict[str, _Watched] = {}  # series -> its rule

    # -- configuration ------------------------------------------------------------------
    def start(self) -> None:
        self.reload()

    def deliver(self, message: Any) -> None:
        """A change event on `_series-rules`: reload once the publication is delivered."""
        asyncio.get_running_loop().call_soon(self._reload_logged)

    def _reload_logged(self) -> None:
        try:
            self.reload()
        except Exception:  # the rules as they were go on
            log.exception("series alarm rules could not be reloaded")

    def reload(self) -> None:
        """Take the stored rules: new and changed ones are judged on the series' latest
        sample at once; alarms of a rule deleted, disabled or left without that condition
        are cleared (latched until acknowledged, as ever)."""
        with self._sessions() as session:
            rows = session.scalars(select(SeriesAlarmRule).where(SeriesAlarmRule.enabled.is_(True))).all()
            wanted = {row.series: (row, _settings(row)) for row in rows}
        now = self.clock()
        active = self._alarms.active_codes(SOURCE_PREFIX)
        rules: dict[str, _Watched] = {}
        for series, (row, settings) in wanted.items():
            watched = self.rules.get(series)
            if watched is not None and watched.settings == settings:
                rules[series] = watched
                continue
            rule = SeriesRule(
                series,
                above=row.above,
                below=row.below,
                stale_s=None if row.stale_min is None else row.stale_min * 60,
                hysteresis=row.hysteresis,
                severity=row.severity,
            )
            rule.resume(active.get(rule.source, set()))
            if watched is None:
                fresh = _Watched(rule, settings, last_at=now)
            else:
                fresh = _Watched(rule, settings, watched.last_at, watched.last_ts_ms)
            rules[series] = fresh
            findings: dict[str, Finding | None] = {code: None for code in CODES if code not in rule.codes}
            sample = self._latest(series)
            value = None if sample is None else sample.value
            if sample is not None and value is not None:
                fresh.last_ts_ms = max(fresh.last_ts_ms or sample.ts_ms, sample.ts_ms)
            findings.update(rule.evaluate(value, fresh.last_at, now))
            self._alarms.apply(rule.source, findings)
        self.rules = rules
        for source in active:
            if source.removeprefix(SOURCE_PREFIX) not in rules:
                self._alarms.clear_source(source)

    # -- samples, and their absence -----------------------------------------------------
    def record(self, samples: Sequence[IngestedSample]) -> None:
        """Each accepted sample, on the IOLoop's thread, in arrival order (the ingest's sink
        interface). Any sample shows its series is alive; a value is judged unless it is
        older than one already judged (a backlog arriving late)."""
        for sample in samples:
            watched = self.rules.get(sample.series)
            if watched is None:
                continue
            now = self.clock()
            watched.last_at = now
            value = sample.value
            if value is not None and watched.last_ts_ms is not None and sample.ts_ms < watched.last_ts_ms:
                value = None
            if value is not None:
                watched.last_ts_ms = sample.ts_ms
            self._alarms.apply(watched.rule.source, watched.rule.evaluate(value, now, now))

    def check_stale(self) -> None:
        """Raise `stale` for each series whose last sample is older than its limit."""
        now = self.clock()
        for watched in list(self.rules.values()):
            if watched.rule.stale_s is None:
                continue
            try:
                self._alarms.apply(watched.rule.source, watched.rule.evaluate(None, watched.last_at, now))
            except Exception:  # one rule must not stop the others' checks
                log.exception("staleness check of %s failed", watched.rule.series)
