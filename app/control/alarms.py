"""Alarms (control.md "Alarms"): the latched state machine, the per-chamber rules, series
rules, and the shapes published on the `alarms` channel (protocol.md §1).

Pure Python and clock free: every call takes `now` (epoch seconds, UTC). Nothing here
stores or publishes; the book returns an `AlarmChange` for every transition and the caller
persists it (`change.row_values()`, the `Alarm` table's columns) and then publishes
`{"alarms": [change.as_message(), ...]}`.

One alarm per (source, code) at a time. Its state follows from two times:

    acknowledged_at  cleared_at   state
    None             None         active_unacknowledged
    set              None         active_acknowledged
    None             set          cleared_unacknowledged  (latched: still listed, still to acknowledge)
    set              set          cleared                 (archived: leaves the book)

Raising an alarm that is already active changes nothing; raising one that is latched
(cleared, unacknowledged) makes that same alarm active again, with the same id.

Ids come from the caller's database. A newly raised alarm comes out with `id=None`; the
caller inserts the row and calls `book.assign_id(change, row.id)`, which records the id and
returns the change with it, ready to publish. Later changes of that alarm carry the id.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

CRITICAL = "critical"
WARNING = "warning"
ADVISORY = "advisory"  # informs; never switches an output
SEVERITIES = (CRITICAL, WARNING, ADVISORY)

ACTIVE_UNACKNOWLEDGED = "active_unacknowledged"
ACTIVE_ACKNOWLEDGED = "active_acknowledged"
CLEARED_UNACKNOWLEDGED = "cleared_unacknowledged"
CLEARED = "cleared"

ALL: Literal["all"] = "all"  # acknowledge every alarm in the book

MAX_SOURCE_CHARS = 128
MAX_CODE_CHARS = 64
MAX_MSG_CHARS = 500
MAX_ITEMS = 100  # alarms or ids in one publication

DAY_S = 86400.0


def _iso(epoch_s: float) -> str:
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _utc(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, tz=UTC)


def _epoch(value: datetime | float | None) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime in an alarm record; times are UTC")
    return value.timestamp()


def alarm_state(acknowledged_at: object | None, cleared_at: object | None) -> str:
    """The state the two times give (the table in the module doc); times of any kind."""
    if cleared_at is None:
        return ACTIVE_UNACKNOWLEDGED if acknowledged_at is None else ACTIVE_ACKNOWLEDGED
    return CLEARED_UNACKNOWLEDGED if acknowledged_at is None else CLEARED


# -- the book ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlarmRecord:
    """One alarm as it stands; field names match the `Alarm` table (times as epoch s)."""

    id: int | None  # None until the caller has stored it and called `assign_id`
    source: str
    code: str
    severity: str
    message: str
    raised_at: float
    acknowledged_at: float | None = None
    cleared_at: float | None = None

    @property
    def state(self) -> str:
        return alarm_state(self.acknowledged_at, self.cleared_at)

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.code)

    def as_message(self) -> dict[str, Any]:
        """The item of `{"alarms": [...]}` on the `alarms` channel."""
        return {
            "id": self.id,
            "source": self.source,
            "code": self.code,
            "severity": self.severity,
            "msg": self.message,
            "state": self.state,
            "raised_at": _iso(self.raised_at),
        }

    def row_values(self) -> dict[str, Any]:
        """Column values for the `Alarm` table (aware UTC datetimes); the id is the table's."""
        return {
            "source": self.source,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "raised_at": _utc(self.raised_at),
            "acknowledged_at": _utc(self.acknowledged_at),
            "cleared_at": _utc(self.cleared_at),
        }


ChangeEvent = Literal["raised", "reraised", "acknowledged", "cleared"]


@dataclass(frozen=True)
class AlarmChange:
    """One transition: `event` says what happened, `alarm` is the alarm after it.

    `raised` is a new alarm (insert a row; its id is None until `assign_id`); the other
    events update the row with `alarm.id`.
    """

    event: ChangeEvent
    alarm: AlarmRecord

    @property
    def id(self) -> int | None:
        return self.alarm.id

    @property
    def state(self) -> str:
        return self.alarm.state

    def as_message(self) -> dict[str, Any]:
        return self.alarm.as_message()

    def row_values(self) -> dict[str, Any]:
        return self.alarm.row_values()


