"""Control scenarios: the shipped control tick on the in-process simulated board, on a
virtual clock (no waiting), through the shipped driver and board protocol (`VirtualHost`).

Faults (`PlannedFault`) are injected into the simulated board (its probes, its plant, a
reboot) or by the host falling silent (no ticks: no reads, no commands, no dead-man
feed), and recorded as `audit.Fault`s for the benchmark's fault metrics.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.control.chamber import FermenterControl, FermenterTuning
from app.control.profiles import FermentationProfile, Point
from devices.simulator.board import SimulatedBoard

from .audit import BOARD_REBOOT, HOST_SILENT, SENSOR_INVALID, Fault, Segment, Trace
from .virtual_host import EPOCH, FRIDGE_PINS, VirtualHost, fermenter_rows, run_async

log = logging.getLogger(__name__)

DAY = 86400.0
HOUR = 3600.0
PINS = FRIDGE_PINS
SEPARATION_S = HOUR  # a fault is armed no sooner than this after the previous one ended


@dataclass
class Run:
    """What a scenario recorded: samples every `sample_s`, the board's relay edges, and the
    faults injected (times in s from the start, as the edges)."""

    sample_s: float
    t: list[float] = field(default_factory=list)
    beer_c: list[float] = field(default_factory=list)
    air_c: list[float] = field(default_factory=list)
    setpoint_c: list[float | None] = field(default_factory=list)
    edges: list[tuple[float, str, bool]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    refusals: int = 0  # `o` commands the board refused: the host asked for what it must not
    reboots_seen: int = 0  # board reboots the host noticed and re-armed after
    alarms: list[tuple[str, str]] = field(default_factory=list)  # (event, code) as the tick raised them
    logs: list[tuple[str, str, str]] = field(default_factory=list)  # (source, level, text) sent to `logs`

    def trace(self, segments: list[Segment]) -> Trace:
        """The run as the audit reads it, with the profile's `segments`."""
        return Trace(
            dt_s=self.sample_s,
            t=self.t,
            beer_c=self.beer_c,
            setpoint_c=self.setpoint_c,
            edges=self.edges,
            segments=segments,
            faults=self.faults,
        )


@dataclass(frozen=True)
class PlannedFault:
    """One fault a scenario injects, armed `at_s` after the start.

    It strikes at the first tick after that, and at least a separation (`SEPARATION_S` by
    default) after the previous fault ended, when `when` holds, or `wait_s` later
    regardless (the fault metrics' notes then say whether an output was on). Kinds:
    `lost` (the probe does not answer, −127 → null, for `for_s`), `stuck` (it repeats its
    last reading for `for_s`), `spike85` / `spike127` (one reading), `door` (open for
    `for_s`; the plant's air exchange and the board's door switch), `level_high` (the
    level switch reads high for `for_s`), `pilot_out` (the flame sensor reads the pilot out
    for `for_s`), `host_silent` (the host sends nothing for `for_s`: no reads, no commands,
    no dead-man feed), `reboot` (the board restarts, as after a watchdog reset). The switch
    faults reach the host only through input devices (`run_fermentation(switches=...)`).

    `when`: `any`; `cooling` / `heating`: that output is on; `cooling_past_min_on`: the
    compressor is on, past its min on, with at least a minute of its window still planned,
    so an off delay measures the reaction to the fault, not the min on nor the end of a
    planned on-time; `cool_min_off`: the compressor went off between 30 s and its min off
    minus 30 s ago.
    """

    kind: str
    at_s: float
    probe: str = "beer"
    for_s: float = 600.0
    when: str = "any"
    wait_s: float = 6 * HOUR
    announce: bool = True  # a `reboot` whose `B:` line is lost on the wire: False


FAULT_KINDS = (
    "lost",
    "stuck",
    "spike85",
    "spike127",
    "door",
    "level_high",
    "pilot_out",
    "host_silent",
    "reboot",
)
CONDITIONS = ("any", "cooling", "heating", "cooling_past_min_on", "cool_min_off")


