"""A board that restarts without its `B:` line (a watchdog reset whose line was lost on the
wire) inside the compressor's min off, on the virtual clock through the shipped tick and
driver. Nothing tells the host of that boot but the board's uptime, so only the tick's
uptime check (`ControllerTick._check_reboot`) can find it, and only the chamber's re-arm
(`ChamberRuntime.board_rebooted`) makes the host count min off and dead time from it.

The same run is then repeated with each of those two broken, to show this test is what
catches it: the brewer would see no log line, and a compressor the board refused and that
came back minutes late."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from app.control.chamber import FermenterTuning
from app.control.profiles import FermentationProfile, Point
from app.control.runtime import ChamberRuntime
from app.control.tick import UPTIME_CHECK_TICKS, ControllerTick
from bench.audit import BOARD_REBOOT
from bench.scenarios import HOUR, PlannedFault, Run, run_fermentation

SETPOINT = 19.0
TUNING = FermenterTuning()
# 30 s ... min off - 30 s after the compressor went off; the `B:` line never arrives
SILENT_REBOOT = PlannedFault("reboot", 0.2 * HOUR, when="cool_min_off", announce=False)
NOTICED = re.compile(r"restarted without a B: line \(uptime (\d+) s\)")
# The compressor runs long in this room: re-armed, it starts the tick the board allows it.
RESTART_SLACK_S = 30.0


def run_silent_reboot() -> Run:
    """A 19 °C hold in a 26 °C room with 5 W of fermentation heat, so the compressor wants
    to start again the moment it may."""
    return run_fermentation(
        FermentationProfile([Point(0, SETPOINT), Point(1, SETPOINT)]),
        0.6 / 24,
        fermentation_w=5.0,
        plant_params={"initial_beer_c": SETPOINT, "ambient_mean_c": 26.0},
        faults=[SILENT_REBOOT],
        fault_separation_s=600.0,
    )


def boot_of(run: Run) -> float:
    [boot] = [fault.start_s for fault in run.faults if fault.kind == BOARD_REBOOT]
    return boot


def symptoms(run: Run) -> set[str]:
    """What a brewer would find wrong after the silent reboot; empty when the host got it."""
    boot = boot_of(run)
    found: set[str] = set()
    noticed = [
        int(match.group(1))
        for source, level, text in run.logs
        if source == "controller/1" and level == "warning" and (match := NOTICED.search(text))
    ]
    # found at the first uptime check after the boot (one tick a second here)
    if len(noticed) != 1 or noticed[0] > UPTIME_CHECK_TICKS + 2:
        found.add("no log line says the board restarted")
    if run.reboots_seen != 1:
        found.add("the host did not re-arm after the reboot")
    if run.refusals:
        found.add("the host commanded an output the board refused")
    # A boot counts as every relay just switched off, so the compressor waits out the
    # heat/cool dead time from the boot (it outlasts min off), and not a minute more.
    starts = [t for t, output, on in run.edges if on and t > boot]
    first = starts[0] if starts else None
    cool_start = next((t for t, output, on in run.edges if output == "cool" and on and t > boot), None)
    if first is None or first != cool_start or first < boot + TUNING.dead_s:
        found.add("an output came on within the dead time of the boot")
    elif first > boot + TUNING.dead_s + RESTART_SLACK_S:
        found.add("the compressor came back late")
    return found


def test_a_silent_reboot_inside_min_off_is_found_and_the_relays_count_from_the_boot() -> None:
    run = run_silent_reboot()
    boot = boot_of(run)
    last_off = max(t for t, output, on in run.edges if output == "cool" and not on and t <= boot)
    assert 0 < boot - last_off < TUNING.cool_min_off_s  # it struck inside the compressor's min off
    # silent: the host never heard a `B:` line (it would have logged "boot watchdog")
    assert not [text for _, _, text in run.logs if ": boot " in text]
    assert symptoms(run) == set()


async def _uptime_never_checked(self: ControllerTick, now: float) -> None:
    return None


def _never_rearmed(self: ChamberRuntime, boot_at: float, now: float) -> None:
    return None


@pytest.mark.parametrize(
    ("target", "name", "mutant", "expected"),
    [
        pytest.param(
            ControllerTick,
            "_check_reboot",
            _uptime_never_checked,
            {
                "no log line says the board restarted",
                "the host did not re-arm after the reboot",
                "the host commanded an output the board refused",
                "the compressor came back late",
            },
            id="reboot-detection-broken",
        ),
        pytest.param(
            ChamberRuntime,
            "board_rebooted",
            _never_rearmed,
            {"the host commanded an output the board refused", "the compressor came back late"},
            id="rearm-broken",
        ),
    ],
)
def test_the_silent_reboot_test_fails_when_the_server_path_is_broken(
    monkeypatch: pytest.MonkeyPatch, target: type, name: str, mutant: Callable[..., Any], expected: set[str]
) -> None:
    monkeypatch.setattr(target, name, mutant)
    # each of these alone fails the test above
    assert expected <= symptoms(run_silent_reboot())
