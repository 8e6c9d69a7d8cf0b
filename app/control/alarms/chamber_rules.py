"""The alarm rules of one chamber (control.md "Alarms"), evaluated once per control tick.

Deviation from the setpoint, absolute high/low limits, sensor lost, board silent, an output
not achieving its duty, the compressor running too long, heat and cool alternating too
often, a switch input in its alarm state, and the advisory stuck sensor.

Pure Python and clock free. Every delay and window here is measured on the control loop's
monotonic clock: the `now` handed to `evaluate`, and `ChamberTick.setpoint_changed_at` /
`profile_step_at`, which must be stamped from that same clock. Wall time is never read or
compared here, so an NTP step of hours (a Raspberry Pi without an RTC) neither fires nor
stretches a delay. The wall-clock times stored and published on an alarm (`raised_at`,
`cleared_at`, ...) are stamped by the book's caller (`AlarmService`, its own `clock`).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .finding import ADVISORY, CRITICAL, WARNING, Finding

log = logging.getLogger(__name__)

DAY_S = 86400.0
# A setpoint change stamped further ahead of `now` than this is on another clock (wall time
# against a monotonic `now`); suppressing on it would silence the deviation alarm for good.
CLOCK_SLACK_S = 60.0


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
    setpoint_changed_at: float | None = None  # on the monotonic clock of `evaluate(now)`, not wall time
    profile_step_at: float | None = None  # likewise monotonic
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
        self._clock_mismatch_logged = False

    def evaluate(self, tick: ChamberTick, now: float) -> dict[str, Finding | None]:
        """Judge one tick. `now` is the control loop's monotonic clock (seconds, e.g.
        `time.monotonic()`), the same clock as `tick.setpoint_changed_at` and
        `tick.profile_step_at`; never wall time. Every delay and window is measured on it."""
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
        changes = self._changes_on_this_clock(tick, now)
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

    def _changes_on_this_clock(self, tick: ChamberTick, now: float) -> list[float]:
        changes = [t for t in (tick.setpoint_changed_at, tick.profile_step_at) if t is not None]
        ahead = [t for t in changes if t - now > CLOCK_SLACK_S]
        if ahead and not self._clock_mismatch_logged:
            self._clock_mismatch_logged = True  # once: the caller's bug, not news every tick
            log.error(
                "%s: setpoint change stamped %.0f s after now, not on the monotonic clock of"
                " evaluate(); the deviation alarm is not suppressed after it",
                self.name,
                max(ahead) - now,
            )
        return [t for t in changes if t - now <= CLOCK_SLACK_S]

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
