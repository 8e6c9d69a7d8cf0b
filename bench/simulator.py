"""How fast a simulated week runs, from the plant alone up to the shipped control tick
(run by hand).

    .venv/bin/python -m bench.simulator [--days 7]

Baseline, measured in the same run: the fridge plant alone, stepped at 1 s. Then the
simulated board (plant, three probes, firmware timers) advanced 1 s at a time and read
with a raw `t` line every second; then the F1 ale profile through the shipped tick
(`bench.virtual_host.VirtualHost`: `ControllerTick`, the shipped `BoardDriver` and the
protocol, on the virtual clock), which is what `bench.control` and the Debugger's
simulations run. Prints wall and CPU seconds, simulated seconds per wall second, the
ratio of each to the baseline, and the shipped tick against its target (a week in 20 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from devices.simulator.board import SimulatedBoard
from devices.simulator.plant import make_plant
from devices.simulator.probes import rom_for

from .scenarios import f1_profile, run_fermentation

TARGET_WEEK_S = 20.0  # issue 10: 7 simulated days of F1 through the shipped tick


def plant_alone(seconds: int) -> None:
    plant = make_plant("fridge", seed=1)
    for _ in range(seconds):
        plant.step(1.0, heat=False, cool=True)


def board_read_each_second(seconds: int) -> None:
    board = SimulatedBoard("fridge", seed=1)
    for slot, probe in enumerate(("beer", "fridge", "room"), start=1):
        board.handle(
            b'c{"slot":%d,"kind":"sensor","onewire":"%s","offset":0}' % (slot, rom_for(probe).encode())
        )
    board.handle(
        b'c{"slot":4,"kind":"output","pin":5,"invert":false,"min_on_s":180,"min_off_s":300,'
        b'"group":1,"dead_s":600}'
    )
    for second in range(seconds):
        board.advance(1.0)
        board.handle(b"t")
        if second % 1200 == 0:
            board.handle(b'o{"slot":4,"on":%s}' % (b"true" if (second // 1200) % 2 else b"false"))


def shipped_tick(seconds: int) -> None:
    run_fermentation(f1_profile(), seconds / 86400)


def timed(run: Callable[[int], None], seconds: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run(seconds)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=7.0)
    args = parser.parse_args()
    seconds = int(args.days * 86400)
    rows = [
        ("plant alone (baseline)", timed(plant_alone, seconds)),
        ("board + probes + firmware, raw t/s", timed(board_read_each_second, seconds)),
        ("F1 through the shipped tick", timed(shipped_tick, seconds)),
    ]
    baseline = rows[0][1][0]
    print(f"{args.days:g} simulated days ({seconds:,} s, one tick a simulated second)")
    header = ("wall s", 8), ("cpu s", 8), ("sim s / wall s", 15), ("ratio to plant", 15), ("µs/tick", 8)
    print(f"{'run':36} " + " ".join(f"{name:>{width}}" for name, width in header))
    for name, (wall, cpu) in rows:
        print(
            f"{name:36} {wall:8.2f} {cpu:8.2f} {seconds / wall:15,.0f} {wall / baseline:15.2f}"
            f" {wall / seconds * 1e6:8.1f}"
        )
    week_s = rows[2][1][0] / args.days * 7
    ok = week_s <= TARGET_WEEK_S
    print(f"shipped tick: a week in {week_s:.1f} s, target ≤ {TARGET_WEEK_S:g} s: {'pass' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
