"""The control loop service: one board driver per enabled controller, one `ChamberRuntime`
per chamber, and a tick every `tick_period_s` that reads the board, runs each chamber,
switches its relays, evaluates its alarms, publishes the tick on `chamber/<id>/data` and
`data`, and stores a running profile's progress.

Configuration is read from the database at start and again after a change event on
`_controllers`, `_chambers`, `_devices` or `_profiles`, and applied in place: a driver is
restarted only when its controller's kind or address changes, and a chamber is rebuilt
only when its wiring changes. No output is switched on before the board has answered a
read since it (re)connected; after a board reboot the host's relays start again from
that moment, as the board's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from devices.driver import BoardDriver, BoardError, BoardEvent, BoardUnavailable, Reading
from devices.transport import transport_for

from ..db.models import Chamber, Controller, Profile
from ..db.writer import DbWriter
from ..pubsub.hub import Hub, Message
from .alarm_service import AlarmService
from .outputs import DEADMAN_S
from .runtime import ChamberRuntime, protected_min_times

log = logging.getLogger(__name__)

BOARD_GRACE_S = 10.0  # a board not answering this long raises `board_silent`
WATCHED = ("_controllers", "_chambers", "_devices", "_profiles")
SNAPSHOT_KEYS = (
    "id",
    "name",
    "kind",
    "mode",
    "state",
    "beer",
    "beer_set",
    "fridge",
    "fridge_set",
    "room",
    "heat",
    "cool",
    "profile",
)


@dataclass
class ControllerRuntime:
    id: int
    name: str
    link: tuple[str, str]  # (kind, address): a change restarts the driver
    driver: BoardDriver
    chambers: dict[int, ChamberRuntime] = field(default_factory=dict)
    offline_since: float | None = None
    rebooted_at: float | None = None  # a boot the host has not re-armed after yet
    uptime_s: float | None = None  # the board's uptime at the last check
    ticks: int = 0
    started: bool = False


def _output_config(
    slot: int, pin: str, invert: bool, min_on_s: float, min_off_s: float, group: int, dead_s: float
) -> dict[str, Any]:
    return {
        "slot": slot,
        "kind": "output",
        "pin": int(pin),
        "invert": invert,
        "min_on_s": int(min_on_s),
        "min_off_s": int(min_off_s),
        "group": group,
        "dead_s": int(dead_s),
    }


class ControlService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        writer: DbWriter,
        hub: Hub,
        alarms: AlarmService,
        tick_period_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        uptime_check_ticks: int = 60,
    ) -> None:
        """`clock` times the relays and sensors; a test may pass a faster one to keep pace
        with a simulator running faster than real time (never with real hardware)."""
        self._sessions = sessions
        self._writer = writer
        self.hub = hub
        self.alarms = alarms
        self.tick_period_s = tick_period_s
        self._clock = clock
        # a board can restart with its B: line lost on the wire: its uptime going back tells
        self.uptime_check_ticks = uptime_check_ticks
        self.controllers: dict[int, ControllerRuntime] = {}
        self._task: asyncio.Task[None] | None = None
        self._dirty = False

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        await self._reconcile()
        for channel in WATCHED:
            self.hub.subscribe(self, channel)
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Command every output off, then let the boards go."""
        self.hub.unsubscribe_all(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for controller in list(self.controllers.values()):
            await self._shutdown(controller)
        self.controllers = {}

    def deliver(self, message: Message) -> None:
        """A change event: reconcile before the next tick."""
        self._dirty = True

    async def _shutdown(self, controller: ControllerRuntime) -> None:
        for chamber in controller.chambers.values():
            await self._outputs_off(controller, chamber)
        await controller.driver.stop()

    async def _outputs_off(self, controller: ControllerRuntime, chamber: ChamberRuntime) -> None:
        if not controller.driver.online:
            return
        for role, slot, *_ in chamber.wiring.outputs:
            try:
                await asyncio.wait_for(controller.driver.set_output(slot, False), 3.0)
                chamber.board_on[role] = False
            except (BoardUnavailable, BoardError, TimeoutError) as error:
                log.warning("%s: could not switch %s (slot %d) off: %s", chamber.name, role, slot, error)

    # -- configuration --------------------------------------------------------------------
    async def _reconcile(self) -> None:
        now, now_wall = self._clock(), time.time()
        with self._sessions() as session:
            rows = session.scalars(
                select(Controller)
                .where(Controller.enabled.is_(True))
                .options(selectinload(Controller.chambers).selectinload(Chamber.devices))
            ).all()
            profiles = {p.id: p for p in session.scalars(select(Profile)).all()}
            for profile in profiles.values():  # load them while the session is open
                _ = profile.points, profile.steps
            seen = set()
            for row in rows:
                seen.add(row.id)
                await self._reconcile_controller(row, profiles, now, now_wall)
        for controller_id in set(self.controllers) - seen:
            controller = self.controllers.pop(controller_id)
            log.info("controller %s removed or disabled; outputs off", controller.name)
            await self._shutdown(controller)
            for chamber_id in controller.chambers:
                self.alarms.clear_source(f"chamber/{chamber_id}")

    async def _reconcile_controller(
        self, row: Controller, profiles: dict[int, Profile], now: float, now_wall: float
    ) -> None:
        controller = self.controllers.get(row.id)
        if controller is not None and controller.link != (row.kind, row.address):
            await self._shutdown(controller)
            controller = None
        if controller is None:
            controller = self._new_controller(row)
            self.controllers[row.id] = controller
        controller.name = row.name
        chambers: dict[int, ChamberRuntime] = {}
        for chamber_row in row.chambers:
            runtime = controller.chambers.get(chamber_row.id)
            if runtime is not None and runtime.wiring != runtime.wiring.of(chamber_row):
                await self._outputs_off(controller, runtime)
                runtime = None
            if runtime is None:
                runtime = ChamberRuntime(chamber_row, now, self._log_line)
            runtime.configure(chamber_row, profiles.get(chamber_row.profile_id or 0), now_wall)
            chambers[chamber_row.id] = runtime
        for chamber_id, runtime in controller.chambers.items():
            if chamber_id not in chambers:
                await self._outputs_off(controller, runtime)
                self.alarms.clear_source(f"chamber/{chamber_id}")
        controller.chambers = chambers
        await self._configure_slots(controller, row)
        if not controller.started:
            controller.started = True
            controller.driver.start()

    def _new_controller(self, row: Controller) -> ControllerRuntime:
        kind, address, name = row.kind, row.address, row.name
        runtime: ControllerRuntime

        def on_event(event: BoardEvent) -> None:
            if event.kind == "boot":
                runtime.rebooted_at = self._clock()  # the B: line comes at boot
                runtime.uptime_s = None  # learnt again at the next uptime check
            if event.kind in ("online", "offline", "boot", "log"):
                detail = event.detail.get("msg") or event.detail.get("reason") or ""
                level = "warning" if event.kind in ("offline", "boot") else "info"
                self._publish_log(
                    f"controller/{runtime.id}", level, f"{runtime.name}: {event.kind} {detail}".strip()
                )

        driver = BoardDriver(lambda: transport_for(kind, address), name=name, on_event=on_event)
        runtime = ControllerRuntime(row.id, name, (kind, address), driver)
        return runtime

    async def _configure_slots(self, controller: ControllerRuntime, row: Controller) -> None:
        """The slots the chambers use, configured now on an online board (and by the driver
        after every reconnect); a slot no chamber uses any more is forgotten."""
        wanted: dict[int, dict[str, Any]] = {}
        for group, chamber in enumerate(sorted(row.chambers, key=lambda c: c.id), start=1):
            runtime = controller.chambers.get(chamber.id)
            dead_s = runtime.tuning.dead_s if runtime is not None else 600.0
            for device in chamber.devices:
                if not device.slot:
                    continue
                if device.hardware == "onewire":
                    wanted[device.slot] = {
                        "slot": device.slot,
                        "kind": "sensor",
                        "onewire": device.address,
                        "offset": device.calibration_offset,
                    }
                elif device.function in ("heat", "cool", "fan") and runtime is not None:
                    min_on_s, min_off_s = protected_min_times(
                        device.function, device.min_on_s, device.min_off_s
                    )
                    wanted[device.slot] = _output_config(
                        device.slot, device.address, device.invert, min_on_s, min_off_s, group, dead_s
                    )
        driver = controller.driver
        for slot in set(driver.slots) - set(wanted):
            del driver.slots[slot]
        for slot, config in sorted(wanted.items()):
            if driver.slots.get(slot) == config:
                continue
            driver.slots[slot] = config
            if driver.online:
                try:
                    await driver.configure(config)
                except (BoardUnavailable, BoardError) as error:
                    log.warning("%s: configuring slot %d failed: %s", controller.name, slot, error)

    # -- ticking --------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                if self._dirty:
                    self._dirty = False
                    await self._reconcile()
                snapshot = []
                for controller in list(self.controllers.values()):
                    snapshot += await self._tick_controller(controller)
                if snapshot:
                    self.hub.publish("data", {"chambers": snapshot})
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad tick must not end control for good
                log.exception("control tick failed")
            await asyncio.sleep(max(0.0, self.tick_period_s - (time.monotonic() - started)))

    async def _read(self, controller: ControllerRuntime) -> Reading | None:
        if not controller.driver.online:
            return None
        try:
            return await controller.driver.read()
        except (BoardUnavailable, BoardError) as error:
            log.info("%s: read failed: %s", controller.name, error)
            return None

    async def _tick_controller(self, controller: ControllerRuntime) -> list[dict[str, Any]]:
        reading = await self._read(controller)
        now, now_wall = self._clock(), time.time()
        if reading is None:
            controller.offline_since = controller.offline_since or now
        else:
            controller.offline_since = None
        controller.ticks += 1
        if reading is not None and controller.ticks % self.uptime_check_ticks == 0:
            await self._check_uptime(controller, now)
        if controller.rebooted_at is not None:
            for chamber in controller.chambers.values():
                _rearm_after_boot(chamber, controller.rebooted_at, now)
            controller.rebooted_at = None
        if reading is not None:  # the board's word on its outputs (a dead-man may have acted)
            for chamber in controller.chambers.values():
                _align_with_board(chamber, reading, now)
        board_online = controller.offline_since is None or now - controller.offline_since < BOARD_GRACE_S
        values = reading.sensors if reading is not None else {}
        records = []
        for chamber in controller.chambers.values():
            decision = chamber.tick(now, now_wall, values)
            if reading is not None:
                await self._apply(controller, chamber, decision, now)
            else:  # the board's dead-man switches them off; count them off from now
                chamber.board_on = {"heat": False, "cool": False}
                chamber.board_state(now)
            findings = chamber.rules.evaluate(chamber.alarm_tick(now, board_online, {}), now_wall)
            self.alarms.apply(f"chamber/{chamber.id}", findings)
            record = chamber.record(decision.state if reading is not None else "board_offline", now_wall)
            self.hub.publish(f"chamber/{chamber.id}/data", record)
            records.append({key: record[key] for key in SNAPSHOT_KEYS})
        self._save_runs(controller, now_wall)
        if reading is not None:
            with contextlib.suppress(BoardUnavailable, BoardError):
                await controller.driver.feed_deadman(DEADMAN_S)
        return records

    async def _check_uptime(self, controller: ControllerRuntime, now: float) -> None:
        """Ask the board's uptime; an uptime that went back is a restart whose `B:` line
        never arrived: re-arm as for a `B:`, from the boot the uptime gives."""
        try:
            uptime_s = (await controller.driver.request("n")).body.get("uptime_s")
        except (BoardUnavailable, BoardError) as error:
            log.info("%s: uptime check failed: %s", controller.name, error)
            return
        if isinstance(uptime_s, bool) or not isinstance(uptime_s, int | float) or uptime_s < 0:
            return
        if controller.uptime_s is not None and uptime_s < controller.uptime_s:
            # whole seconds since the boot: now - uptime is at or just after the real boot, so
            # counting min off and dead time from there is never less strict than the board
            controller.rebooted_at = now - uptime_s
            self._publish_log(
                f"controller/{controller.id}",
                "warning",
                f"{controller.name}: restarted without a B: line (uptime went back to {uptime_s:.0f} s); "
                "outputs counted off since that boot",
            )
        controller.uptime_s = uptime_s

    async def _apply(
        self, controller: ControllerRuntime, chamber: ChamberRuntime, decision: Any, now: float
    ) -> None:
        wanted = {"heat": decision.heat_on, "cool": decision.cool_on}
        for role in sorted(wanted, key=lambda name: wanted[name]):  # off first
            slot = chamber.wiring.output_slot(role)
            if slot is None or wanted[role] == chamber.board_on[role]:
                continue
            try:
                state = await controller.driver.set_output(slot, wanted[role])
                chamber.board_on[role] = state.on
            except (BoardUnavailable, BoardError) as error:
                log.info("%s: output %s: %s", chamber.name, role, error)
        chamber.board_state(now)

    def _save_runs(self, controller: ControllerRuntime, now_wall: float) -> None:
        pending = {}
        for chamber in controller.chambers.values():
            state = chamber.run_state_to_save(now_wall)
            if state is not None:
                pending[chamber.id] = state
        if pending:
            self._writer.enqueue("run state", lambda session: _store_runs(session, pending))

    # -- logs -----------------------------------------------------------------------------
    def _log_line(self, chamber: ChamberRuntime, level: str, text: str) -> None:
        self._publish_log(f"chamber/{chamber.id}", level, f"{chamber.name}: {text}")

    def _publish_log(self, source: str, level: str, text: str) -> None:
        log.log(logging.WARNING if level in ("warning", "error") else logging.INFO, "%s", text)
        self.hub.publish("logs", {"entries": [{"source": source, "level": level, "msg": text}]})


def _store_runs(session: Session, pending: dict[int, dict[str, Any]]) -> None:
    """On the writer's thread: each chamber's run progress, unless a command through the API
    replaced the run since our last look (it bumped `rev`: the command wins)."""
    for chamber_id, state in pending.items():
        row = session.get(Chamber, chamber_id)
        stored = row.profile_state if row is not None else None
        if stored and (stored.get("run"), stored.get("rev")) == (state.get("run"), state.get("rev")):
            row.profile_state = state  # type: ignore[union-attr]


def _rearm_after_boot(chamber: ChamberRuntime, boot_at: float, now: float) -> None:
    """The board rebooted: its outputs are off and its min off and dead time count from
    this boot; the host's relays do the same, and 85 °C is suspect again for a while."""
    for relay in chamber.control.relays():
        relay.rebooted(boot_at, now)
    chamber.board_on = {"heat": False, "cool": False}
    for validator in chamber.validators.values():
        validator.powered_up(boot_at)


def _align_with_board(chamber: ChamberRuntime, reading: Reading, now: float) -> None:
    """Take the outputs' states from each reading: after a (re)connect before commanding
    any, and always, since the board may have switched one off by itself."""
    for role, slot, *_ in chamber.wiring.outputs:
        state = reading.outputs.get(slot)
        chamber.board_on[role] = bool(state and state.on)
    chamber.board_state(now)
