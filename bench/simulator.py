"""How fast the in-process simulator runs a week of plant time (run by hand).

    .venv/bin/python bench/simulator.py [--days 7]

Baseline, measured in the same run: the fridge plant alone, stepped at 1 s. Then the
whole simulated board (plant, three probes, firmware timers) advanced 1 s at a time with
a host reading `t` every second, as the control loop will. Prints wall seconds, simulated
seconds per wall second, and the ratio of each to the baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devices.simulator.board import SimulatedBoard  # noqa: E402
from devices.simulator.plant import make_plant  # noqa: E402
from devices.simulator.probes import rom_for  # noqa: E402


def plant_alone(seconds: int) -> float:
    plant = make_plant("fridge", seed=1)
    started = time.perf_counter()
    for _ in range(seconds):
        plant.step(1.0, heat=False, cool=True)
    return time.perf_counter() - started


def board_with_host(seconds: int) -> float:
    board = SimulatedBoard("fridge", seed=1)
    for slot, probe in enumerate(("beer", "fridge", "room"), start=1):
        board.handle(
            b'c{"slot":%d,"kind":"sensor","onewire":"%s","offset":0}' % (slot, rom_for(probe).encode())
        )
    board.handle(
        b'c{"slot":4,"kind":"output","pin":5,"invert":false,"min_on_s":180,"min_off_s":300,'
        b'"group":1,"dead_s":600}'
    )
    started = time.perf_counter()
    for second in range(seconds):
        board.advance(1.0)
        board.handle(b"t")
        if second % 1200 == 0:
            board.handle(b'o{"slot":4,"on":%s}' % (b"true" if (second // 1200) % 2 else b"false"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=7.0)
    args = parser.parse_args()
    seconds = int(args.days * 86400)
    baseline = plant_alone(seconds)
    board = board_with_host(seconds)
    print(f"{args.days:g} simulated days ({seconds:,} s)")
    print(f"{'run':36} {'wall s':>8} {'sim s / wall s':>15} {'ratio to plant':>15}")
    for name, wall in (("plant alone (baseline)", baseline), ("board + probes + firmware + host t/s", board)):
        print(f"{name:36} {wall:8.2f} {seconds / wall:15,.0f} {wall / baseline:15.2f}")


if __name__ == "__main__":
    main()