def _check_severity(severity: str) -> None:
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")


def _field(record: Any, name: str) -> Any:
    return record[name] if isinstance(record, Mapping) else getattr(record, name)


class AlarmBook:
    """The alarms not yet archived, one per (source, code), in memory."""

    def __init__(self) -> None:
        self._alarms: dict[tuple[str, str], AlarmRecord] = {}

    @classmethod
    def from_records(cls, records: Iterable[Any]) -> AlarmBook:
        """Rebuild from stored rows (`Alarm` objects, `AlarmRecord`s or mappings with the
        same names; times as aware datetimes or epoch seconds). Archived rows (cleared and
        acknowledged) are skipped; of two open rows for one (source, code) the later
        raised one is kept."""
        book = cls()
        for record in records:
            alarm = AlarmRecord(
                id=_field(record, "id"),
                source=_field(record, "source"),
                code=str(_field(record, "code")),
                severity=_field(record, "severity"),
                message=_field(record, "message"),
                raised_at=_epoch(_field(record, "raised_at")) or 0.0,
                acknowledged_at=_epoch(_field(record, "acknowledged_at")),
                cleared_at=_epoch(_field(record, "cleared_at")),
            )
            if alarm.state == CLEARED:
                continue
            kept = book._alarms.get(alarm.key)
            if kept is None or alarm.raised_at >= kept.raised_at:
                book._alarms[alarm.key] = alarm
        return book

    def get(self, source: str, code: str | int) -> AlarmRecord | None:
        return self._alarms.get((source, str(code)))

    def entries(self) -> list[AlarmRecord]:
        """Every alarm still listed (active or latched), oldest first."""
        return sorted(self._alarms.values(), key=lambda alarm: alarm.raised_at)

    def active(self) -> list[AlarmRecord]:
        """The alarms whose condition still holds, acknowledged or not, oldest first."""
        return [alarm for alarm in self.entries() if alarm.cleared_at is None]

    def raise_(self, source: str, code: str | int, severity: str, msg: str, now: float) -> AlarmChange | None:
        """The condition holds. A new alarm, or a latched one made active again; None when
        it is already active (no duplicate, no churn)."""
        _check_severity(severity)
        key = (source, str(code))
        alarm = self._alarms.get(key)
        if alarm is None:
            alarm = AlarmRecord(None, source, key[1], severity, msg, raised_at=now)
            return self._store("raised", alarm)
        if alarm.state == CLEARED_UNACKNOWLEDGED:
            alarm = replace(alarm, severity=severity, message=msg, raised_at=now, cleared_at=None)
            return self._store("reraised", alarm)
        return None

    def raise_event(
        self, source: str, code: str | int, severity: str, msg: str, now: float
    ) -> AlarmChange | None:
        """Something happened that nothing will clear (an alarm published from outside):
        it is raised already cleared, so it stays listed (`cleared_unacknowledged`) until
        acknowledged, then is archived. None when that (source, code) is already listed."""
        _check_severity(severity)
        if (source, str(code)) in self._alarms:
            return None
        return self._store("raised", AlarmRecord(None, source, str(code), severity, msg, now, cleared_at=now))

    def raise_outside(self, alarms: Iterable[OutsideAlarm], now: float) -> list[AlarmChange]:
        """Raise alarms published from outside (see `parse_alarm_publication`) as events."""
        changes = (self.raise_event(a.source, a.code, WARNING, a.msg, now) for a in alarms)
        return [change for change in changes if change is not None]

    def clear(self, source: str, code: str | int, now: float) -> AlarmChange | None:
        """The condition went away: latched when unacknowledged, archived when acknowledged."""
        alarm = self._alarms.get((source, str(code)))
        if alarm is None or alarm.cleared_at is not None:
            return None
        return self._store("cleared", replace(alarm, cleared_at=now))

    def acknowledge(self, ids: Iterable[int] | Literal["all"], now: float) -> list[AlarmChange]:
        """Acknowledge the alarms with these ids, or every listed alarm with `ALL`. Unknown or
        already acknowledged ids are ignored. A latched alarm acknowledged is archived."""
        wanted = None if ids == ALL else set(ids)
        changes = []
        for alarm in self.entries():
            if alarm.acknowledged_at is not None:
                continue
            if wanted is not None and (alarm.id is None or alarm.id not in wanted):
                continue
            changes.append(self._store("acknowledged", replace(alarm, acknowledged_at=now)))
        return changes

    def assign_id(self, change: AlarmChange, alarm_id: int) -> AlarmChange:
        """Record the database id of a newly raised alarm; returns the change carrying it."""
        current = self._alarms.get(change.alarm.key)
        if current is not None and current.id is None:
            self._alarms[current.key] = replace(current, id=alarm_id)
        return replace(change, alarm=replace(change.alarm, id=alarm_id))

    def apply(self, source: str, findings: Mapping[str, Finding | None], now: float) -> list[AlarmChange]:
        """Raise each finding, clear each code mapped to None; codes not in `findings` are
        left as they are (their rule could not be evaluated this tick)."""
        changes = []
        for code, finding in findings.items():
            if finding is None:
                change = self.clear(source, code, now)
            else:
                change = self.raise_(source, code, finding.severity, finding.message, now)
            if change is not None:
                changes.append(change)
        return changes

    def _store(self, event: ChangeEvent, alarm: AlarmRecord) -> AlarmChange:
        if alarm.state == CLEARED:
            self._alarms.pop(alarm.key, None)
        else:
            self._alarms[alarm.key] = alarm
        return AlarmChange(event, alarm)


