"""A whole simulated board in-process: plant + probes + simulated firmware on a virtual clock.

The host talks to it with board-protocol lines exactly as to real hardware, so the host
controller cannot cheat; the firmware enforces every board rule and records every pin
edge. `advance(seconds)` runs the plant and the firmware's timers, so a week of simulated
time takes seconds of wall time.

Simulator-only command (never sent to real boards): `x{"fault": ..., ...}` injects a
fault and answers `X:{...}`; see FAULTS.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from ..protocol import BadLine, encode, parse_line
from .firmware import SimulatedFirmware
from .plant import make_plant
from .probes import SimulatedProbe, rom_for

log = logging.getLogger(__name__)

STEP_S = 1.0  # plant integration step (explicit Euler at 1 s, control.md)
FREE_PINS = [2, 3, 4, 5, 6, 7, 8, 9]

# Which relay pin drives which plant input, and which probes each plant carries.
WIRING: dict[str, dict[str, Any]] = {
    "fridge": {"outputs": {"cool": 5, "heat": 6}, "probes": ["beer", "fridge", "room"]},
    "mash": {"outputs": {"heat": 6}, "probes": ["vessel", "room"]},
    "kettle": {"outputs": {"heat": 6}, "probes": ["vessel", "room"]},
}

FAULTS = ("disconnect", "crc", "stuck", "spike85", "spike127", "door", "reboot", "unplug")


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
        self.firmware = SimulatedFirmware(
            self.clock, self._read_rom, [probe.rom for probe in self.probes.values()], FREE_PINS, board="sim"
        )
        self._on_unplug = on_unplug
        self._since_step = 0.0
        self.outbox: list[bytes] = list(self.firmware.boot("power"))

    # -- wiring ---------------------------------------------------------------------------
    def _read_rom(self, rom: str) -> float | None:
        probe = self._by_rom.get(rom)
        return probe.read(self.plant) if probe is not None else None

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
            return [self._fault(raw)]
        return self.firmware.handle(raw)

    def _fault(self, raw: bytes) -> bytes:
        line = parse_line(raw)
        if isinstance(line, BadLine):
            return encode("E", {"code": "bad_json", "msg": line.reason})
        try:
            detail = self.inject(**line.body)
        except (TypeError, ValueError, KeyError) as error:
            return encode("E", {"code": "bad_fault", "msg": str(error)[:120]})
        return encode("X", detail)

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
            self.plant.open_door(for_s)
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
        }

    def __repr__(self) -> str:
        return f"SimulatedBoard({self.kind}, {json.dumps(self.snapshot())})"