class _Injector:
    """Strikes the planned faults in order and records them as the audit reads them."""

    def __init__(self, plan: Sequence[PlannedFault], host: VirtualHost, separation_s: float) -> None:
        for planned in plan:
            if planned.kind not in FAULT_KINDS or planned.when not in CONDITIONS:
                raise ValueError(f"unknown fault kind or condition: {planned}")
        self.pending = sorted(plan, key=lambda planned: planned.at_s)
        self.host = host
        self.separation_s = separation_s
        self.recorded: list[Fault] = []
        self._free_at = -math.inf  # when the last fault ended, plus the separation

    def before_tick(self, now: float, elapsed: float) -> None:
        while self.pending and elapsed >= self.pending[0].at_s and now >= self._free_at:
            planned = self.pending[0]
            due = elapsed >= planned.at_s + planned.wait_s
            if not due and not self._holds(planned.when, now):
                return
            self.pending.pop(0)
            fault = self._strike(planned, now)
            self.recorded.append(fault)
            self._free_at = max(now, fault.end_s or now) + self.separation_s

    def _holds(self, when: str, now: float) -> bool:
        if when == "any":
            return True
        if when in ("cooling", "heating"):
            return self.host.board.relay(when[:4])
        board, tuning = self.host.board, self.host.chamber.tuning
        last = next((edge for edge in reversed(board.firmware.edges) if edge.pin == PINS["cool"]), None)
        if when == "cooling_past_min_on":
            control = self.host.chamber.control
            assert isinstance(control, FermenterControl)
            window = control.cool_window
            planned_left = (window.window_start or now) + window.planned_on_s - now
            return (
                last is not None
                and last.on
                and board.relay("cool")
                and now - last.t >= tuning.cool_min_on_s + 5.0  # past it at the last command too
                and planned_left >= 60.0
            )
        return last is not None and not last.on and 30.0 <= now - last.t < tuning.cool_min_off_s - 30.0

    def _strike(self, planned: PlannedFault, now: float) -> Fault:
        """Inject now, before this tick's reading, so the first faulty reading is this tick's."""
        kind, probe, for_s = planned.kind, planned.probe, planned.for_s
        board = self.host.board
        cooling = "cooler on" if board.relay("cool") else "cooler off"
        heating = "heater on" if board.relay("heat") else "heater off"
        state = f"{cooling}, {heating}"
        if kind == "host_silent":
            self.host.silent_until = now + for_s
            # from the host's last command: that is when the dead-man's count began
            return Fault(HOST_SILENT, self.host.last_command_t, now + for_s, f"host silent, {state}")
        if kind == "level_high":
            board.set_switch("level_high", True, for_s)
            return Fault("high_level", now, now + for_s, f"level high, {state}")
        if kind == "pilot_out":
            board.set_switch("pilot_light", False, for_s)
            return Fault("pilot_out", now, now + for_s, f"pilot light out, {state}")
        sim_fault = {
            "lost": "disconnect",
            "stuck": "stuck",
            "spike85": "spike85",
            "spike127": "spike127",
            "door": "door",
            "reboot": "reboot",
        }[kind]
        board.inject(sim_fault, probe=probe, for_s=for_s, announce=planned.announce)
        if kind == "lost":
            if probe == "beer":  # the one probe whose loss must switch outputs off
                return Fault(SENSOR_INVALID, now, now + for_s, f"beer probe lost, {state}")
            return Fault(f"{probe}_probe_lost", now, now + for_s, f"{probe} probe lost, {state}")
        if kind == "reboot":
            return Fault(BOARD_REBOOT, now, now, f"board reboot, {state}")
        if kind in ("spike85", "spike127"):
            value = "85" if kind == "spike85" else "−127"
            return Fault(kind, now, now + 1.0, f"one {value} °C reading of the {probe} probe, {state}")
        if kind == "stuck":
            return Fault("sensor_stuck", now, now + for_s, f"{probe} probe stuck, {state}")
        return Fault("door_open", now, now + for_s, f"door open, {state}")


def run_fermentation(
    profile: FermentationProfile,
    days: float,
    *,
    seed: int = 1,
    tuning: FermenterTuning | None = None,
    plant_params: dict[str, Any] | None = None,
    tick_s: float = 1.0,
    sample_s: float = 60.0,
    fermentation_w: Any = 0.0,
    faults: Sequence[PlannedFault] = (),
    fault_separation_s: float = SEPARATION_S,
    switches: Sequence[str] = (),
) -> Run:
    """The shipped tick on a simulated fridge for `days` of virtual time; `faults` are
    injected on the way and come back in `Run.faults`. `switches` wires the board's
    `door` and `level_high` switches as input devices, so their alarms are raised."""
    return run_async(
        _run_fermentation(
            profile,
            days,
            seed,
            tuning or FermenterTuning(),
            plant_params or {},
            tick_s,
            sample_s,
            fermentation_w,
            faults,
            fault_separation_s,
            switches,
        )
    )