# -- rules ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """A rule's condition holds: raise `code` with this severity and message."""

    code: str
    severity: str
    message: str


class _Latch:
    """Raised once `over` has held for `delay_s` without a break; cleared when `back` holds.

    `back` is the clearing condition, with hysteresis when it is stricter than `not over`.
    """

    def __init__(self) -> None:
        self.since: float | None = None
        self.raised = False

    def reset(self) -> None:
        self.since = None
        self.raised = False

    def step(self, over: bool, back: bool, delay_s: float, now: float) -> bool:
        if self.raised:
            if back:
                self.reset()
            return self.raised
        if not over:
            self.since = None
            return False
        if self.since is None:
            self.since = now
        self.raised = now - self.since >= delay_s
        return self.raised

    def held_s(self, now: float) -> float:
        return 0.0 if self.since is None else now - self.since


@dataclass(frozen=True)
class AlarmLimits:
    """Per-chamber alarm limits (°C unless the name says otherwise). None turns a rule off."""

    deviation_c: float | None = 2.0  # |beer - setpoint| above this ...
    deviation_delay_min: float = 60.0  # ... for this long alarms
    deviation_clear_fraction: float = 0.8  # the deviation alarm clears below this share of the limit
    suppress_after_change_min: float = 240.0  # no deviation alarm this long after a setpoint change/step
    high_c: float | None = None
    low_c: float | None = None
    absolute_delay_s: float = 60.0
    absolute_hysteresis_c: float = 0.5
    compressor_max_run_h: float = 12.0
    max_alternations_per_day: int = 8  # heat <-> cool direction changes in any 24 h
    output_shortfall_min: float = 30.0
    output_request_duty: float = 0.5  # "requested high": at least this duty ...
    output_achieved_fraction: float = 0.5  # ... and achieved below this share of it
    switch_delay_s: float = 30.0  # a switch input in its alarm state this long alarms
    stuck_min: float = 30.0
    stuck_duty: float = 0.9

    def __post_init__(self) -> None:
        if self.deviation_c is not None and self.deviation_c <= 0:
            raise ValueError("deviation_c must be above 0")
        if self.high_c is not None and self.low_c is not None and self.low_c >= self.high_c:
            raise ValueError("low_c must be below high_c")
        if not 0 < self.deviation_clear_fraction <= 1:
            raise ValueError("deviation_clear_fraction must be in (0, 1]")
        if self.absolute_hysteresis_c < 0:
            raise ValueError("absolute_hysteresis_c must be >= 0")
        if self.max_alternations_per_day < 0:
            raise ValueError("max_alternations_per_day must be >= 0")
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float | int) and not math.isfinite(value):
                raise ValueError(f"{item.name} must be finite")
            if (item.name.endswith(("_min", "_s", "_h"))) and value < 0:
                raise ValueError(f"{item.name} must be >= 0")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> AlarmLimits:
        """From a chamber's stored `alarm_limits`: unknown keys ignored, None means the default."""
        names = {item.name for item in fields(cls)}
        given = {k: v for k, v in (settings or {}).items() if k in names and v is not None}
        return cls(**given)


