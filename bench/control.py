"""The control benchmark on the in-process simulated board (run by hand; no wall-clock
waiting). Each scenario prints one table with every metric, its gate and target, and
pass/fail, audited from the board's own pin-edge log; exits non-zero when a gate fails.

    .venv/bin/python bench/control.py [--scenario F1 ...] [--days N] [--json]

Scenarios so far: F1 (ale), F1-hot and F1-cold (ambient 26 / 14 °C mean), F1-vigorous
(15 W); M1 (step mash) and M2 (single infusion in the kettle), which run until the mash
schedule is done and ignore --days. F2 and F3 come with the rest of the control loop.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.control.audit import (  # noqa: E402
    FridgePhysics,
    Segment,
    Trace,
    audit,
    format_table,
    rows_as_json,
)
from app.control.chamber import FermenterTuning  # noqa: E402
from app.control.mash_scenarios import (  # noqa: E402
    M2_DOUGH_IN,
    m1_schedule,
    m2_schedule,
    mash_physics,
    mash_trace,
    run_mash,
)
from app.control.profiles import FermentationProfile  # noqa: E402
from app.control.scenarios import DAY, f1_fermentation_heat_w, f1_profile, run_fermentation  # noqa: E402


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


SCENARIOS = {
    "F1": {"fermentation_w": f1_fermentation_heat_w, "plant": {}},
    "F1-hot": {"fermentation_w": f1_fermentation_heat_w, "plant": {"ambient_mean_c": 26.0}},
    "F1-cold": {"fermentation_w": f1_fermentation_heat_w, "plant": {"ambient_mean_c": 14.0}},
    "F1-vigorous": {"fermentation_w": lambda t: 3 * f1_fermentation_heat_w(t), "plant": {}},
}


def run(name: str, days: float) -> tuple[list, float]:
    spec = SCENARIOS[name]
    profile = f1_profile()
    started = time.perf_counter()
    recorded = run_fermentation(
        profile,
        days,
        fermentation_w=spec["fermentation_w"],
        plant_params={"initial_beer_c": 22.0, **spec["plant"]},
    )
    wall = time.perf_counter() - started
    tuning = FermenterTuning()
    trace = Trace(
        dt_s=recorded.sample_s,
        t=recorded.t,
        beer_c=recorded.beer_c,
        setpoint_c=recorded.setpoint_c,
        edges=recorded.edges,
        segments=segments_of(profile, days * DAY),
    )
    assert trace.limits.cool_min_on_s == tuning.cool_min_on_s
    return audit(trace, "fermentation", fridge=FridgePhysics()), wall


# -- mash scenarios (M1, M2): their own registry, so fermentation entries merge beside it --

MASH_SCENARIOS = {
    "M1": {"schedule": m1_schedule, "plant": "mash", "dough_in": None},
    "M2": {"schedule": m2_schedule, "plant": "kettle", "dough_in": M2_DOUGH_IN},
}


def run_mash_scenario(name: str) -> tuple[list, float, float]:
    """(rows, wall seconds, simulated seconds) of one mash scenario, run to its end."""
    spec = MASH_SCENARIOS[name]
    started = time.perf_counter()
    recorded = run_mash(spec["schedule"](), plant=spec["plant"], dough_in=spec["dough_in"])
    wall = time.perf_counter() - started
    if not recorded.done:
        raise RuntimeError(f"{name}: the mash schedule did not finish in the time allowed")
    return audit(mash_trace(recorded), "mash", mash=mash_physics(recorded)), wall, recorded.end_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS) + sorted(MASH_SCENARIOS))
    parser.add_argument("--days", type=float, default=8.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    failed = False
    results = {}
    for name in args.scenario or ["F1"]:
        if name in MASH_SCENARIOS:
            rows, wall, simulated_s = run_mash_scenario(name)
            days = simulated_s / DAY
        else:
            rows, wall = run(name, args.days)
            days = args.days
        failed |= any(not row.passed_gate for row in rows)
        results[name] = {"wall_s": round(wall, 1), "days": days, "rows": rows_as_json(rows)}
        if not args.json:
            print(f"== {name}: {days * 24:.1f} simulated hours in {wall:.1f} s of wall time")
            print(format_table(rows))
            print()
    if args.json:
        print(json.dumps(results, indent=2, allow_nan=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