async def _run_fermentation(
    profile: FermentationProfile,
    days: float,
    seed: int,
    tuning: FermenterTuning,
    plant_params: dict[str, Any],
    tick_s: float,
    sample_s: float,
    fermentation_w: Any,
    faults: Sequence[PlannedFault],
    fault_separation_s: float,
    switches: Sequence[str],
) -> Run:
    board = SimulatedBoard("fridge", seed=seed, fermentation_w=fermentation_w, **plant_params)
    row, profile_row = fermenter_rows(profile.points, tuning, EPOCH + board.clock.now, switches=switches)
    host = VirtualHost(board, row, profile_row, tick_s)
    await host.connect()
    injector = _Injector(faults, host, fault_separation_s)
    run = Run(sample_s)
    start = board.clock.now
    next_sample = start
    while board.clock.now - start < days * DAY:
        # faults strike before this tick's reading, so the first faulty reading is this tick's
        await host.step(tick_s, lambda now: injector.before_tick(now, now - start))
        now = board.clock.now
        if now >= next_sample:
            temperatures = board.plant.temperatures()
            run.t.append(now - start)
            run.beer_c.append(temperatures["beer"])
            run.air_c.append(temperatures["fridge"])
            run.setpoint_c.append(host.chamber.setpoint_c)
            next_sample += sample_s
    await host.close()
    pins = {pin: name for name, pin in PINS.items()}
    run.edges = [
        (edge.t - start, pins[edge.pin], edge.on) for edge in board.firmware.edges if edge.pin in pins
    ]
    run.faults = [
        replace(f, start_s=f.start_s - start, end_s=None if f.end_s is None else f.end_s - start)
        for f in injector.recorded
    ]
    run.refusals = host.tick.refusals
    run.reboots_seen = host.tick.reboots_seen
    run.alarms = [(c.event, c.alarm.code) for c in host.alarm_changes]
    run.logs = list(host.logs)
    return run


def f1_profile() -> FermentationProfile:
    """F1 ale: pitch at 22, pull down to 19 and hold 3 days, +2 °C over 24 h, hold 21, crash to 4."""
    return FermentationProfile(
        [
            Point(0, 19.0),
            Point(3, 19.0),
            Point(4, 21.0),
            Point(6, 21.0),
            Point(6, 4.0, "cold crash"),
            Point(8, 4.0),
        ]
    )


def f1_fermentation_heat_w(t_s: float) -> float:
    """About 5 W at high krausen on day 1-2, fading by day 4."""
    day = t_s / DAY
    if day < 0.5:
        return 2.0 * day / 0.5
    if day < 2.5:
        return 5.0
    if day < 4.0:
        return 5.0 * (4.0 - day) / 1.5
    return 0.0


def f2_profile() -> FermentationProfile:
    """F2 lager: pitch at ~12, hold 10 for a week, diacetyl rest (ramp to 16 over 3 days at
    2 °C/day, hold 2 days), crash to 1 and hold 3 days for lagering."""
    return FermentationProfile(
        [
            Point(0, 10.0),
            Point(7, 10.0),
            Point(10, 16.0, "diacetyl rest"),
            Point(12, 16.0),
            Point(12, 1.0, "cold crash"),
            Point(15, 1.0),
        ]
    )


def f2_fermentation_heat_w(t_s: float) -> float:
    """A lager at 10 °C: a slower start, a lower peak than the ale (3 W on days 1.5-4),
    a long tail, and a little more activity in the diacetyl rest; none after the crash."""
    day = t_s / DAY
    if day < 1.5:
        return 3.0 * day / 1.5
    if day < 4.0:
        return 3.0
    if day < 8.0:
        return 3.0 - 2.5 * (day - 4.0) / 4.0
    if day < 12.0:
        return 0.5
    return 0.0


def f3_profile() -> FermentationProfile:
    """F3: an ale pitched at 22 and held at 19 °C for 4 days; the faults come in the hold."""
    return FermentationProfile([Point(0, 19.0), Point(4, 19.0)])


def f3_faults() -> list[PlannedFault]:
    """Every fault of control.md's F3 in the hold, from 26 h on (past the pull-down's 24 h
    window, so their effect on the hold is measured), at least an hour apart.

    The two that the off-delay metrics time strike while the compressor runs past its min
    on (in the warm afternoon of day 2, when it runs long); the others while it runs;
    the reboot inside a min off. A second beer-probe loss waits for the heater, which runs
    only on the cool nights once the fermentation heat has faded (day 3-4)."""
    return [
        PlannedFault("lost", 26 * HOUR, probe="beer", for_s=600.0, when="cooling_past_min_on"),
        PlannedFault("host_silent", 28 * HOUR, for_s=600.0, when="cooling_past_min_on"),
        PlannedFault("reboot", 30 * HOUR, when="cool_min_off"),
        PlannedFault("lost", 32 * HOUR, probe="fridge", for_s=600.0, when="cooling"),
        PlannedFault("lost", 34 * HOUR, probe="room", for_s=600.0, when="cooling"),
        PlannedFault("stuck", 36 * HOUR, probe="beer", for_s=1800.0, when="cooling"),
        PlannedFault("spike85", 39 * HOUR, probe="beer", when="cooling"),
        PlannedFault("spike127", 41 * HOUR, probe="beer", when="cooling"),
        PlannedFault("door", 43 * HOUR, for_s=120.0, when="cooling"),
        PlannedFault("lost", 64 * HOUR, probe="beer", for_s=600.0, when="heating", wait_s=30 * HOUR),
    ]