@dataclass(frozen=True)
class ChamberTick:
    """What the alarm rules read from one chamber tick. None: not known / no such input."""

    mode: str  # off | beer | fridge | profile
    beer_c: float | None  # the value the loop uses (None while invalid and not ridden out)
    beer_set_c: float | None
    fridge_c: float | None = None
    beer_lost: bool = False  # the validator's lost flag
    fridge_lost: bool = False
    board_online: bool = True
    heat_on: bool = False  # relay states now
    cool_on: bool = False
    heat_duty: float = 0.0  # requested, 0..1
    cool_duty: float = 0.0
    heat_duty_achieved: float | None = None  # what the output stage delivered; None: not reported
    cool_duty_achieved: float | None = None
    door_open: bool | None = None
    high_level: bool | None = None
    pilot_out: bool | None = None
    setpoint_changed_at: float | None = None
    profile_step_at: float | None = None
    beer_unchanged_s: float = 0.0  # how long the reading has not moved by one LSB
    fridge_unchanged_s: float = 0.0


CHAMBER_CODES = (
    "deviation",
    "high_temp",
    "low_temp",
    "sensor_lost_beer",
    "sensor_lost_fridge",
    "board_silent",
    "heat_duty_not_achieved",
    "cool_duty_not_achieved",
    "compressor_run_long",
    "heat_cool_alternating",
    "door_open",
    "high_level",
    "pilot_light_out",
    "sensor_stuck_beer",
    "sensor_stuck_fridge",
)

_SWITCHES = (
    # (tick field, code, severity, what the message says)
    ("door_open", "door_open", WARNING, "door open"),
    ("high_level", "high_level", CRITICAL, "high liquid level"),
    ("pilot_out", "pilot_light_out", CRITICAL, "pilot light out"),
)


