"""Temperature profiles (control.md "Profiles"): fermentation profiles and mash schedules.

No clock of its own: whatever depends on time takes `now` (epoch seconds) or an elapsed
profile time in seconds. Nothing here touches the database: `to_state()` gives a JSON-able
dict for `chamber.profile_state` and `from_state()` takes it back, so a restart after a
power cut carries on at the right point.

Fermentation: points `(offset_days, temperature_c, event)` from a start time, followed by
linear interpolation (equal temperatures = hold, different = ramp). An empty temperature
(None) turns control off in the segments on either side of it, as in BrewPi. A
`ProfileRun` is the run clock: start (from the beginning or part-way), pause, resume.
Wall-clock time while the server was down counts as profile time (as in BrewPi), unless
the run was paused; `setpoint_jump_after_outage` says what that did to the setpoint.

Mash: ordered steps `(name, temperature_c, hold_min, ramp_c_per_min, confirm)` run by the
`MashRun` state machine; a step's hold starts when the vessel first gets within 0.5 °C of
the step temperature.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

SECONDS_PER_DAY = 86_400.0
HOLD_BAND_C = 0.5  # a mash step's hold starts once the vessel is this close to the step temperature
_EPSILON_S = 1e-9


def _number(value: Any, what: str) -> float:
    """`value` as a finite float, or ValueError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _optional_number(value: Any, what: str) -> float | None:
    return None if value is None else _number(value, what)


