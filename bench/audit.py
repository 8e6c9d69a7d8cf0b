"""The control benchmark's metrics (control.md "Control benchmark"), from one recorded run.

The benchmark (`bench/control.py`) and the regression tests share this one implementation.
A run is a `Trace`: the TRUE beer (or vessel) temperature sampled every `dt_s`, the profile
setpoint at each sample, every relay edge from the board's pin-edge log, the profile's
shape as `Segment`s and the injected `Fault`s. Each metric is a function of the trace that
returns a `Measured(value, note)`; `audit` runs the ones that apply to a kind of run and
judges them against `GATES`, the gate and target table of control.md, kept here only.

Value conventions: `None` means the run had nothing to measure (no ramp, no fault...) and
passes; `math.inf` means the thing measured never happened (the beer never reached the
band, an output never went off) and fails.

Interpretations of control.md written down here (the bench and the tests rely on them):

- Relays. `boot_t` and every `Fault("board_reboot", t)` count as every relay having just
  gone off: min off and the heat↔cool dead time count from there. An off edge at a reboot
  is the board losing power, not a min-on violation. Edges that do not change a relay's
  state are ignored; at equal times an off edge is taken before an on edge.
- Dead time. An on edge of one output is a violation when the other output is on, or went
  off (or the board booted) less than `dead_s` before, as the board's rule reads.
- Starts in 60 min: the most compressor on edges with t_last − t_first < 3600 s.
- Setpoint changes. When control starts (the first setpoint, or the first after control
  off) with the beer more than 0.2 °C away, the approach is a pull-down (in either
  direction). A setpoint step between two segments, or the end of a ramp, is a crash when
  it spans more than 3 °C, otherwise a step/ramp. Pull-downs and crashes are followed by a
  24 h window, steps and ramps by a 12 h one.
- Hold windows: the hold segments minus those windows. Hold RMS and max abs error are
  over every sample in them, pooled.
- Overshoot: for each change, the largest excursion of the beer beyond the setpoint in the
  direction of travel, from the change (the step, or the end of the ramp) to the end of
  its window or of the hold that follows it, whichever comes first; the worst over the run.
- Ramp lag: on ramps no faster than 2 °C/day, the mean |setpoint − beer| after a settling
  time of 6 h (half the ramp if it is shorter than 12 h); the worst ramp's mean, its max
  in the note. Faster ramps are steps for this purpose (overshoot, exclusion).
- Pull-down time: from the start of control until the beer is first within ±0.2 °C
  (interpolated between samples), over the physical bound τ_b·ln(|y0 − T_air| /
  |r ∓ 0.2 − T_air|) with the air pinned 6 °C beyond the setpoint; taken on approaches of
  at least 1 °C onto a hold (a smaller error is no test of speed); the worst ratio.
- Fault reactions: per output, the time from the fault's start until it is off and stays
  off until the fault ends, minus the min on it still had to serve at the fault's start
  (neither host nor board may cut a relay inside its min on); the worst output and fault.
  `sensor_invalid` starts at the first invalid reading of a sensor whose loss must switch
  outputs off (the beer or vessel probe, not the fridge probe, which falls back);
  `host_silent` starts at the host's last command.
- Mash steps (hold segments): the direction is the setpoint's change (for the first step,
  from the vessel's temperature); "reached" is the first sample at or past the step
  temperature; max abs error from then to the step's end; overshoot over the whole step.
  Step time: from the step's start until within ±0.5 °C, over the full-power time to the
  same band edge, t = C·ΔT / (P − UA·(T_mean − T_env)), T_mean halfway between the start
  and the band edge; only heating steps that start with a setpoint step (not a ramp).
- Alternations: on edges of one output whose previous on edge was the other's, per day of
  run (a run shorter than a day counts as one day).
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

HEAT = "heat"
COOL = "cool"
OUTPUTS = (HEAT, COOL)

SENSOR_INVALID = "sensor_invalid"
HOST_SILENT = "host_silent"
BOARD_REBOOT = "board_reboot"

FERMENTATION = "fermentation"
MASH = "mash"

HOUR_S = 3600.0
DAY_S = 86_400.0
LARGE_CHANGE_C = 3.0  # a change over this is a crash (control.md: "any step over 3 °C")
LARGE_SETTLE_S = 24 * HOUR_S  # window after a pull-down or a crash
SMALL_SETTLE_S = 12 * HOUR_S  # window after a ramp or a smaller step
APPROACH_BAND_C = 0.2  # control starting further than this from the beer is a pull-down
PULL_DOWN_BAND_C = 0.2
PULL_DOWN_MIN_C = 1.0
RAMP_RATE_C_PER_DAY = 2.0
RAMP_SETTLE_S = 6 * HOUR_S
MASH_BAND_C = 0.5
STARTS_WINDOW_S = HOUR_S
_EPS = 1e-6  # s and °C: edges are recorded to the millisecond


# -- what a run is --------------------------------------------------------------------------


@dataclass(frozen=True)
class RelayLimits:
    """The relay protection the run was meant to respect (control.md "Outputs")."""

    cool_min_on_s: float = 180.0
    cool_min_off_s: float = 300.0
    heat_min_on_s: float = 0.0
    heat_min_off_s: float = 0.0
    dead_s: float = 600.0

    def min_on_s(self, output: str) -> float:
        return self.cool_min_on_s if output == COOL else self.heat_min_on_s

    def min_off_s(self, output: str) -> float:
        return self.cool_min_off_s if output == COOL else self.heat_min_off_s


@dataclass(frozen=True)
class Segment:
    """A stretch of the profile: `hold` (from_c == to_c), `ramp`, or `off` (no setpoint)."""

    start_s: float
    end_s: float
    kind: Literal["hold", "ramp", "off"]
    from_c: float | None = None
    to_c: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("hold", "ramp", "off"):
            raise ValueError(f"segment kind must be hold, ramp or off, got {self.kind!r}")
        if self.end_s < self.start_s:
            raise ValueError("a segment cannot end before it starts")
        if self.kind != "off" and (self.from_c is None or self.to_c is None):
            raise ValueError(f"a {self.kind} segment needs from_c and to_c")

    @property
    def rate_c_per_day(self) -> float:
        if self.kind != "ramp" or self.end_s <= self.start_s:
            return 0.0
        return abs(self.to_c - self.from_c) / (self.end_s - self.start_s) * DAY_S  # type: ignore[operator]


@dataclass(frozen=True)
class Fault:
    """An injected fault: `sensor_invalid` (from the first invalid reading), `host_silent`
    (from the host's last command), `board_reboot` (at the boot); other kinds are carried
    for the record. `end_s` None: it lasted to the end of the run."""

    kind: str
    start_s: float
    end_s: float | None = None
    note: str = ""


Edge = tuple[float, str, bool]


@dataclass
class Trace:
    """One recorded run: samples in time order every `dt_s`; `beer_c` is the true beer or
    vessel temperature, never the sensor reading; `setpoint_c` None = control off."""

    dt_s: float
    t: list[float]
    beer_c: list[float]
    setpoint_c: list[float | None]
    edges: list[Edge]
    boot_t: float = 0.0
    limits: RelayLimits = field(default_factory=RelayLimits)
    segments: list[Segment] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.dt_s <= 0:
            raise ValueError("dt_s must be positive")
        if not len(self.t) == len(self.beer_c) == len(self.setpoint_c):
            raise ValueError("t, beer_c and setpoint_c must have the same length")
        for _, output, _ in self.edges:
            if output not in OUTPUTS:
                raise ValueError(f"an edge's output must be heat or cool, got {output!r}")

    @property
    def start_t(self) -> float:
        return self.t[0] if self.t else self.boot_t

    @property
    def end_t(self) -> float:
        ends = [self.boot_t]
        if self.t:
            ends.append(self.t[-1])
        if self.edges:
            ends.append(max(edge[0] for edge in self.edges))
        return max(ends)

    @property
    def boots(self) -> list[float]:
        reboots = [fault.start_s for fault in self.faults if fault.kind == BOARD_REBOOT]
        return sorted([self.boot_t, *reboots])

    def index(self, when: float) -> int:
        """The first sample at or after `when`."""
        return bisect_left(self.t, when - _EPS)


def edges_from_pin_log(pin_edges: Iterable[Any], roles: Mapping[int, str]) -> list[Edge]:
    """The board's pin-edge log (objects with `t`, `pin`, `on`, such as the simulator's
    `PinEdge`) as trace edges; `roles` maps a pin to "heat" or "cool", other pins are left out."""
    return [(float(edge.t), roles[edge.pin], bool(edge.on)) for edge in pin_edges if edge.pin in roles]


@dataclass(frozen=True)
class FridgePhysics:
    """For the pull-down bound: τ_b = C_b / U_ab, air pinned `air_offset_c` beyond the setpoint."""

    beer_capacity_j_per_k: float = 84_000.0
    u_beer_air_w_per_k: float = 2.5
    air_offset_c: float = 6.0

    @property
    def tau_s(self) -> float:
        return self.beer_capacity_j_per_k / self.u_beer_air_w_per_k


@dataclass(frozen=True)
class MashPhysics:
    """For the full-power step time: vessel capacity C, element power P, losses UA to T_env."""

    capacity_j_per_k: float = 25 * 4180.0
    heater_w: float = 3500.0
    ua_w_per_k: float = 10.0
    env_c: float = 20.0


class Measured(NamedTuple):
    value: float | None
    note: str = ""


# -- the gate and target table (control.md), in one place ----------------------------------


@dataclass(frozen=True)
class Gate:
    label: str
    unit: str
    gate: float  # every scenario: value ≤ gate
    target: float  # the goal: value ≤ target
    kinds: tuple[str, ...]


_BOTH = (FERMENTATION, MASH)
GATES: dict[str, Gate] = {
    "min_time_violations": Gate("compressor min on/off violations, from boot", "", 0, 0, _BOTH),
    "both_on_s": Gate("seconds heater and cooler both on", "s", 0, 0, _BOTH),
    "dead_time_violations": Gate("heat↔cool changes sooner than the dead time", "", 0, 0, _BOTH),
    "max_starts_60min": Gate("max compressor starts in any 60 min", "", 6, 3, _BOTH),
    "hold_rms_c": Gate("fermentation hold RMS error", "°C", 0.25, 0.10, (FERMENTATION,)),
    "hold_max_abs_c": Gate("fermentation hold max abs error", "°C", 0.5, 0.3, (FERMENTATION,)),
    "overshoot_c": Gate("overshoot after a step or ramp", "°C", 0.5, 0.3, (FERMENTATION,)),
    "ramp_lag_c": Gate("ramp lag at 2 °C/day", "°C", 0.5, 0.3, (FERMENTATION,)),
    "pull_down_ratio": Gate("pull-down to ±0.2 °C / physical bound", "×", 2.0, 1.5, (FERMENTATION,)),
    "sensor_invalid_off_s": Gate("sensor invalid → outputs off", "s", 15, 10, _BOTH),
    "host_silent_off_s": Gate("host silent → board outputs off", "s", 60, 30, _BOTH),
    "mash_hold_max_abs_c": Gate("mash step hold max abs error", "°C", 1.0, 0.3, (MASH,)),
    "mash_overshoot_c": Gate("mash step overshoot", "°C", 1.0, 0.3, (MASH,)),
    "mash_step_time_ratio": Gate("mash step time to ±0.5 °C / full power", "×", 2.0, 1.3, (MASH,)),
    "alternations_per_day": Gate("heat↔cool alternations per day", "/d", 10, 4, _BOTH),
}


@dataclass(frozen=True)
class MetricRow:
    name: str  # a key of GATES
    value: float | None
    unit: str
    gate: float
    target: float
    passed_gate: bool
    met_target: bool
    note: str = ""

    @property
    def label(self) -> str:
        return GATES[self.name].label


# -- relays ---------------------------------------------------------------------------------


class _Change(NamedTuple):
    t: float
    output: str
    on: bool


def _relay_changes(trace: Trace) -> list[_Change]:
    """The edges that change a relay's state, in time order, off before on at equal times.
    Every relay is off at the first boot."""
    state = dict.fromkeys(OUTPUTS, False)
    changes = []
    for t, output, on in sorted(trace.edges, key=lambda edge: (edge[0], edge[2])):
        if state[output] != on:
            state[output] = on
            changes.append(_Change(t, output, on))
    return changes


def _timeline(trace: Trace) -> list[tuple[float, str, _Change | None]]:
    """Relay changes and boots merged in time order; a boot comes before edges at its time."""
    events: list[tuple[float, int, str, _Change | None]] = [(t, 0, "boot", None) for t in trace.boots]
    events += [(change.t, 1, "edge", change) for change in _relay_changes(trace)]
    events.sort(key=lambda event: (event[0], event[1]))
    return [(t, what, change) for t, _, what, change in events]


def _at_boot(t: float, boots: list[float]) -> bool:
    i = bisect_left(boots, t - _EPS)
    return i < len(boots) and abs(boots[i] - t) <= _EPS


def min_time_violations(trace: Trace) -> Measured:
    """Starts sooner than min off after the last off edge or boot, stops sooner than min on."""
    limits, boots = trace.limits, trace.boots
    last_off = dict.fromkeys(OUTPUTS, trace.boot_t)
    on_since: dict[str, float | None] = dict.fromkeys(OUTPUTS)
    count = dict.fromkeys(OUTPUTS, 0)
    for t, _, change in _timeline(trace):
        if change is None:
            for output in OUTPUTS:
                last_off[output] = max(last_off[output], t)
            continue
        output = change.output
        if change.on:
            if t - last_off[output] < limits.min_off_s(output) - _EPS:
                count[output] += 1
            on_since[output] = t
        else:
            started = on_since[output]
            if started is not None and not _at_boot(t, boots):
                if t - started < limits.min_on_s(output) - _EPS:
                    count[output] += 1
            on_since[output] = None
            last_off[output] = max(last_off[output], t)
    return Measured(count[COOL] + count[HEAT], f"cool {count[COOL]}, heat {count[HEAT]}")


def both_on_seconds(trace: Trace) -> Measured:
    """Seconds with the heater and the cooler on together (to the end of the run)."""
    state = dict.fromkeys(OUTPUTS, False)
    total = 0.0
    since = 0.0
    for change in _relay_changes(trace):
        was_both = all(state.values())
        state[change.output] = change.on
        if all(state.values()) and not was_both:
            since = change.t
        elif was_both and not all(state.values()):
            total += change.t - since
    if all(state.values()):
        total += trace.end_t - since
    return Measured(total)


def dead_time_violations(trace: Trace) -> Measured:
    """On edges while the other output is on or has been off (or booted) less than dead_s."""
    dead_s = trace.limits.dead_s
    state = dict.fromkeys(OUTPUTS, False)
    last_off = dict.fromkeys(OUTPUTS, trace.boot_t)
    count = 0
    first: float | None = None
    for t, _, change in _timeline(trace):
        if change is None:
            for output in OUTPUTS:
                last_off[output] = max(last_off[output], t)
            continue
        other = COOL if change.output == HEAT else HEAT
        if change.on and (state[other] or t - last_off[other] < dead_s - _EPS):
            count += 1
            first = t if first is None else first
        state[change.output] = change.on
        if not change.on:
            last_off[change.output] = t
    return Measured(count, "" if first is None else f"first at t={first:.0f} s")


def max_starts_in_window(trace: Trace, window_s: float = STARTS_WINDOW_S) -> Measured:
    """The most compressor starts within any `window_s` (t_last − t_first < window_s)."""
    starts = [change.t for change in _relay_changes(trace) if change.output == COOL and change.on]
    best = 0
    best_at = None
    first = 0
    for last, t in enumerate(starts):
        while t - starts[first] >= window_s - _EPS:
            first += 1
        if last - first + 1 > best:
            best, best_at = last - first + 1, starts[first]
    note = f"{len(starts)} starts in all" + ("" if best_at is None else f"; worst from t={best_at:.0f} s")
    return Measured(best, note)


def alternations_per_day(trace: Trace) -> Measured:
    """On edges of one output right after an on edge of the other, per day of run."""
    previous = None
    count = 0
    for change in _relay_changes(trace):
        if change.on:
            if previous is not None and previous != change.output:
                count += 1
            previous = change.output
    days = (trace.end_t - trace.start_t) / DAY_S
    return Measured(count / max(days, 1.0), f"{count} in {days:.2f} d")


# -- faults ---------------------------------------------------------------------------------


def _off_delay(trace: Trace, output: str, start: float, end: float) -> tuple[float, float]:
    """(seconds from `start` until `output` is off for good until `end`, the min on it still
    had to serve at `start`)."""
    on, on_since = False, None
    after = []
    for change in _relay_changes(trace):
        if change.output != output:
            continue
        if change.t <= start:
            on, on_since = change.on, (change.t if change.on else None)
        elif change.t <= end:
            after.append(change)
    off_at: float | None = None if on else start
    for change in after:
        off_at = None if change.on else change.t
    remaining = 0.0
    if on and on_since is not None:
        remaining = max(0.0, on_since + trace.limits.min_on_s(output) - start)
    return (math.inf if off_at is None else off_at - start), remaining


def _on_at(trace: Trace, output: str, when: float) -> bool:
    """Whether `output` was on just before `when` (an edge at `when` itself is the reaction)."""
    on = False
    for change in _relay_changes(trace):
        if change.t >= when - _EPS:
            break
        if change.output == output:
            on = change.on
    return on


def outputs_off_delay(trace: Trace, kind: str) -> Measured:
    """The worst, over the faults of `kind` and over both outputs, of the seconds from the
    fault's start until the output is off and stays off, less its remaining min on. An
    output already off scores 0, so the note says how many faults struck with one on."""
    worst: float | None = None
    note = ""
    count = struck_on = 0
    for fault in trace.faults:
        if fault.kind != kind:
            continue
        count += 1
        struck_on += any(_on_at(trace, output, fault.start_s) for output in OUTPUTS)
        end = trace.end_t if fault.end_s is None else fault.end_s
        for output in OUTPUTS:
            delay, remaining = _off_delay(trace, output, fault.start_s, end)
            value = max(0.0, delay - remaining)
            if worst is None or value > worst:
                worst = value
                note = f"{output} at t={fault.start_s:.0f} s"
                if remaining > 0:
                    note += f", after {remaining:.0f} s of min on"
                if value == math.inf:
                    note = f"{output} not off while the fault lasted (t={fault.start_s:.0f} s)"
    if worst is None:
        return Measured(None, "no fault of this kind")
    if struck_on == 0 and worst == 0:  # nothing to switch off: no reaction was measured
        return Measured(None, f"no output was on when the {count} fault(s) struck: nothing measured")
    return Measured(worst, f"{note}; {struck_on} of {count} struck with an output on")


def sensor_invalid_off_s(trace: Trace) -> Measured:
    return outputs_off_delay(trace, SENSOR_INVALID)


def host_silent_off_s(trace: Trace) -> Measured:
    return outputs_off_delay(trace, HOST_SILENT)


# -- setpoint changes and hold windows ------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A change of setpoint that the beer must follow: `pull_down` (control starting away
    from the beer), `crash` (over 3 °C), `step` or `ramp` (at its end)."""

    t: float
    kind: Literal["pull_down", "crash", "step", "ramp"]
    from_c: float
    to_c: float

    @property
    def direction(self) -> int:
        return (self.to_c > self.from_c) - (self.to_c < self.from_c)

    @property
    def window_s(self) -> float:
        return LARGE_SETTLE_S if self.kind in ("pull_down", "crash") else SMALL_SETTLE_S