class ChamberAlarmRules:
    """The rules of one chamber, evaluated once per tick.

    `evaluate` maps each code it could judge to a `Finding` (raise) or None (clear); a code
    left out is held as it is. While the board is silent only `board_silent` is judged (the
    other readings are stale); while the beer reading is missing, the beer temperature rules
    are held. Timers start again after a restart: a rule raises only after its delay has
    passed in this process.
    """

    def __init__(self, name: str, limits: AlarmLimits | None = None) -> None:
        self.name = name
        self.limits = limits or AlarmLimits()
        self._deviation = _Latch()
        self._high = _Latch()
        self._low = _Latch()
        self._shortfall = {"heat": _Latch(), "cool": _Latch()}
        self._compressor = _Latch()
        self._switches = {field: _Latch() for field, *_ in _SWITCHES}
        self._high_duty_since: float | None = None  # duty >= stuck_duty without a break since
        self._direction: str | None = None
        self._direction_changes: deque[float] = deque()

    def evaluate(self, tick: ChamberTick, now: float) -> dict[str, Finding | None]:
        if not tick.board_online:
            return {"board_silent": Finding("board_silent", CRITICAL, f"{self.name}: board not answering")}
        findings: dict[str, Finding | None] = {"board_silent": None}
        findings.update(self._sensors_lost(tick))
        if tick.beer_c is not None:
            findings["deviation"] = self._deviation_rule(tick, tick.beer_c, now)
            findings.update(self._absolute(tick.beer_c, now))
        findings.update(self._outputs(tick, now))
        findings.update(self._switch_inputs(tick, now))
        findings.update(self._stuck(tick, now))
        return findings

    def _sensors_lost(self, tick: ChamberTick) -> dict[str, Finding | None]:
        control_on = tick.mode != "off"
        beer = fridge = None
        if control_on and tick.beer_lost:
            beer = Finding("sensor_lost_beer", CRITICAL, f"{self.name}: beer sensor lost, outputs off")
        if control_on and tick.fridge_lost:
            text = f"{self.name}: fridge sensor lost, controlling on the beer sensor"
            fridge = Finding("sensor_lost_fridge", WARNING, text)
        return {"sensor_lost_beer": beer, "sensor_lost_fridge": fridge}

    def _deviation_rule(self, tick: ChamberTick, beer_c: float, now: float) -> Finding | None:
        limits = self.limits
        changes = [t for t in (tick.setpoint_changed_at, tick.profile_step_at) if t is not None]
        suppressed = bool(changes) and now - max(changes) < limits.suppress_after_change_min * 60
        if (
            limits.deviation_c is None
            or tick.beer_set_c is None
            or tick.mode not in ("beer", "profile")
            or suppressed
        ):
            # after a setpoint change the old alarm spoke of a setpoint no longer in force
            self._deviation.reset()
            return None
        deviation = abs(beer_c - tick.beer_set_c)
        over = deviation > limits.deviation_c
        back = deviation <= limits.deviation_c * limits.deviation_clear_fraction
        if not self._deviation.step(over, back, limits.deviation_delay_min * 60, now):
            return None
        text = (
            f"{self.name}: beer {beer_c:.1f} °C is {deviation:.1f} °C from setpoint {tick.beer_set_c:.1f} °C"
            f" (limit {limits.deviation_c:g} °C for {limits.deviation_delay_min:g} min)"
        )
        return Finding("deviation", WARNING, text)

    def _absolute(self, beer_c: float, now: float) -> dict[str, Finding | None]:
        limits = self.limits
        high = low = None
        if limits.high_c is None:
            self._high.reset()
        else:
            back = beer_c <= limits.high_c - limits.absolute_hysteresis_c
            if self._high.step(beer_c > limits.high_c, back, limits.absolute_delay_s, now):
                text = f"{self.name}: beer {beer_c:.1f} °C above the high limit {limits.high_c:g} °C"
                high = Finding("high_temp", CRITICAL, text)
        if limits.low_c is None:
            self._low.reset()
        else:
            back = beer_c >= limits.low_c + limits.absolute_hysteresis_c
            if self._low.step(beer_c < limits.low_c, back, limits.absolute_delay_s, now):
                text = f"{self.name}: beer {beer_c:.1f} °C below the low limit {limits.low_c:g} °C"
                low = Finding("low_temp", CRITICAL, text)
        return {"high_temp": high, "low_temp": low}

    def _outputs(self, tick: ChamberTick, now: float) -> dict[str, Finding | None]:
        limits = self.limits
        findings: dict[str, Finding | None] = {}
        for output, requested, achieved in (
            ("heat", tick.heat_duty, tick.heat_duty_achieved),
            ("cool", tick.cool_duty, tick.cool_duty_achieved),
        ):
            short = (
                achieved is not None
                and requested >= limits.output_request_duty
                and achieved < requested * limits.output_achieved_fraction
            )
            latch = self._shortfall[output]
            finding = None
            if latch.step(short, not short, limits.output_shortfall_min * 60, now):
                text = (
                    f"{self.name}: {output} output achieves {achieved:.0%} of a requested"
                    f" {requested:.0%} for {latch.held_s(now) / 60:.0f} min"
                )
                finding = Finding(f"{output}_duty_not_achieved", WARNING, text)
            findings[f"{output}_duty_not_achieved"] = finding

        run = None
        max_run_s = limits.compressor_max_run_h * 3600
        if self._compressor.step(tick.cool_on, not tick.cool_on, max_run_s, now):
            text = (
                f"{self.name}: compressor running {self._compressor.held_s(now) / 3600:.1f} h without a"
                f" break (limit {limits.compressor_max_run_h:g} h)"
            )
            run = Finding("compressor_run_long", WARNING, text)
        findings["compressor_run_long"] = run

        count = self._count_direction_changes(tick, now)
        alternating = None
        if count > limits.max_alternations_per_day:
            text = (
                f"{self.name}: heating and cooling alternated {count} times in 24 h"
                f" (limit {limits.max_alternations_per_day})"
            )
            alternating = Finding("heat_cool_alternating", WARNING, text)
        findings["heat_cool_alternating"] = alternating
        return findings

    def _count_direction_changes(self, tick: ChamberTick, now: float) -> int:
        direction = "heat" if tick.heat_on else "cool" if tick.cool_on else None
        if direction is not None:
            if self._direction is not None and direction != self._direction:
                self._direction_changes.append(now)
            self._direction = direction
        while self._direction_changes and self._direction_changes[0] <= now - DAY_S:
            self._direction_changes.popleft()
        return len(self._direction_changes)

    def _switch_inputs(self, tick: ChamberTick, now: float) -> dict[str, Finding | None]:
        findings: dict[str, Finding | None] = {}
        for field, code, severity, what in _SWITCHES:
            alarmed = bool(getattr(tick, field))
            latch = self._switches[field]
            finding = None
            if latch.step(alarmed, not alarmed, self.limits.switch_delay_s, now):
                finding = Finding(code, severity, f"{self.name}: {what} for {latch.held_s(now):.0f} s")
            findings[code] = finding
        return findings

    def _stuck(self, tick: ChamberTick, now: float) -> dict[str, Finding | None]:
        """Advisory only: a held beer looks the same as a dead sensor, so this never acts."""
        limits = self.limits
        stuck_s = limits.stuck_min * 60
        duty = max(tick.heat_duty, tick.cool_duty)
        if duty < limits.stuck_duty:
            self._high_duty_since = None
        elif self._high_duty_since is None:
            self._high_duty_since = now
        pushed_s = 0.0 if self._high_duty_since is None else now - self._high_duty_since
        findings: dict[str, Finding | None] = {}
        for sensor, value, lost, unchanged_s in (
            ("beer", tick.beer_c, tick.beer_lost, tick.beer_unchanged_s),
            ("fridge", tick.fridge_c, tick.fridge_lost, tick.fridge_unchanged_s),
        ):
            finding = None
            if value is not None and not lost and unchanged_s >= stuck_s and pushed_s >= stuck_s:
                text = (
                    f"{self.name}: {sensor} sensor unchanged at {value:.2f} °C for {unchanged_s / 60:.0f} min"
                    f" while the output ran at {duty:.0%}; check the sensor"
                )
                finding = Finding(f"sensor_stuck_{sensor}", ADVISORY, text)
            findings[f"sensor_stuck_{sensor}"] = finding
        return findings


