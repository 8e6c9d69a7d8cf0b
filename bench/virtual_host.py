"""The shipped control tick on a simulated board, on a virtual clock (no waiting).

`VirtualHost` is what the server runs for one controller — `app.control.tick.ControllerTick`
with a `ChamberRuntime` built from a chamber row, talking through the shipped
`devices.driver.BoardDriver` — with the board being a `SimulatedBoard` behind a
`VirtualTransport`: every command is encoded, answered by the simulated firmware (which
enforces the board's rules and records every pin edge) and parsed back, as with real
hardware. Only the clocks differ: the monotonic clock is the board's virtual clock, and
the wall clock starts at `EPOCH`.

The rows are built in memory (never stored), as the REST API would store them, so the
chamber is configured by the same code as in the server.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from app.control.alarms import AlarmBook, AlarmChange, Finding
from app.control.chamber import FermenterTuning
from app.control.profile_commands import apply_command, new_run_state
from app.control.profiles import Point, Step
from app.control.runtime import ChamberRuntime, slot_configs
from app.control.tick import ControllerTick, TickPorts
from app.db.models import Chamber, Device, Profile, ProfilePoint, ProfileStep
from devices.driver import BoardDriver
from devices.simulator.board import SWITCH_PINS, SimulatedBoard
from devices.simulator.probes import rom_for
from devices.simulator.virtual import VirtualTransport

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: the wall clock of every simulated run starts here
COOL_SLOT, HEAT_SLOT, FAN_SLOT = 4, 5, 6
FRIDGE_PINS = {"cool": 5, "heat": 6, "fan": 4}  # the simulated fridge's relays (devices/simulator/board.py)
# board slots for the simulated switches beside each plant's probes and outputs (8 in all)
FRIDGE_SWITCH_SLOTS = {"door": 7, "level_high": 8}
KETTLE_SWITCH_SLOTS = {"level_high": 6, "pilot_light": 7, "door": 8}
VESSEL_SLOT, KETTLE_ROOM_SLOT, KETTLE_HEAT_SLOT = 1, 2, 5
KETTLE_HEAT_PIN = 6
MIN_TIME_KEYS = ("heat_min_on_s", "heat_min_off_s", "cool_min_on_s", "cool_min_off_s")


def _device(
    id_: int, name: str, function: str, hardware: str, address: str, slot: int, **times: int
) -> Device:
    return Device(
        id=id_,
        chamber_id=1,
        name=name,
        function=function,
        hardware=hardware,
        address=address,
        slot=slot,
        invert=False,
        calibration_offset=0.0,
        min_on_s=times.get("min_on_s", 0),
        min_off_s=times.get("min_off_s", 0),
    )


def fermenter_rows(
    points: Sequence[Point],
    tuning: FermenterTuning,
    wall: float,
    *,
    fan: bool = False,
    switches: Sequence[str] = (),
) -> tuple[Chamber, Profile]:
    """A fermenter on the simulated fridge (probes beer, fridge, room; compressor and heater)
    running a fermentation profile of `points` from `wall`, with `tuning` (its min times go
    on the output devices, as a user wires them). `fan` adds the fridge's fan; `switches`
    names the board's switches to wire as input devices (`door`, `level_high`)."""
    profile = Profile(id=1, name="scenario", kind="fermentation", notes="")
    profile.points = [
        ProfilePoint(position=i, offset_days=p.offset_days, temperature=p.temperature_c, event=p.event)
        for i, p in enumerate(points)
    ]
    profile.steps = []
    overrides = {k: v for k, v in asdict(tuning).items() if k not in MIN_TIME_KEYS and v != _DEFAULTS[k]}
    chamber = _chamber("fermenter", overrides, new_run_state("fermentation", wall))
    chamber.devices = [
        _device(1, "Beer", "beer_temp", "onewire", rom_for("beer"), 1),
        _device(2, "Fridge air", "fridge_temp", "onewire", rom_for("fridge"), 2),
        _device(3, "Room", "room_temp", "onewire", rom_for("room"), 3),
        _device(
            4,
            "Compressor",
            "cool",
            "pin",
            str(FRIDGE_PINS["cool"]),
            COOL_SLOT,
            min_on_s=int(tuning.cool_min_on_s),
            min_off_s=int(tuning.cool_min_off_s),
        ),
        _device(
            5,
            "Heater",
            "heat",
            "pin",
            str(FRIDGE_PINS["heat"]),
            HEAT_SLOT,
            min_on_s=int(tuning.heat_min_on_s),
            min_off_s=int(tuning.heat_min_off_s),
        ),
    ]
    if fan:
        chamber.devices.append(_device(6, "Fan", "fan", "pin", str(FRIDGE_PINS["fan"]), FAN_SLOT))
    chamber.devices += _switch_devices(switches, FRIDGE_SWITCH_SLOTS)
    return chamber, profile


def _switch_devices(switches: Sequence[str], slots: Mapping[str, int]) -> list[Device]:
    """Input devices on the simulated board's switch pins (all wired to close when active)."""
    return [
        _device(10 + i, function, function, "pin", str(SWITCH_PINS[function]), slots[function])
        for i, function in enumerate(switches)
    ]


