"""Mash scenarios: the shipped control tick for a mash tun or kettle on the in-process
simulated kettle board, on a virtual clock (no waiting), through the shipped driver and
board protocol (`VirtualHost`). The chamber runs the mash profile as in the server; a
scripted brewer confirms "wait for confirm" steps after a delay (as the REST API's
`confirm` command does), and a dough-in stirs grain into the kettle when its step is
confirmed.

Kept apart from `scenarios.py` (the fermenter's) so each module stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.control.profiles import MashRun, MashSchedule, Step
from devices.simulator.board import SimulatedBoard
from devices.simulator.plant import KettlePlant

from .audit import Fault, MashPhysics, RelayLimits, Segment, Trace
from .virtual_host import EPOCH, KETTLE_HEAT_PIN, VirtualHost, kettle_rows, run_async

GRAIN_SPECIFIC_HEAT_J_PER_KG_K = 1700.0


@dataclass(frozen=True)
class DoughIn:
    """Grain stirred in when the brewer confirms the step named `step`."""

    step: str
    grain_kg: float = 5.0
    grain_c: float = 20.0


@dataclass
class StepRecord:
    """When one step ran, in seconds from the start: `started_s` when the run entered it,
    `confirmed_s` when the brewer confirmed it (confirm steps), `hold_started_s` when the
    vessel first reached it, `ended_s` when its hold was over (None: the run ended first)."""

    index: int
    step: Step
    started_s: float
    confirmed_s: float | None = None
    hold_started_s: float | None = None
    ended_s: float | None = None


@dataclass
class MashRecord:
    """What a mash run recorded: samples every `sample_s` of the TRUE vessel temperature,
    the setpoint and the step, each step's times, and the board's relay edges."""

    schedule: MashSchedule
    sample_s: float
    limits: RelayLimits
    t: list[float] = field(default_factory=list)
    vessel_c: list[float] = field(default_factory=list)
    setpoint_c: list[float | None] = field(default_factory=list)
    step_index: list[int] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    edges: list[tuple[float, str, bool]] = field(default_factory=list)
    dough_in_s: float | None = None
    capacity_before_j_per_k: float = 0.0
    capacity_after_j_per_k: float = 0.0
    end_s: float = 0.0
    done: bool = False
    refusals: int = 0


def run_mash(
    schedule: MashSchedule,
    *,
    plant: str = "mash",
    seed: int = 1,
    tuning: dict[str, float] | None = None,
    plant_params: dict[str, float] | None = None,
    confirm_after_s: float = 300.0,
    dough_in: DoughIn | None = None,
    tick_s: float = 1.0,
    sample_s: float = 1.0,
    max_s: float = 6 * 3600.0,
    on_tick: Callable[[SimulatedBoard, float], None] | None = None,
) -> MashRecord:
    """Run `schedule` on a simulated `plant` ("mash": grain already in; "kettle": water,
    dough in with `dough_in`) until the schedule is done or `max_s` has passed; `tuning`
    holds the chamber's tuning entries (VesselTuning names).

    A confirm step is confirmed `confirm_after_s` after it started waiting (the brewer
    took that long to stir in the grain). `on_tick(board, t)` is called every tick before
    the read, for injecting faults.
    """
    return run_async(
        _run_mash(
            schedule,
            plant,
            seed,
            tuning or {},
            plant_params or {},
            confirm_after_s,
            dough_in,
            tick_s,
            sample_s,
            max_s,
            on_tick,
        )
    )


async def _run_mash(
    schedule: MashSchedule,
    plant: str,
    seed: int,
    tuning: dict[str, float],
    plant_params: dict[str, float],
    confirm_after_s: float,
    dough_in: DoughIn | None,
    tick_s: float,
    sample_s: float,
    max_s: float,
    on_tick: Callable[[SimulatedBoard, float], None] | None,
) -> MashRecord:
    board = SimulatedBoard(plant, seed=seed, **plant_params)
    kettle = board.plant
    assert isinstance(kettle, KettlePlant)
    row, profile = kettle_rows(schedule.steps, "mash" if plant == "mash" else "kettle", tuning, EPOCH)
    host = VirtualHost(board, row, profile, tick_s)
    await host.connect()
    vessel_tuning = host.chamber.control.tuning
    start = board.clock.now
    record = MashRecord(
        schedule,
        sample_s,
        RelayLimits(heat_min_on_s=vessel_tuning.min_on_s, heat_min_off_s=vessel_tuning.min_off_s, dead_s=0.0),
        capacity_before_j_per_k=kettle.capacity_j_per_k,
        capacity_after_j_per_k=kettle.capacity_j_per_k,
    )
    next_sample = start
    waiting_since: float | None = None

    def before_tick(now: float) -> None:
        if on_tick is not None:
            on_tick(board, now - start)

    while board.clock.now - start < max_s:
        await host.step(tick_s, before_tick)
        now = board.clock.now
        mash = host.chamber.mash
        assert mash is not None, "the mash run did not start"
        _note_step(record, mash, now - start)
        progress = host.chamber.progress or {}
        if progress.get("phase") == "waiting_confirm":
            waiting_since = now if waiting_since is None else waiting_since
            if now - waiting_since >= confirm_after_s:
                step = mash.step
                assert step is not None
                host.command("confirm")  # as the brewer's tap reaches the API
                record.steps[-1].confirmed_s = now - start
                if dough_in is not None and step.name == dough_in.step:
                    kettle.add_mass(dough_in.grain_kg, dough_in.grain_c, GRAIN_SPECIFIC_HEAT_J_PER_KG_K)
                    record.dough_in_s = now - start
                    record.capacity_after_j_per_k = kettle.capacity_j_per_k
                waiting_since = None
        if now >= next_sample:
            record.t.append(now - start)
            record.vessel_c.append(kettle.vessel_temp_c)
            record.setpoint_c.append(host.chamber.setpoint_c)
            record.step_index.append(mash.step_index)
            next_sample += sample_s
        if mash.done:
            record.done = True
            break
    await host.close()
    record.end_s = board.clock.now - start
    record.refusals = host.tick.refusals
    record.edges = [
        (edge.t - start, "heat", edge.on) for edge in board.firmware.edges if edge.pin == KETTLE_HEAT_PIN
    ]
    return record


def _note_step(record: MashRecord, mash: MashRun, t: float) -> None:
    """Keep `record.steps` in line with the run: a new entry when it enters a step."""
    if record.steps and record.steps[-1].index != mash.step_index and record.steps[-1].ended_s is None:
        record.steps[-1].ended_s = t
    if mash.step is not None and (not record.steps or record.steps[-1].index != mash.step_index):
        record.steps.append(StepRecord(mash.step_index, mash.step, t))
    if record.steps and mash.hold_started_at is not None and record.steps[-1].hold_started_s is None:
        record.steps[-1].hold_started_s = t


def mash_segments(record: MashRecord) -> list[Segment]:
    """The profile as the audit reads it: each step a hold at its temperature from when it
    started (or was confirmed) to the end of its hold; a confirm step waits at the previous
    step's temperature (control off before the first step)."""
    segments = []
    previous_c: float | None = None
    for entry in record.steps:
        end = record.end_s if entry.ended_s is None else entry.ended_s
        begin = entry.started_s
        if entry.confirmed_s is not None:
            if previous_c is None:
                segments.append(Segment(begin, entry.confirmed_s, "off"))
            else:
                segments.append(Segment(begin, entry.confirmed_s, "hold", previous_c, previous_c))
            begin = entry.confirmed_s
        temperature = entry.step.temperature_c
        segments.append(Segment(begin, end, "hold", temperature, temperature))
        previous_c = temperature
    return segments