class SeriesRule:
    """Alarms on an ingested series: above / below a value, or stale (no sample for `stale_s`).

    Codes `above`, `below`, `stale`, to raise under `source` (`series::<name>`). An alarm
    raised above `above` clears at `above - hysteresis` (below: `below + hysteresis`). A
    missing value leaves above/below as they were; staleness counts from the last sample.
    """

    def __init__(
        self,
        series: str,
        above: float | None = None,
        below: float | None = None,
        stale_s: float | None = None,
        hysteresis: float = 0.0,
        severity: str = WARNING,
    ) -> None:
        if above is not None and below is not None and below >= above:
            raise ValueError("below must be less than above")
        if stale_s is not None and stale_s <= 0:
            raise ValueError("stale_s must be above 0")
        if hysteresis < 0:
            raise ValueError("hysteresis must be >= 0")
        _check_severity(severity)
        self.series = series
        self.above = above
        self.below = below
        self.stale_s = stale_s
        self.hysteresis = hysteresis
        self.severity = severity
        self._raised: set[str] = set()

    @property
    def source(self) -> str:
        return f"series::{self.series}"

    def evaluate(
        self, value: float | None, last_sample_at: float | None, now: float
    ) -> dict[str, Finding | None]:
        findings: dict[str, Finding | None] = {}
        if value is not None and self.above is not None:
            if "above" in self._raised:
                over = value > self.above - self.hysteresis
            else:
                over = value > self.above
            text = f"{self.series} at {value:g}, above {self.above:g}"
            findings["above"] = self._mark("above", over, text)
        if value is not None and self.below is not None:
            if "below" in self._raised:
                under = value < self.below + self.hysteresis
            else:
                under = value < self.below
            text = f"{self.series} at {value:g}, below {self.below:g}"
            findings["below"] = self._mark("below", under, text)
        if self.stale_s is not None:
            if last_sample_at is None:
                findings["stale"] = self._mark("stale", True, f"{self.series}: no sample yet")
            else:
                age_s = now - last_sample_at
                text = f"{self.series}: no sample for {age_s:.0f} s (limit {self.stale_s:g} s)"
                findings["stale"] = self._mark("stale", age_s >= self.stale_s, text)
        return findings

    def _mark(self, code: str, holds: bool, text: str) -> Finding | None:
        if not holds:
            self._raised.discard(code)
            return None
        self._raised.add(code)
        return Finding(code, self.severity, text)