def kettle_rows(
    steps: Sequence[Step], kind: str, tuning: dict[str, float], wall: float, *, switches: Sequence[str] = ()
) -> tuple[Chamber, Profile]:
    """A mash tun or kettle (`kind`) on the simulated kettle board running a mash profile;
    `switches` as for `fermenter_rows` (`level_high`, `pilot_light`, `door`)."""
    profile = Profile(id=1, name="scenario", kind="mash", notes="")
    profile.points = []
    profile.steps = [
        ProfileStep(
            position=i,
            name=s.name,
            temperature=s.temperature_c,
            hold_min=s.hold_min,
            ramp_c_per_min=s.ramp_c_per_min,
            confirm=s.confirm,
        )
        for i, s in enumerate(steps)
    ]
    chamber = _chamber(kind, dict(tuning), new_run_state("mash", wall))
    chamber.devices = [
        _device(1, "Vessel", "beer_temp", "onewire", rom_for("vessel"), VESSEL_SLOT),
        _device(2, "Room", "room_temp", "onewire", rom_for("room"), KETTLE_ROOM_SLOT),
        _device(3, "Element", "heat", "pin", str(KETTLE_HEAT_PIN), KETTLE_HEAT_SLOT),
    ]
    chamber.devices += _switch_devices(switches, KETTLE_SWITCH_SLOTS)
    return chamber, profile


_DEFAULTS = asdict(FermenterTuning())


def _chamber(kind: str, tuning: dict[str, float], state: dict[str, Any]) -> Chamber:
    return Chamber(
        id=1,
        controller_id=1,
        name="Simulated " + kind,
        kind=kind,
        mode="profile",
        beer_setpoint=None,
        fridge_setpoint=None,
        tuning=tuning,
        alarm_limits={},
        profile_id=1,
        profile_state=state,
    )


class VirtualHost:
    """One controller's shipped tick on a simulated board; `await step(dt)` runs one tick."""

    def __init__(
        self,
        board: SimulatedBoard,
        row: Chamber,
        profile: Profile,
        tick_s: float = 1.0,
        record_every_s: float = 60.0,
    ) -> None:
        """Tick records are published (here: kept as `last_record`) every `record_every_s`."""
        self.board = board
        self.row, self.profile = row, profile
        board.take_outbox()  # the power-up `B:` line: the host starts with the board
        self.transport = VirtualTransport(board)
        self.book = AlarmBook()
        self.alarm_changes: list[AlarmChange] = []
        self.logs: list[tuple[str, str, str]] = []
        self.records = 0
        self.last_record: dict[str, Any] | None = None
        ports = TickPorts(
            clock=board.clock,
            wall=self.wall,
            publish=self._publish,
            alarms=self._alarms,
            log=lambda source, level, text: self.logs.append((source, level, text)),
            store_runs=self._store_runs,
        )
        self.tick = ControllerTick(
            1, "simulated board", None, ports, tick_period_s=tick_s, record_every_s=record_every_s
        )
        self.driver = BoardDriver(
            lambda: self.transport, name="simulated board", on_event=self.tick.on_board_event
        )
        self.tick.driver = self.driver
        now = board.clock.now
        chamber = ChamberRuntime(
            row, now, lambda c, level, text: self.logs.append((f"chamber/{c.id}", level, text))
        )
        chamber.configure(row, profile, now, self.wall())
        self.tick.chambers = {row.id: chamber}
        self.driver.slots = slot_configs([row], self.tick.chambers)
        self.silent_until = -math.inf
        self.last_command_t = now

    @property
    def chamber(self) -> ChamberRuntime:
        return self.tick.chambers[self.row.id]

    def wall(self) -> float:
        return EPOCH + self.board.clock.now

    async def connect(self) -> None:
        self.driver.start()
        await self.driver.wait_online(5.0)

    async def close(self) -> None:
        await self.driver.stop()

    async def step(self, dt_s: float, before_tick: Callable[[float], None] | None = None) -> None:
        """Advance the board `dt_s`, call `before_tick(now)` (to inject faults), hand on what
        the board sent, and tick unless the host is silent."""
        self.board.advance(dt_s)
        now = self.board.clock.now
        if before_tick is not None:
            before_tick(now)
        if self.transport.pump():
            await asyncio.sleep(0)  # the driver's work after a `B:` line (slots again) runs now
        if now >= self.silent_until:
            await self.tick.tick()
            self.last_command_t = now

    def command(self, action: str) -> None:
        """A profile command, applied as the REST API applies it to the stored row."""
        apply_command(self.row, action, self.wall(), self.profile.kind)
        self.chamber.configure(self.row, self.profile, self.board.clock.now, self.wall())

    # -- the tick's sinks ------------------------------------------------------------------
    def _publish(self, channel: str, data: Any) -> None:
        self.records += 1
        self.last_record = data

    def _alarms(self, source: str, findings: Mapping[str, Finding | None]) -> None:
        self.alarm_changes += self.book.apply(source, findings, self.wall())

    def _store_runs(self, runs: dict[int, dict[str, Any]]) -> None:
        """As the server's writer stores them: a newer command's `rev` wins."""
        state = runs.get(self.row.id)
        stored = self.row.profile_state or {}
        if state is not None and (stored.get("run"), stored.get("rev")) == (
            state.get("run"),
            state.get("rev"),
        ):
            self.row.profile_state = state


def run_async(coroutine: Any) -> Any:
    """Run one simulation to its end on a fresh event loop."""
    return asyncio.run(coroutine)