def _not_nan(value: Any, what: str) -> float:
    """Like `_number` but lets +-inf through (open-ended bounds)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{what} must be a number, got {value!r}")
    return float(value)


def _format_c(value: float | None) -> str:
    return "off" if value is None else f"{value:.1f} °C"


# -- fermentation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """At `offset_days` after the start the setpoint is `temperature_c`; None means control
    off in the segments on both sides of this point. `event` is text announced once, when
    a run passes this offset (blank text counts as no event and is stored as None)."""

    offset_days: float
    temperature_c: float | None
    event: str | None = None

    def __post_init__(self) -> None:
        offset = _number(self.offset_days, "offset_days")
        if offset < 0:
            raise ValueError(f"offset_days must be >= 0, got {offset}")
        object.__setattr__(self, "offset_days", offset)
        object.__setattr__(self, "temperature_c", _optional_number(self.temperature_c, "temperature_c"))
        if self.event is not None:
            if not isinstance(self.event, str):
                raise ValueError(f"event must be text or None, got {self.event!r}")
            object.__setattr__(self, "event", self.event.strip() or None)

    @property
    def offset_s(self) -> float:
        return self.offset_days * SECONDS_PER_DAY


@dataclass(frozen=True)
class FermentationProfile:
    """Points in order of offset (non-decreasing, else ValueError). Offsets are from the
    run's start, so the profile lasts until its last point (`duration_s`).

    Setpoint rules (`setpoint_at`), all in elapsed profile seconds:
    - before the first point: the first point's temperature; at or after the last point:
      the last point's temperature; no points at all: None (control off);
    - between two points: linear interpolation, or None if either end is None (so exactly
      at a point with None the setpoint is None too);
    - points with equal offsets are an instant step: the later point rules at and after
      that offset, the earlier ones only end the segment before it.
    """

    points: Sequence[Point]
    _offsets_s: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        points = tuple(self.points)
        for index, point in enumerate(points):
            if not isinstance(point, Point):
                raise ValueError(f"points[{index}] is not a Point: {point!r}")
            if index and point.offset_days < points[index - 1].offset_days:
                raise ValueError(
                    f"points[{index}].offset_days goes backwards ({point.offset_days} after "
                    f"{points[index - 1].offset_days}); offsets must not decrease"
                )
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "_offsets_s", tuple(point.offset_s for point in points))

    @classmethod
    def of(cls, rows: Iterable[Any]) -> FermentationProfile:
        """From stored points (objects with `offset_days`, `temperature`, `event`)."""
        return cls([Point(row.offset_days, row.temperature, row.event) for row in rows])

    @property
    def duration_s(self) -> float:
        """Profile time from the start to the last point (0 for no points)."""
        return self._offsets_s[-1] if self._offsets_s else 0.0

    def setpoint_at(self, elapsed_s: float) -> float | None:
        """The setpoint in °C after `elapsed_s` of profile time, or None for control off."""
        elapsed_s = _number(elapsed_s, "elapsed_s")
        points, offsets = self.points, self._offsets_s
        if not points:
            return None
        if elapsed_s < offsets[0]:
            return points[0].temperature_c
        index = bisect_right(offsets, elapsed_s) - 1  # the last point at or before elapsed_s
        if index == len(points) - 1:
            return points[-1].temperature_c
        start, end = points[index], points[index + 1]
        if start.temperature_c is None or end.temperature_c is None:
            return None
        # offsets[index + 1] > elapsed_s >= offsets[index], so the span is positive
        fraction = (elapsed_s - offsets[index]) / (offsets[index + 1] - offsets[index])
        return start.temperature_c + (end.temperature_c - start.temperature_c) * fraction

    def events_between(self, from_s: float, to_s: float) -> list[Point]:
        """Points with an event whose offset is in (from_s, to_s], in order.

        Consecutive calls with from_s = the previous to_s therefore return each event
        exactly once. For the first call of a run pass `-math.inf` when it starts from the
        beginning (so an event at day 0 is announced), or the starting offset when it
        starts part-way (events at or before that point are not replayed).
        """
        from_s, to_s = _not_nan(from_s, "from_s"), _not_nan(to_s, "to_s")
        if to_s < from_s:
            raise ValueError(f"events_between: to_s ({to_s}) is before from_s ({from_s})")
        low = bisect_right(self._offsets_s, from_s)
        high = bisect_right(self._offsets_s, to_s)
        return [point for point in self.points[low:high] if point.event]

    def next_event_after(self, elapsed_s: float) -> Point | None:
        """The first point with an event strictly after `elapsed_s`, or None."""
        elapsed_s = _not_nan(elapsed_s, "elapsed_s")
        start = bisect_right(self._offsets_s, elapsed_s)
        return next((point for point in self.points[start:] if point.event), None)

    def progress(self, elapsed_s: float) -> float:
        """How far through the profile, 0..1 of `duration_s` (1 for a zero-length profile)."""
        elapsed_s = _number(elapsed_s, "elapsed_s")
        if self.duration_s <= 0:
            return 1.0
        return min(max(elapsed_s / self.duration_s, 0.0), 1.0)

    def finished(self, elapsed_s: float) -> bool:
        """True once the last point is reached (the setpoint then stays at its temperature)."""
        return _number(elapsed_s, "elapsed_s") >= self.duration_s


@dataclass(frozen=True)
class ProfileRun:
    """The clock of a running fermentation profile (epoch seconds in, profile seconds out).

    Immutable: `pause`, `resume` and `start_at_offset` return a new run. Profile time is
    the wall time since `started_at` minus the time spent paused, so time while the server
    was down counts (as in BrewPi) unless the run was paused when it went down: a paused
    run has `paused_at` set, and its clock stays stopped until `resume`.
    """

    started_at: float
    paused_at: float | None = None
    paused_total_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "started_at", _number(self.started_at, "started_at"))
        object.__setattr__(self, "paused_at", _optional_number(self.paused_at, "paused_at"))
        paused_total_s = _number(self.paused_total_s, "paused_total_s")
        if paused_total_s < 0:
            raise ValueError(f"paused_total_s must be >= 0, got {paused_total_s}")
        object.__setattr__(self, "paused_total_s", paused_total_s)

    @classmethod
    def start_at_offset(cls, now: float, offset_s: float = 0.0) -> ProfileRun:
        """A new, running run whose elapsed time is `offset_s` right away (start part-way)."""
        offset_s = _number(offset_s, "offset_s")
        if offset_s < 0:
            raise ValueError(f"offset_s must be >= 0, got {offset_s}")
        return cls(started_at=_number(now, "now") - offset_s)

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def elapsed_s(self, now: float) -> float:
        """Profile seconds at `now`; frozen while paused, never negative."""
        end = self.paused_at if self.paused_at is not None else _number(now, "now")
        return max(0.0, end - self.started_at - self.paused_total_s)

    def pause(self, now: float) -> ProfileRun:
        """Stop the clock at `now` (no change if already paused)."""
        if self.paused:
            return self
        return replace(self, paused_at=_number(now, "now"))

    def resume(self, now: float) -> ProfileRun:
        """Restart the clock; the paused span does not count (no change if running)."""
        if self.paused_at is None:
            return self
        paused_for_s = max(0.0, _number(now, "now") - self.paused_at)
        return replace(self, paused_at=None, paused_total_s=self.paused_total_s + paused_for_s)

    def to_state(self) -> dict[str, Any]:
        """A JSON-able dict for `chamber.profile_state`."""
        return {
            "kind": "fermentation",
            "started_at": self.started_at,
            "paused_at": self.paused_at,
            "paused_total_s": self.paused_total_s,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ProfileRun:
        """The run saved by `to_state`; ValueError if `state` is not one."""
        if not isinstance(state, Mapping):
            raise ValueError(f"profile state must be a mapping, got {type(state).__name__}")
        if state.get("kind", "fermentation") != "fermentation":
            raise ValueError(f"profile state is for a {state.get('kind')!r} run, not fermentation")
        if "started_at" not in state:
            raise ValueError("profile state has no started_at")
        return cls(
            started_at=state["started_at"],
            paused_at=state.get("paused_at"),
            paused_total_s=state.get("paused_total_s", 0.0),
        )


@dataclass(frozen=True)
class SetpointJump:
    """The setpoint change between two profile times, for the log after an outage."""

    before_s: float
    after_s: float
    before_c: float | None
    after_c: float | None

    @property
    def delta_c(self) -> float | None:
        """after - before, or None when control was or is off."""
        if self.before_c is None or self.after_c is None:
            return None
        return self.after_c - self.before_c

    def describe(self) -> str:
        return (
            f"profile setpoint jumped from {_format_c(self.before_c)} to {_format_c(self.after_c)} "
            f"after {(self.after_s - self.before_s) / 3600:.1f} h of profile time without control "
            f"(day {self.before_s / SECONDS_PER_DAY:.2f} -> day {self.after_s / SECONDS_PER_DAY:.2f})"
        )


def setpoint_jump_after_outage(
    profile: FermentationProfile, before_s: float, after_s: float
) -> SetpointJump | None:
    """The setpoint change caused by downtime, or None if the setpoint is the same.

    `before_s` is the profile time when the server was last seen running (e.g.
    `run.elapsed_s(last_sample_at)`), `after_s` the profile time now. Events passed in
    between are `profile.events_between(before_s, after_s)`.
    """
    before_s, after_s = _number(before_s, "before_s"), _number(after_s, "after_s")
    if after_s < before_s:
        raise ValueError(f"after_s ({after_s}) is before before_s ({before_s})")
    before_c, after_c = profile.setpoint_at(before_s), profile.setpoint_at(after_s)
    if before_c == after_c or (
        before_c is not None and after_c is not None and math.isclose(before_c, after_c, abs_tol=1e-9)
    ):
        return None
    return SetpointJump(before_s=before_s, after_s=after_s, before_c=before_c, after_c=after_c)


# -- mash -----------------------------------------------------------------------------------

Phase = Literal["waiting_confirm", "heating", "holding", "done"]


@dataclass(frozen=True)
class Step:
    """A mash step: bring the vessel to `temperature_c` (at `ramp_c_per_min` if given, else
    as fast as the controller can) and hold it for `hold_min`. A `confirm` step waits for
    the brewer (add grain, mash out) before it starts."""

    name: str
    temperature_c: float
    hold_min: float
    ramp_c_per_min: float | None = None
    confirm: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"a mash step needs a name, got {self.name!r}")
        object.__setattr__(self, "name", self.name.strip())
        object.__setattr__(self, "temperature_c", _number(self.temperature_c, f"{self.name}: temperature_c"))
        hold_min = _number(self.hold_min, f"{self.name}: hold_min")
        if hold_min < 0:
            raise ValueError(f"{self.name}: hold_min must be >= 0, got {hold_min}")
        object.__setattr__(self, "hold_min", hold_min)
        ramp = _optional_number(self.ramp_c_per_min, f"{self.name}: ramp_c_per_min")
        if ramp is not None and ramp <= 0:
            raise ValueError(f"{self.name}: ramp_c_per_min must be > 0 or None, got {ramp}")
        object.__setattr__(self, "ramp_c_per_min", ramp)
        if not isinstance(self.confirm, bool):
            raise ValueError(f"{self.name}: confirm must be true or false, got {self.confirm!r}")

    @property
    def hold_s(self) -> float:
        return self.hold_min * 60.0


@dataclass(frozen=True)
class MashSchedule:
    """Steps in the order they run (may be empty: the run is then done at once)."""

    steps: Sequence[Step]

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        for index, step in enumerate(steps):
            if not isinstance(step, Step):
                raise ValueError(f"steps[{index}] is not a Step: {step!r}")
        object.__setattr__(self, "steps", steps)

    @property
    def total_hold_s(self) -> float:
        return sum(step.hold_s for step in self.steps)


@dataclass(frozen=True)
class MashStatus:
    """What `MashRun.update` decided.

    - `step_index`/`step_name`: the current step; when done, `len(steps)` and None;
    - `phase`: "waiting_confirm" (a confirm step waits for the brewer), "heating" (moving
      toward the step temperature, up or down; its hold has not started or, after a
      restart, is not counting again yet), "holding", "done";
    - `setpoint_c`: what the controller should aim at, None = control off;
    - `hold_remaining_s`: hold seconds still to go in this step;
    - `progress`: 0..1 of the schedule's total hold time (of the steps when no step holds).
    """

    step_index: int
    step_name: str | None
    phase: Phase
    setpoint_c: float | None
    hold_remaining_s: float
    progress: float

    @property
    def done(self) -> bool:
        return self.phase == "done"


class MashRun:
    """Runs a `MashSchedule`; call `update(now, vessel_c)` every control tick.

    Promises:
    - a step's hold starts at the first update where the vessel reads within `band_c`
      (0.5 °C) of the step temperature; a missing reading (None, or NaN) never starts it;
    - once started, the hold keeps counting while the loop runs even if the vessel dips
      (bringing it back is the PID's job); the step ends after `hold_min`, and the next
      step starts in the same update (so a zero-hold step passes at once when reached);
    - "heating" setpoint: the step temperature; with a ramp rate it moves from the vessel
      temperature at the step's first update (or the previous step's temperature when
      there is no reading) toward the step temperature at that rate, and stops there.
      A ramped first step with no reading yet has no basis: setpoint None;
    - a confirm step waits in "waiting_confirm" (setpoint = the previous step's temperature,
      None for the first step) until `confirm(now)`; its hold cannot start before that;
    - when done, the setpoint is None: after mash out the vessel may be drained, and a
      heater left on in an empty vessel is the hazard, not a cooling mash.

    Restarts: `to_state()` holds the step, when its hold began, the hold seconds done and
    when the step was confirmed; save it every tick. Time while the server was down does
    NOT count toward the hold, and neither does the time since the last save: nothing was
    controlling the vessel, so the mash was not at the step temperature and conversion
    then is unknown. Holding a few minutes too long is harmless to the wort, cutting a
    rest short is not. After `from_state` a started hold counts again only once the vessel
    is back within the band (phase "heating" until then, with the hold progress kept), and
    a ramp starts again from the temperature found, rather than jumping by downtime * rate.
    """

    def __init__(self, schedule: MashSchedule, band_c: float = HOLD_BAND_C) -> None:
        band_c = _number(band_c, "band_c")
        if band_c < 0:
            raise ValueError(f"band_c must be >= 0, got {band_c}")
        self.schedule = schedule
        self.band_c = band_c
        self.step_index = 0
        self.confirmed_at: float | None = None  # when the current (confirm) step was confirmed
        self.hold_started_at: float | None = None  # when the vessel first reached the step
        self.hold_done_s = 0.0  # hold seconds counted so far in this step
        self._counted_to: float | None = None  # hold counted up to here; None = not counting
        self._ramp_from: tuple[float, float] | None = None  # (°C, when) the ramp starts from

    @property
    def step(self) -> Step | None:
        """The current step, None when done."""
        steps = self.schedule.steps
        return steps[self.step_index] if self.step_index < len(steps) else None

    @property
    def done(self) -> bool:
        return self.step is None

    def confirm(self, now: float) -> bool:
        """The brewer confirms the current step; True if it was waiting for that."""
        step = self.step
        if step is None or not step.confirm or self.confirmed_at is not None:
            return False
        self.confirmed_at = _number(now, "now")
        return True

    def update(self, now: float, vessel_c: float | None) -> MashStatus:
        """Advance the state machine to `now` with the vessel reading (None = no reading)."""
        now = _number(now, "now")
        if vessel_c is not None and (isinstance(vessel_c, bool) or not math.isfinite(vessel_c)):
            vessel_c = None
        while True:  # each pass returns or moves to the next step, so this ends
            step = self.step
            if step is None:
                return self._status("done", None)
            if step.confirm and self.confirmed_at is None:
                return self._status("waiting_confirm", self._previous_temperature())
            if self._counted_to is None:
                in_band = vessel_c is not None and abs(vessel_c - step.temperature_c) <= self.band_c
                if not in_band:
                    return self._status("heating", self._heating_setpoint(now, vessel_c, step))
                if self.hold_started_at is None:
                    self.hold_started_at = now
                self._counted_to = now
            else:
                self.hold_done_s += max(0.0, now - self._counted_to)
                self._counted_to = max(now, self._counted_to)
            if self.hold_done_s + _EPSILON_S < step.hold_s:
                return self._status("holding", step.temperature_c)
            self._next_step()

    def _next_step(self) -> None:
        self.step_index += 1
        self.confirmed_at = self.hold_started_at = None
        self.hold_done_s = 0.0
        self._counted_to = None
        self._ramp_from = None

    def _previous_temperature(self) -> float | None:
        return self.schedule.steps[self.step_index - 1].temperature_c if self.step_index else None

    def _heating_setpoint(self, now: float, vessel_c: float | None, step: Step) -> float | None:
        target = step.temperature_c
        if step.ramp_c_per_min is None:
            return target
        if self._ramp_from is None:
            origin_c = vessel_c if vessel_c is not None else self._previous_temperature()
            if origin_c is None:
                return None
            self._ramp_from = (origin_c, now)
        from_c, from_at = self._ramp_from
        moved_c = step.ramp_c_per_min * max(0.0, now - from_at) / 60.0
        gap_c = target - from_c
        if abs(gap_c) <= moved_c:
            return target
        return from_c + math.copysign(moved_c, gap_c)

    def _progress(self) -> float:
        steps = self.schedule.steps
        if self.step_index >= len(steps):
            return 1.0
        total_s = self.schedule.total_hold_s
        if total_s <= 0:
            return self.step_index / len(steps)
        done_s = sum(step.hold_s for step in steps[: self.step_index])
        done_s += min(self.hold_done_s, steps[self.step_index].hold_s)
        return min(done_s / total_s, 1.0)

    def _status(self, phase: Phase, setpoint_c: float | None) -> MashStatus:
        step = self.step
        remaining_s = 0.0 if step is None else max(0.0, step.hold_s - self.hold_done_s)
        return MashStatus(
            step_index=self.step_index,
            step_name=None if step is None else step.name,
            phase=phase,
            setpoint_c=setpoint_c,
            hold_remaining_s=remaining_s,
            progress=self._progress(),
        )

    def to_state(self) -> dict[str, Any]:
        """A JSON-able dict for `chamber.profile_state` (see the class doc on restarts)."""
        return {
            "kind": "mash",
            "step_index": self.step_index,
            "confirmed_at": self.confirmed_at,
            "hold_started_at": self.hold_started_at,
            "hold_done_s": self.hold_done_s,
        }

    @classmethod
    def from_state(
        cls, schedule: MashSchedule, state: Mapping[str, Any], band_c: float = HOLD_BAND_C
    ) -> MashRun:
        """The run saved by `to_state`, on the same schedule; ValueError if it does not fit."""
        if not isinstance(state, Mapping):
            raise ValueError(f"mash state must be a mapping, got {type(state).__name__}")
        if state.get("kind", "mash") != "mash":
            raise ValueError(f"profile state is for a {state.get('kind')!r} run, not mash")
        step_index = state.get("step_index", 0)
        if isinstance(step_index, bool) or not isinstance(step_index, int):
            raise ValueError(f"mash state step_index must be an integer, got {step_index!r}")
        if not 0 <= step_index <= len(schedule.steps):
            raise ValueError(
                f"mash state step_index {step_index} does not fit a schedule of {len(schedule.steps)} steps"
            )
        hold_done_s = _number(state.get("hold_done_s", 0.0), "mash state hold_done_s")
        hold_started_at = _optional_number(state.get("hold_started_at"), "mash state hold_started_at")
        if hold_done_s < 0 or (hold_started_at is None and hold_done_s > 0):
            raise ValueError(
                f"mash state hold_done_s {hold_done_s} does not fit hold_started_at {hold_started_at}"
            )
        run = cls(schedule, band_c=band_c)
        run.step_index = step_index
        run.confirmed_at = _optional_number(state.get("confirmed_at"), "mash state confirmed_at")
        run.hold_started_at = hold_started_at
        run.hold_done_s = hold_done_s
        return run