# -- outside publications ------------------------------------------------------------------
class OutsideAlarm(NamedTuple):
    """An alarm published on `alarms` by a script or the Debugger; `code` always a string."""

    source: str
    code: str
    msg: str


@dataclass(frozen=True)
class Acknowledge:
    ids: tuple[int, ...] | Literal["all"]


def parse_alarm_publication(data: Any) -> list[OutsideAlarm] | Acknowledge:
    """Read a message published on `alarms`.

    `{"acknowledge": true}` or `{"acknowledge": [ids]}` gives an `Acknowledge`;
    `{"alarms": [{source, code, msg}, ...]}` the alarms to raise (other keys of an item are
    ignored; items carrying `state` are the server's own broadcasts and are skipped). Codes
    may be integers (1001) or strings and come back as strings, as the table stores them.
    Raises ValueError naming the problem for anything else.
    """
    if not isinstance(data, dict):
        raise ValueError("an alarms message must be a JSON object")
    if "acknowledge" in data and "alarms" in data:
        raise ValueError("an alarms message has either acknowledge or alarms, not both")
    if "acknowledge" in data:
        return _parse_acknowledge(data["acknowledge"])
    if "alarms" not in data:
        raise ValueError("an alarms message needs acknowledge or alarms")
    items = data["alarms"]
    if not isinstance(items, list):
        raise ValueError("alarms must be a list")
    if len(items) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} alarms in one message")
    return [_parse_item(index, item) for index, item in enumerate(items) if not _is_broadcast(item)]


def _is_broadcast(item: Any) -> bool:
    return isinstance(item, dict) and "state" in item


def _parse_acknowledge(value: Any) -> Acknowledge:
    if value is True:
        return Acknowledge(ALL)
    if not isinstance(value, list):
        raise ValueError("acknowledge must be true or a list of alarm ids")
    if len(value) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} ids in one acknowledge")
    for alarm_id in value:
        if isinstance(alarm_id, bool) or not isinstance(alarm_id, int) or alarm_id < 1:
            raise ValueError(f"acknowledge ids must be positive integers, not {alarm_id!r}")
    return Acknowledge(tuple(value))


def _parse_item(index: int, item: Any) -> OutsideAlarm:
    where = f"alarms[{index}]"
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object with source, code and msg")
    source, code, msg = item.get("source"), item.get("code"), item.get("msg")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"{where}.source must be a non-empty string")
    if len(source) > MAX_SOURCE_CHARS:
        raise ValueError(f"{where}.source must be at most {MAX_SOURCE_CHARS} characters")
    if isinstance(code, bool) or not isinstance(code, int | str):
        raise ValueError(f"{where}.code must be an integer or a string")
    code_text = str(code)
    if not code_text.strip() or len(code_text) > MAX_CODE_CHARS:
        raise ValueError(f"{where}.code must be 1 to {MAX_CODE_CHARS} characters")
    if not isinstance(msg, str) or not msg.strip():
        raise ValueError(f"{where}.msg must be a non-empty string")
    if len(msg) > MAX_MSG_CHARS:
        raise ValueError(f"{where}.msg must be at most {MAX_MSG_CHARS} characters")
    return OutsideAlarm(source, code_text, msg)