def _merged(segments: Sequence[Segment]) -> list[Segment]:
    """Segments in time order, adjacent holds at one temperature joined."""
    merged: list[Segment] = []
    for seg in sorted(segments, key=lambda s: s.start_s):
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.kind == seg.kind == "hold"
            and abs(last.to_c - seg.from_c) <= _EPS  # type: ignore[operator]
            and abs(last.end_s - seg.start_s) <= _EPS
        ):
            merged[-1] = Segment(last.start_s, seg.end_s, "hold", last.from_c, last.to_c)
        else:
            merged.append(seg)
    return merged


def _beer_at(trace: Trace, when: float) -> float | None:
    i = trace.index(when)
    if i < len(trace.t):
        return trace.beer_c[i]
    return trace.beer_c[-1] if trace.beer_c else None


def setpoint_changes(trace: Trace) -> list[Change]:
    """Every change of the profile the beer has to follow, in time order."""
    changes: list[Change] = []
    previous: Segment | None = None
    for seg in _merged(trace.segments):
        if seg.kind == "off":
            previous = None
            continue
        from_c, to_c = seg.from_c, seg.to_c
        assert from_c is not None and to_c is not None
        if previous is None:
            beer = _beer_at(trace, seg.start_s)
            if beer is not None and abs(beer - from_c) > APPROACH_BAND_C:
                changes.append(Change(seg.start_s, "pull_down", beer, from_c))
        elif abs(from_c - previous.to_c) > _EPS:  # type: ignore[operator]
            size = abs(from_c - previous.to_c)  # type: ignore[operator]
            kind = "crash" if size > LARGE_CHANGE_C else "step"
            changes.append(Change(seg.start_s, kind, previous.to_c, from_c))  # type: ignore[arg-type]
        if seg.kind == "ramp":
            fast = seg.rate_c_per_day > RAMP_RATE_C_PER_DAY * 1.01
            kind = "crash" if abs(to_c - from_c) > LARGE_CHANGE_C else ("step" if fast else "ramp")
            changes.append(Change(seg.end_s, kind, from_c, to_c))
        previous = seg
    return changes


