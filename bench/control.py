"""The control benchmark on the in-process simulated board (run by hand; no wall-clock
waiting). Each scenario prints one table with every metric, its gate and target, and
pass/fail, audited from the board's own pin-edge log (the physical bound of a pull-down is
in its note); exits non-zero when a gate fails.

    .venv/bin/python -m bench.control [--scenario F1 ...] [--days N] [--json]

No --scenario runs every registered one. Scenarios: F1 (ale), F1-hot and F1-cold (ambient
26 / 14 °C mean), F1-vigorous (15 W), F2 (lager), F3 (faults in a hold); M1 (step mash)
and M2 (single infusion in the kettle), which run until the mash schedule is done and
ignore --days. A new scenario is one more entry in SCENARIOS: a function from simulated
days to a `Recorded`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.control.chamber import FermenterTuning
from app.control.profiles import FermentationProfile, MashSchedule

from .audit import (
    FERMENTATION,
    HOST_SILENT,
    SENSOR_INVALID,
    FridgePhysics,
    MetricRow,
    Segment,
    Trace,
    audit,
    format_table,
    outputs_off_delay,
    rows_as_json,
)
from .mash_scenarios import (
    M2_DOUGH_IN,
    DoughIn,
    m1_schedule,
    m2_schedule,
    mash_physics,
    mash_trace,
    run_mash,
)
from .scenarios import (
    DAY,
    PlannedFault,
    f1_fermentation_heat_w,
    f1_profile,
    f2_fermentation_heat_w,
    f2_profile,
    f3_faults,
    f3_profile,
    run_fermentation,
)


@dataclass
class Recorded:
    """One scenario's audited run, plus what a reader needs besides the table."""

    rows: list[MetricRow]
    extra: dict[str, Any] = field(default_factory=dict)  # JSON-able
    lines: list[str] = field(default_factory=list)  # printed under the table


@dataclass(frozen=True)
class Scenario:
    summary: str
    days: float  # its length unless --days says otherwise
    record: Callable[[float], Recorded]


def segments_of(profile: FermentationProfile, end_s: float) -> list[Segment]:
    points = profile.points
    segments = []
    for a, b in zip(points, points[1:], strict=False):
        start, stop = a.offset_days * DAY, b.offset_days * DAY
        if stop <= start:
            continue
        kind = "hold" if a.temperature_c == b.temperature_c else "ramp"
        segments.append(Segment(start, stop, kind, a.temperature_c, b.temperature_c))
    last = points[-1]
    if last.offset_days * DAY < end_s:
        segments.append(
            Segment(last.offset_days * DAY, end_s, "hold", last.temperature_c, last.temperature_c)
        )
    return segments


def _fault_lines(trace: Trace) -> tuple[list[str], list[dict[str, Any]]]:
    """One line per injected fault, with its own off delay where it has one."""
    lines, records = [], []
    for fault in trace.faults:
        record: dict[str, Any] = {
            "kind": fault.kind,
            "start_s": fault.start_s,
            "end_s": fault.end_s,
            "note": fault.note,
        }
        text = f"  t={fault.start_s / 3600:7.2f} h  {fault.kind:<18} {fault.note}"
        if fault.kind in (SENSOR_INVALID, HOST_SILENT):
            alone = outputs_off_delay(replace(trace, faults=[fault]), fault.kind)
            never = alone.value is not None and not math.isfinite(alone.value)
            record["off_delay_s"] = None if never else alone.value
            record["never_off"] = never
            delay = "n/a" if alone.value is None else f"{alone.value:.1f} s"
            text += f"; outputs off after {delay} ({alone.note})"
        lines.append(text)
        records.append(record)
    return lines, records


def fermentation(
    profile: Callable[[], FermentationProfile],
    heat_w: Callable[[float], float],
    *,
    initial_beer_c: float,
    plant: dict[str, Any] | None = None,
    faults: Callable[[], Sequence[PlannedFault]] = tuple,
) -> Callable[[float], Recorded]:
    """A fermentation scenario on the simulated fridge, audited as such."""

    def record(days: float) -> Recorded:
        chosen = profile()
        planned = list(faults())
        recorded = run_fermentation(
            chosen,
            days,
            fermentation_w=heat_w,
            plant_params={"initial_beer_c": initial_beer_c, **(plant or {})},
            faults=planned,
        )
        trace = recorded.trace(segments_of(chosen, days * DAY))
        assert trace.limits.cool_min_on_s == FermenterTuning().cool_min_on_s
        rows = audit(trace, FERMENTATION, fridge=FridgePhysics())
        extra: dict[str, Any] = {"refusals": recorded.refusals, "reboots_seen": recorded.reboots_seen}
        lines = []
        if recorded.faults:
            fault_lines, extra["faults"] = _fault_lines(trace)
            lines = ["faults injected:", *fault_lines]
            lines.append(
                f"board refusals of host commands: {recorded.refusals}; "
                f"reboots the host noticed and re-armed after: {recorded.reboots_seen}"
            )
        if len(recorded.faults) < len(planned):
            missed = len(planned) - len(recorded.faults)
            extra["faults_not_reached"] = missed
            lines.append(f"{missed} planned fault(s) not reached in {days:g} days")
        return Recorded(rows, extra, lines)

    return record


