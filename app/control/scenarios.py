"""Control scenarios on the in-process simulated board, on a virtual clock (no waiting).

The host side here is what the control loop does each tick — read the board with `t`,
validate the sensors, take the profile's setpoint, run the chamber controller, send `o`
commands, feed the dead-man — talking board-protocol lines to a `SimulatedBoard`, so the
board's own rules apply and every relay edge lands in its audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from devices.protocol import encode
from devices.simulator.board import SimulatedBoard
from devices.simulator.probes import rom_for

from .chamber import FermenterControl, FermenterTuning
from .profiles import FermentationProfile, Point
from .sensors import SensorValidator

DAY = 86400.0
COOL_SLOT, HEAT_SLOT = 4, 5
PINS = {"cool": 5, "heat": 6}


@dataclass
class Run:
    """What a scenario recorded: samples every `sample_s`, and the board's relay edges."""

    sample_s: float
    t: list[float] = field(default_factory=list)
    beer_c: list[float] = field(default_factory=list)
    air_c: list[float] = field(default_factory=list)
    setpoint_c: list[float | None] = field(default_factory=list)
    edges: list[tuple[float, str, bool]] = field(default_factory=list)
    refusals: int = 0


def _send(board: SimulatedBoard, letter: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One command to the board; its reply's body (RuntimeError on an E: reply)."""
    for reply in board.handle(encode(letter, body).rstrip(b"\n")):
        if reply[:2] == b"E:":
            raise RuntimeError(f"board refused {letter} {body}: {reply!r}")
        if reply[:1] == letter.upper().encode():
            return json.loads(reply[2:])
    return {}


def _output(slot: int, pin: int, min_on_s: float, min_off_s: float, dead_s: float) -> dict[str, Any]:
    return {
        "slot": slot,
        "kind": "output",
        "pin": pin,
        "invert": False,
        "min_on_s": int(min_on_s),
        "min_off_s": int(min_off_s),
        "group": 1,
        "dead_s": int(dead_s),
    }


def configure(board: SimulatedBoard, tuning: FermenterTuning) -> None:
    for slot, probe in ((1, "beer"), (2, "fridge"), (3, "room")):
        _send(board, "c", {"slot": slot, "kind": "sensor", "onewire": rom_for(probe), "offset": 0})
    _send(
        board,
        "c",
        _output(COOL_SLOT, PINS["cool"], tuning.cool_min_on_s, tuning.cool_min_off_s, tuning.dead_s),
    )
    _send(
        board,
        "c",
        _output(HEAT_SLOT, PINS["heat"], tuning.heat_min_on_s, tuning.heat_min_off_s, tuning.dead_s),
    )
    _send(board, "w", {"s": 30})


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
) -> Run:
    tuning = tuning or FermenterTuning()
    board = SimulatedBoard("fridge", seed=seed, fermentation_w=fermentation_w, **(plant_params or {}))
    configure(board, tuning)
    control = FermenterControl(tuning, boot_time=board.clock.now)
    beer_check, fridge_check, room_check = SensorValidator(), SensorValidator(), SensorValidator()
    run = Run(sample_s)
    start = board.clock.now
    next_sample = start
    board_on = {"heat": False, "cool": False}
    ticks = 0
    while board.clock.now - start < days * DAY:
        board.advance(tick_s)
        now = board.clock.now
        reading = _send(board, "t")
        values = reading.get("s", {})
        beer = beer_check.update(values.get("1"), now)
        fridge = fridge_check.update(values.get("2"), now)
        room = room_check.update(values.get("3"), now)
        setpoint = profile.setpoint_at(now - start)
        mode = "beer" if setpoint is not None else "off"
        decision = control.tick(now, mode, setpoint, None, beer, fridge, room)
        wanted = (("cool", COOL_SLOT, decision.cool_on), ("heat", HEAT_SLOT, decision.heat_on))
        for name, slot, want in wanted:
            if want != board_on[name]:
                state = _send(board, "o", {"slot": slot, "on": want})
                board_on[name] = bool(state.get("on"))
                if board_on[name] != want:
                    run.refusals += 1
        control.board_state(board_on["heat"], board_on["cool"], now)
        ticks += 1
        if ticks % 10 == 0:
            _send(board, "w", {"s": 30})
        if now >= next_sample:
            temperatures = board.plant.temperatures()
            run.t.append(now - start)
            run.beer_c.append(temperatures["beer"])
            run.air_c.append(temperatures["fridge"])
            run.setpoint_c.append(setpoint)
            next_sample += sample_s
    pins = {pin: name for name, pin in PINS.items()}
    run.edges = [
        (edge.t - start, pins[edge.pin], edge.on) for edge in board.firmware.edges if edge.pin in pins
    ]
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