def _subtract(window: tuple[float, float], cuts: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    pieces = [window]
    for cut_start, cut_end in cuts:
        kept = []
        for start, end in pieces:
            if cut_end <= start or cut_start >= end:
                kept.append((start, end))
                continue
            if cut_start > start:
                kept.append((start, cut_start))
            if cut_end < end:
                kept.append((cut_end, end))
        pieces = kept
    return pieces


def hold_windows(trace: Trace) -> list[tuple[float, float]]:
    """The [start, end) spans of the hold segments that count for the hold metrics."""
    cuts = [(change.t, change.t + change.window_s) for change in setpoint_changes(trace)]
    windows: list[tuple[float, float]] = []
    for seg in _merged(trace.segments):
        if seg.kind == "hold" and seg.end_s > seg.start_s:
            windows += _subtract((seg.start_s, seg.end_s), cuts)
    return windows


def _errors_in(trace: Trace, windows: Iterable[tuple[float, float]]) -> list[float]:
    errors = []
    for start, end in windows:
        for i in range(trace.index(start), trace.index(end)):
            setpoint = trace.setpoint_c[i]
            if setpoint is not None:
                errors.append(trace.beer_c[i] - setpoint)
    return errors


def hold_rms_error(trace: Trace) -> Measured:
    errors = _errors_in(trace, hold_windows(trace))
    if not errors:
        return Measured(None, "no hold window")
    rms = math.sqrt(math.fsum(e * e for e in errors) / len(errors))
    return Measured(rms, f"{len(errors) * trace.dt_s / HOUR_S:.1f} h of hold")


def hold_max_abs_error(trace: Trace) -> Measured:
    errors = _errors_in(trace, hold_windows(trace))
    if not errors:
        return Measured(None, "no hold window")
    return Measured(max(abs(e) for e in errors), f"{len(errors) * trace.dt_s / HOUR_S:.1f} h of hold")


def overshoot(trace: Trace) -> Measured:
    """The worst excursion beyond the new setpoint, in the direction of travel, after a change."""
    segments = [seg for seg in _merged(trace.segments) if seg.kind == "hold"]
    worst: float | None = None
    note = "no step or ramp"
    for change in setpoint_changes(trace):
        hold = next((s for s in segments if s.start_s - _EPS <= change.t < s.end_s - _EPS), None)
        if hold is None or change.direction == 0:
            continue
        end = min(change.t + change.window_s, hold.end_s)
        value = 0.0
        for i in range(trace.index(change.t), trace.index(end)):
            setpoint = trace.setpoint_c[i]
            if setpoint is not None:
                value = max(value, change.direction * (trace.beer_c[i] - setpoint))
        if worst is None or value > worst:
            worst = value
            note = f"{change.kind} {change.from_c:.1f} → {change.to_c:.1f} °C at t={change.t:.0f} s"
    return Measured(worst, note)


def ramp_lag(
    trace: Trace, settle_s: float = RAMP_SETTLE_S, max_rate_c_per_day: float = RAMP_RATE_C_PER_DAY
) -> Measured:
    """The worst ramp's mean |setpoint − beer| after `settle_s` (or half the ramp), on ramps
    no faster than `max_rate_c_per_day`."""
    worst: float | None = None
    note = "no ramp"
    for seg in _merged(trace.segments):
        if seg.kind != "ramp" or seg.rate_c_per_day > max_rate_c_per_day * 1.01:
            continue
        start = seg.start_s + min(settle_s, (seg.end_s - seg.start_s) / 2)
        lags = [abs(e) for e in _errors_in(trace, [(start, seg.end_s)])]
        if not lags:
            continue
        mean = math.fsum(lags) / len(lags)
        if worst is None or mean > worst:
            worst = mean
            note = f"ramp at t={seg.start_s:.0f} s, max {max(lags):.3f} °C"
    return Measured(worst, note)


# -- how fast: pull-down and mash steps -----------------------------------------------------


def _entry_time(trace: Trace, start: float, end: float, target: float, band: float) -> float | None:
    """When the beer first gets within `band` of `target` in [start, end), interpolated."""
    first = trace.index(start)
    for i in range(first, trace.index(end)):
        if abs(trace.beer_c[i] - target) <= band + 1e-12:
            if i == first:
                return trace.t[i]
            before, after = trace.beer_c[i - 1], trace.beer_c[i]
            edge = target + band if before > target else target - band
            if before == after:
                return trace.t[i]
            fraction = min(1.0, max(0.0, (edge - before) / (after - before)))
            return trace.t[i - 1] + fraction * (trace.t[i] - trace.t[i - 1])
    return None


def pull_down_bound_s(
    y0: float, setpoint: float, physics: FridgePhysics, band_c: float = PULL_DOWN_BAND_C
) -> float:
    """The fastest possible approach to within `band_c`: beer driven by air pinned
    `air_offset_c` beyond the setpoint, τ_b·ln(|y0 − T_air| / |band edge − T_air|)."""
    direction = 1 if setpoint > y0 else -1
    air = setpoint + direction * physics.air_offset_c
    edge = setpoint - direction * band_c
    return physics.tau_s * math.log(abs(y0 - air) / abs(edge - air))


def pull_down_ratio(trace: Trace, physics: FridgePhysics | None = None) -> Measured:
    """Time to ±0.2 °C after each pull-down onto a hold, over its physical bound; the worst."""
    physics = physics or FridgePhysics()
    holds = [seg for seg in _merged(trace.segments) if seg.kind == "hold"]
    worst: float | None = None
    note = "no pull-down"
    for change in setpoint_changes(trace):
        if change.kind != "pull_down" or abs(change.to_c - change.from_c) < PULL_DOWN_MIN_C:
            continue
        hold = next((s for s in holds if abs(s.start_s - change.t) <= _EPS), None)
        if hold is None:
            continue
        bound = pull_down_bound_s(change.from_c, change.to_c, physics)
        reached = _entry_time(trace, change.t, hold.end_s, change.to_c, PULL_DOWN_BAND_C)
        elapsed = math.inf if reached is None else reached - change.t
        ratio = elapsed / bound
        if worst is None or ratio > worst:
            worst = ratio
            took = "never reached" if reached is None else f"{elapsed / HOUR_S:.2f} h"
            note = f"{change.from_c:.1f} → {change.to_c:.1f} °C: {took}, bound {bound / HOUR_S:.2f} h"
    return Measured(worst, note)


def full_power_time_s(start_c: float, target_c: float, physics: MashPhysics) -> float:
    """C·ΔT / (P − UA·(T_mean − T_env)); inf when the losses eat the power."""
    net = physics.heater_w - physics.ua_w_per_k * ((start_c + target_c) / 2 - physics.env_c)
    if net <= 0:
        return math.inf
    return physics.capacity_j_per_k * abs(target_c - start_c) / net


class _Step(NamedTuple):
    seg: Segment
    direction: int
    after_ramp: bool


def _mash_steps(trace: Trace) -> list[_Step]:
    steps = []
    previous: Segment | None = None
    for seg in _merged(trace.segments):
        if seg.kind == "hold":
            if previous is not None and previous.kind != "off":
                before = previous.from_c if previous.kind == "ramp" else previous.to_c
            else:
                before = _beer_at(trace, seg.start_s)
            direction = 0 if before is None else (seg.to_c > before) - (seg.to_c < before)  # type: ignore[operator]
            steps.append(_Step(seg, direction, previous is not None and previous.kind == "ramp"))
        previous = seg
    return steps


def mash_step_errors(trace: Trace) -> tuple[Measured, Measured]:
    """(max abs error from first reaching each step's temperature, overshoot), worst step."""
    worst_error: float | None = None
    worst_over: float | None = None
    error_note = over_note = "no mash step"
    for seg, direction, _ in _mash_steps(trace):
        target = seg.to_c
        assert target is not None
        first, last = trace.index(seg.start_s), trace.index(seg.end_s)
        if first >= last:
            continue
        reached = None
        over = 0.0
        for i in range(first, last):
            excess = direction * (trace.beer_c[i] - target)
            over = max(over, excess)
            if reached is None and (direction == 0 or excess >= 0):
                reached = i
        label = f"step {target:.1f} °C at t={seg.start_s:.0f} s"
        error = (
            math.inf if reached is None else max(abs(trace.beer_c[i] - target) for i in range(reached, last))
        )
        if worst_error is None or error > worst_error:
            worst_error, error_note = error, label + (" never reached" if reached is None else "")
        if worst_over is None or over > worst_over:
            worst_over, over_note = over, label
    return Measured(worst_error, error_note), Measured(worst_over, over_note)


def mash_hold_max_abs_error(trace: Trace) -> Measured:
    return mash_step_errors(trace)[0]


def mash_overshoot(trace: Trace) -> Measured:
    return mash_step_errors(trace)[1]


def mash_step_time_ratio(
    trace: Trace, physics: MashPhysics | Callable[[Segment], MashPhysics] | None = None
) -> Measured:
    """Time from each heating step's start to ±0.5 °C over the full-power time; the worst.
    `physics` may be a function of the step, for a capacity that changes at dough-in."""
    worst: float | None = None
    note = "no heating step"
    for seg, direction, after_ramp in _mash_steps(trace):
        if direction <= 0 or after_ramp:
            continue
        start_c = _beer_at(trace, seg.start_s)
        target = seg.to_c
        assert target is not None
        if start_c is None or target - start_c <= MASH_BAND_C:
            continue
        step_physics = physics(seg) if callable(physics) else (physics or MashPhysics())
        bound = full_power_time_s(start_c, target - MASH_BAND_C, step_physics)
        reached = _entry_time(trace, seg.start_s, seg.end_s, target, MASH_BAND_C)
        elapsed = math.inf if reached is None else reached - seg.start_s
        ratio = elapsed / bound
        if worst is None or ratio > worst:
            worst = ratio
            took = "never reached" if reached is None else f"{elapsed:.0f} s"
            note = f"{start_c:.1f} → {target:.1f} °C: {took}, full power {bound:.0f} s"
    return Measured(worst, note)


# -- the audit ------------------------------------------------------------------------------


def _judge(name: str, measured: Measured) -> MetricRow:
    gate = GATES[name]
    value = measured.value
    if value is None:
        passed = met = True
    else:
        passed = value <= gate.gate + 1e-9
        met = value <= gate.target + 1e-9
    return MetricRow(name, value, gate.unit, gate.gate, gate.target, passed, met, measured.note)


def audit(
    trace: Trace,
    kind: str = FERMENTATION,
    *,
    fridge: FridgePhysics | None = None,
    mash: MashPhysics | Callable[[Segment], MashPhysics] | None = None,
) -> list[MetricRow]:
    """Every metric of control.md's table that applies to a `kind` of run, judged."""
    if kind not in (FERMENTATION, MASH):
        raise ValueError(f"kind must be {FERMENTATION} or {MASH}, got {kind!r}")
    measures: dict[str, Callable[[], Measured]] = {
        "min_time_violations": lambda: min_time_violations(trace),
        "both_on_s": lambda: both_on_seconds(trace),
        "dead_time_violations": lambda: dead_time_violations(trace),
        "max_starts_60min": lambda: max_starts_in_window(trace),
        "hold_rms_c": lambda: hold_rms_error(trace),
        "hold_max_abs_c": lambda: hold_max_abs_error(trace),
        "overshoot_c": lambda: overshoot(trace),
        "ramp_lag_c": lambda: ramp_lag(trace),
        "pull_down_ratio": lambda: pull_down_ratio(trace, fridge),
        "sensor_invalid_off_s": lambda: sensor_invalid_off_s(trace),
        "host_silent_off_s": lambda: host_silent_off_s(trace),
        "mash_hold_max_abs_c": lambda: mash_hold_max_abs_error(trace),
        "mash_overshoot_c": lambda: mash_overshoot(trace),
        "mash_step_time_ratio": lambda: mash_step_time_ratio(trace, mash),
        "alternations_per_day": lambda: alternations_per_day(trace),
    }
    return [_judge(name, measures[name]()) for name, gate in GATES.items() if kind in gate.kinds]


# -- reporting ------------------------------------------------------------------------------


def _number(value: float, unit: str) -> str:
    if value == math.inf:
        return "never"
    if unit in ("", "/d") and float(value).is_integer():
        text = str(int(value))
    elif unit == "s":
        text = f"{value:.1f}"
    elif unit == "×":
        return f"{value:.2f}×"
    elif unit == "/d":
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".rstrip()


def _limit(value: float, unit: str) -> str:
    if unit == "×":
        return f"≤ {value:g}×"
    return f"≤ {value:g} {unit}".rstrip()


def _verdict(row: MetricRow) -> str:
    if not row.passed_gate:
        return "FAIL"
    return "pass" if row.met_target else "pass, target missed"


def format_table(rows: Sequence[MetricRow]) -> str:
    """Plain-text columns: metric, value, gate, target, pass, note."""
    header = ("metric", "value", "gate", "target", "pass", "note")
    lines = [header] + [
        (
            row.label,
            "n/a" if row.value is None else _number(row.value, row.unit),
            _limit(row.gate, row.unit),
            _limit(row.target, row.unit),
            _verdict(row),
            row.note,
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def rows_as_json(rows: Sequence[MetricRow]) -> list[dict[str, Any]]:
    """The rows as JSON-able dicts; a value that never happened (inf) is null with
    `never: true`."""
    out = []
    for row in rows:
        never = row.value is not None and not math.isfinite(row.value)
        out.append(
            {
                "name": row.name,
                "label": row.label,
                "value": None if never else row.value,
                "never": never,
                "unit": row.unit,
                "gate": row.gate,
                "target": row.target,
                "passed_gate": row.passed_gate,
                "met_target": row.met_target,
                "note": row.note,
            }
        )
    json.dumps(out, allow_nan=False)  # fail here rather than in a reader
    return out
