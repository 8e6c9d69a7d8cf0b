"""A whole simulated board in-process: plant + probes + simulated firmware on a virtual clock.

The host talks to it with board-protocol lines exactly as to real hardware, so the host
controller cannot cheat; the firmware enforces every board rule and records every pin
edge. `advance(seconds)` runs the plant and the firmware's timers, so a week of simulated
time takes seconds of wall time.

Simulator-only commands (never sent to real boards), answered `X:{...}`:
`x{"fault": ..., ...}` injects a fault (see FAULTS); `x{"switch": ..., "active": ...}`
opens or closes one of the board's switches (see SWITCH_PINS and `set_switch`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

from ..protocol import BadLine, encode, parse_line
from .firmware import SimulatedFirmware
from .plant import FridgePlant, make_plant
from .probes import SimulatedProbe, rom_for

log = logging.getLogger(__name__)

STEP_S = 1.0  # plant integration step (explicit Euler at 1 s, control.md)
FREE_PINS = [2, 3, 4, 5, 6, 7, 8, 9]

# Which relay pin drives which plant input, and which probes each plant carries. The fridge's
# fan (pin 4) moves air only: the plant has no term for it, its relay edges are recorded.
WIRING: dict[str, dict[str, Any]] = {
    "fridge": {"outputs": {"cool": 5, "heat": 6, "fan": 4}, "probes": ["beer", "fridge", "room"]},
    "mash": {"outputs": {"heat": 6}, "probes": ["vessel", "room"]},
    "kettle": {"outputs": {"heat": 6}, "probes": ["vessel", "room"]},
}

FAULTS = ("disconnect", "crc", "stuck", "spike85", "spike127", "door", "reboot", "unplug")

# The switches every simulated board has, by the device function that reads them, and the
# pin each one closes to GND while active (so the host configures them with invert false):
# a door contact (active = door open), a high-level float switch (active = level high) and
# a flame sensor (active = pilot lit). At rest the door is shut, the level low, the pilot lit.
SWITCH_PINS = {"door": 7, "level_high": 8, "pilot_light": 9}
RESTING = {"door": False, "level_high": False, "pilot_light": True}


class VirtualClock:
    """Seconds since the simulation began; only `advance` moves it."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class SimulatedBoard:
    def __init__(
        self,
        plant: str = "fridge",
        seed: int = 0,
        clock: VirtualClock | None = None,
        on_unplug: Callable[[float], None] | None = None,
        **plant_params: Any,
    ) -> None:
        if plant not in WIRING:
            raise ValueError(f"plant must be one of {', '.join(WIRING)}")
        self.kind = plant
        self.clock = clock or VirtualClock()
        self.plant = make_plant(plant, seed=seed, **plant_params)
        wiring = WIRING[plant]
        self.output_pins: dict[str, int] = dict(wiring["outputs"])
        self.probes = {
            name: SimulatedProbe(rom_for(name), name, seed=seed * 31 + index)
            for index, name in enumerate(wiring["probes"])
        }
        self._by_rom = {probe.rom: probe for probe in self.probes.values()}
        self._switched: dict[str, float] = {}  # switch -> until when (clock) it is off its rest
        self.firmware = SimulatedFirmware(
            self.clock,
            self._read_rom,
            [probe.rom for probe in self.probes.values()],
            FREE_PINS,
            board="sim",
            read_pin=self._read_pin,
        )
        self._on_unplug = on_unplug
        self._since_step = 0.0
        self.outbox: list[bytes] = list(self.firmware.boot("power"))

    # -- wiring ---------------------------------------------------------------------------
    def _read_rom(self, rom: str) -> float | None:
        probe = self._by_rom.get(rom)
        return probe.read(self.plant) if probe is not None else None

    def _read_pin(self, pin: int) -> bool:
        """A pin's level with the pull-up on: low while the switch on it is closed (active)."""
        for switch, switch_pin in SWITCH_PINS.items():
            if pin == switch_pin:
                return not self.switch_active(switch)
        return True

    def switch_active(self, switch: str) -> bool:
        """Whether a switch is active now: the door open, the level high, the pilot lit."""
        if switch == "door" and isinstance(self.plant, FridgePlant):
            return self.plant.door_open  # the plant's door: open means its air exchange runs
        until = self._switched.get(switch)
        if until is not None and self.clock.now >= until:
            del self._switched[switch]
            until = None
        return RESTING[switch] if until is None else not RESTING[switch]

    def rom(self, probe: str) -> str:
        return self.probes[probe].rom

    def relay(self, function: str) -> bool:
        pin = self.output_pins.get(function)
        return pin is not None and self.firmware.pin_on(pin)

    # -- time -----------------------------------------------------------------------------
    def advance(self, seconds: float) -> list[bytes]:
        """Run plant and firmware for `seconds`; return unsolicited lines the board sent."""
        sent: list[bytes] = []
        remaining = seconds
        while remaining > 1e-9:
            dt = min(STEP_S - self._since_step, remaining)
            self.plant.step(dt, heat=self.relay("heat"), cool=self.relay("cool"))
            self.clock.now += dt
            remaining -= dt
            self._since_step += dt
            if self._since_step >= STEP_S - 1e-9:
                self._since_step = 0.0
            sent += self.firmware.poll()
        self.outbox += sent
        return sent

    # -- lines ----------------------------------------------------------------------------
    def handle(self, raw: bytes) -> list[bytes]:
        """One line from the host (without newline) → the board's reply lines."""
        if raw[:1] == b"x":
            return [self._simulate(raw)]
        return self.firmware.handle(raw)

    def _simulate(self, raw: bytes) -> bytes:
        """`x{"fault":...}` or `x{"switch":...}`; anything else is refused and changes nothing."""
        line = parse_line(raw)
        if isinstance(line, BadLine):
            return encode("E", {"code": "bad_json", "msg": line.reason})
        try:
            detail = self.set_switch(**line.body) if "switch" in line.body else self.inject(**line.body)
        except (TypeError, ValueError, KeyError) as error:
            return encode("E", {"code": "bad_fault", "msg": str(error)[:120]})
        return encode("X", detail)

    def set_switch(self, switch: str, active: bool, for_s: float | None = None) -> dict[str, Any]:
        """Open or close a switch: `set_switch("door", True)` opens the door (on a fridge
        with the plant's forced air exchange), `("level_high", True)` raises the level,
        `("pilot_light", False)` blows the pilot out. Off its rest, a switch stays so for
        `for_s` seconds, or until set back when `for_s` is None; back to its rest is at
        once (`for_s` is then ignored). Returns what was done (also the `X:` reply)."""
        if switch not in SWITCH_PINS:
            raise ValueError(f"switch must be one of {', '.join(SWITCH_PINS)}")
        if not isinstance(active, bool):
            raise ValueError("active must be true or false")
        if for_s is not None and (
            isinstance(for_s, bool) or not isinstance(for_s, int | float) or not 0 <= for_s < math.inf
        ):
            raise ValueError("for_s must be a number of seconds, 0 or more")
        duration = math.inf if for_s is None else float(for_s)
        if switch == "door" and isinstance(self.plant, FridgePlant):
            if active:
                self.plant.open_door(duration)
            else:
                self.plant.close_door()
        elif active == RESTING[switch]:
            self._switched.pop(switch, None)
        else:
            self._switched[switch] = self.clock.now + duration
        log.info("switch %s %s", switch, "active" if active else "inactive")
        return {"switch": switch, "active": active, "for_s": for_s}

    def inject(
        self, fault: str, probe: str = "beer", for_s: float = 60.0, count: int = 1, announce: bool = True
    ) -> dict[str, Any]:
        """Inject a fault; returns what was done (also the `X:` reply). A reboot with
        `announce` false loses its `B:` line, as a line garbled on the wire would be."""
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {', '.join(FAULTS)}")
        if fault in ("disconnect", "crc", "stuck", "spike85", "spike127"):
            target = self.probes[probe]
            if fault == "disconnect":
                target.disconnect(for_s)
            elif fault == "crc":
                target.crc_errors(for_s)
            elif fault == "stuck":
                target.stick(for_s)
            elif fault == "spike85":
                target.spike_85(count)
            else:
                target.spike_minus127(count)
        elif fault == "door":
            self.set_switch("door", True, for_s)
        elif fault == "reboot":
            boot_lines = self.firmware.boot("watchdog")
            if announce is True:
                self.outbox += boot_lines
        elif fault == "unplug":
            if self._on_unplug is None:
                raise ValueError("unplug needs the --pty or --tcp runner")
            self._on_unplug(for_s)
        log.info("fault injected: %s", fault)
        return {"fault": fault, "probe": probe, "for_s": for_s}

    def take_outbox(self) -> list[bytes]:
        out, self.outbox = self.outbox, []
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "t": self.clock.now,
            "temperatures": self.plant.temperatures(),
            "relays": {name: self.relay(name) for name in self.output_pins},
            "switches": {name: self.switch_active(name) for name in SWITCH_PINS},
        }

    def __repr__(self) -> str:
        return f"SimulatedBoard({self.kind}, {json.dumps(self.snapshot())})"