def _vigorous(t: float) -> float:
    return 3 * f1_fermentation_heat_w(t)


SCENARIOS: dict[str, Scenario] = {
    "F1": Scenario(
        "ale: 22 → 19 °C hold, +2 °C over 24 h, 21 °C, crash to 4 °C",
        8.0,
        fermentation(f1_profile, f1_fermentation_heat_w, initial_beer_c=22.0),
    ),
    "F1-hot": Scenario(
        "F1 in a 26 ± 4 °C room",
        8.0,
        fermentation(f1_profile, f1_fermentation_heat_w, initial_beer_c=22.0, plant={"ambient_mean_c": 26.0}),
    ),
    "F1-cold": Scenario(
        "F1 in a 14 ± 4 °C room",
        8.0,
        fermentation(f1_profile, f1_fermentation_heat_w, initial_beer_c=22.0, plant={"ambient_mean_c": 14.0}),
    ),
    "F1-vigorous": Scenario(
        "F1 with 15 W of fermentation heat at its peak",
        8.0,
        fermentation(f1_profile, _vigorous, initial_beer_c=22.0),
    ),
    "F2": Scenario(
        "lager: pitch 12, 10 °C 7 d, ramp to 16 °C over 3 d, 16 °C 2 d, crash to 1 °C 3 d",
        15.0,
        fermentation(f2_profile, f2_fermentation_heat_w, initial_beer_c=12.0),
    ),
    "F3": Scenario(
        "faults in an ale's 19 °C hold: each probe lost 10 min, stuck, spikes, door, "
        "host silent 10 min, reboot in min off",
        4.0,
        fermentation(f3_profile, f1_fermentation_heat_w, initial_beer_c=22.0, faults=f3_faults),
    ),
}


def mash(
    schedule: Callable[[], MashSchedule], plant: str, dough_in: DoughIn | None
) -> Callable[[float], Recorded]:
    """A mash scenario on the simulated kettle, run until its schedule is done."""

    def record(_days: float) -> Recorded:
        recorded = run_mash(schedule(), plant=plant, dough_in=dough_in)
        if not recorded.done:
            raise RuntimeError("the mash schedule did not finish in the time allowed")
        rows = audit(mash_trace(recorded), "mash", mash=mash_physics(recorded))
        hours = recorded.end_s / 3600
        return Recorded(
            rows, {"simulated_h": round(hours, 2)}, [f"  the schedule took {hours:.2f} simulated hours"]
        )

    return record


SCENARIOS.update(
    {
        "M1": Scenario("step mash 52/65/72/78 °C in the mash tun", 0.0, mash(m1_schedule, "mash", None)),
        "M2": Scenario(
            "single infusion: strike 72 °C, dough-in 5 kg at 20 °C, 66 °C 60 min, mash out 78 °C 10 min",
            0.0,
            mash(m2_schedule, "kettle", M2_DOUGH_IN),
        ),
    }
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--scenario", action="append", choices=list(SCENARIOS), help="repeatable; default: all"
    )
    parser.add_argument("--days", type=float, help="simulated days (default: each scenario's own)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="log the host's and board's warnings")
    args = parser.parse_args(argv)
    # the faults make the host and board warn; the table already tells what happened
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR, format="%(message)s")
    failed = False
    results = {}
    for name in args.scenario or list(SCENARIOS):
        scenario = SCENARIOS[name]
        days = args.days or scenario.days
        started = time.perf_counter()
        recorded = scenario.record(days)
        wall = time.perf_counter() - started
        failed |= any(not row.passed_gate for row in recorded.rows)
        results[name] = {
            "summary": scenario.summary,
            "wall_s": round(wall, 1),
            "days": days,
            "rows": rows_as_json(recorded.rows),
            **recorded.extra,
        }
        if not args.json:
            length = f"{days:g} simulated days" if scenario.days else "its whole schedule"
            print(f"== {name} ({scenario.summary}): {length} in {wall:.0f} s of wall time")
            print(format_table(recorded.rows))
            for line in recorded.lines:
                print(line)
            print(flush=True)
    if args.json:
        print(json.dumps(results, indent=2, allow_nan=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