def mash_trace(record: MashRecord, faults: list[Fault] | None = None) -> Trace:
    """The audit's view of a mash run (true vessel temperature, board edges, step holds)."""
    return Trace(
        dt_s=record.sample_s,
        t=record.t,
        beer_c=record.vessel_c,
        setpoint_c=record.setpoint_c,
        edges=record.edges,
        limits=record.limits,
        segments=mash_segments(record),
        faults=list(faults or []),
    )


def mash_physics(
    record: MashRecord, element_w: float = 3500.0, ua_w_per_k: float = 10.0
) -> Callable[[Segment], MashPhysics]:
    """The full-power bound's physics per step: the vessel's capacity before or after dough-in."""

    def physics(segment: Segment) -> MashPhysics:
        after = record.dough_in_s is not None and segment.start_s >= record.dough_in_s
        capacity = record.capacity_after_j_per_k if after else record.capacity_before_j_per_k
        return MashPhysics(capacity_j_per_k=capacity, heater_w=element_w, ua_w_per_k=ua_w_per_k)

    return physics


def m1_schedule() -> MashSchedule:
    """M1 step mash: protein rest 52, saccharification 65, dextrins 72, mash out 78 °C."""
    return MashSchedule(
        [
            Step("protein rest", 52.0, 15),
            Step("saccharification", 65.0, 45),
            Step("dextrinization", 72.0, 20),
            Step("mash out", 78.0, 10),
        ]
    )


def m2_schedule() -> MashSchedule:
    """M2 single infusion in the kettle: strike water to 72 °C, the brewer confirms dough-in,
    rest at 66 °C for 60 min, mash out at 78 °C for 10 min."""
    return MashSchedule(
        [
            Step("strike", 72.0, 0),
            Step("dough-in", 66.0, 60, confirm=True),
            Step("mash out", 78.0, 10),
        ]
    )


M2_DOUGH_IN = DoughIn("dough-in", grain_kg=5.0, grain_c=20.0)
