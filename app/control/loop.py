"""The control loop service: one board driver and one `ControllerTick` per enabled
controller, each ticking in its own task every `tick_period_s`, so a slow or hung board
never delays another controller's tick; a `data` snapshot of every chamber each period.

Configuration is read from the database at start and again after a change event on
`_controllers`, `_chambers`, `_devices` or `_profiles`, and applied in place: a driver is
restarted only when its controller's kind or address changes, and a chamber is rebuilt
only when its wiring changes. The tick itself (board to published record) is
`tick.ControllerTick`; this module wires it to the hub, the alarm service and the one
database writer, which are handed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from devices.driver import BoardDriver, BoardError, BoardEvent, BoardUnavailable
from devices.transport import transport_for

from ..db.models import Chamber, Controller, Profile
from ..db.writer import DbWriter
from .alarm_service import AlarmService
from .alarms import Finding
from .gravity import Lookup, no_readings
from .runtime import ChamberRuntime, slot_configs
from .scan import READ_WINDOW_S, BoardScan, parse_scan, probe_slots, sensor_slot
from .tick import ControllerTick, TickPorts

log = logging.getLogger(__name__)

WATCHED = ("_controllers", "_chambers", "_devices", "_profiles")
HEALTHY_TICKS = 5  # the watchdog is fed while every controller ticked within this many periods
HEALTHY_MIN_S = 30.0
CONNECTION_REFRESH_S = 10.0  # an online board's `controller/<id>/connection` again this often


SlotReading = tuple[int | None, float | None]  # (board slot, °C or None)


class NotRunning(Exception):
    """The controller is disabled, or not configured yet."""


def _iso(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class ControllerRuntime:
    """A running controller: its tick, its task, and what restarts its driver."""

    tick: ControllerTick
    link: tuple[str, str]  # (kind, address): a change restarts the driver
    task: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # a tick or a reconcile, not both
    last_tick_end: float | None = None  # monotonic
    connection: str | None = None  # "online"/"offline" as last published, None before that
    connection_since: float | None = None  # wall clock of the last change of `connection`
    connection_published_at: float = 0.0  # monotonic
    online_at: float | None = None  # wall clock when the board last came online
    connection_reason: str | None = None  # why it is offline, as last published
    device_slots: dict[int, dict[str, Any]] = field(default_factory=dict)  # what the chambers use
    probe_slots: set[int] = field(default_factory=set)  # slots reading a scan's unused sensors
    scan: BoardScan | None = None

    @property
    def id(self) -> int:
        return self.tick.id

    @property
    def driver(self) -> BoardDriver:
        return self.tick.driver  # type: ignore[no-any-return]

    @property
    def chambers(self) -> dict[int, ChamberRuntime]:
        return self.tick.chambers


class ControlService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        writer: DbWriter,
        hub: Any,
        alarms: AlarmService,
        tick_period_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        uptime_check_ticks: int = 60,
        wall: Callable[[], float] = time.time,
        publish: Callable[[str, Any], None] | None = None,
        latest: Lookup = no_readings,
    ) -> None:
        """`hub` is anything with `publish(channel, data)` and `subscribe(subscriber,
        channel)`. `clock` times the relays, sensors and alarm delays; a test may pass a
        faster one to keep pace with a simulator running faster than real time (never with
        real hardware); `wall` stamps records and runs profiles. `publish` is where the
        ticks' records go (default the hub's; the server also hands them to the history).
        `latest` looks up a series' latest ingested sample, for the series a chamber shows
        beside its temperatures (`gravity_series`; app/control/gravity.py)."""
        self._sessions = sessions
        self._writer = writer
        self.hub = hub
        self.alarms = alarms
        self.tick_period_s = tick_period_s
        self._clock = clock
        self._wall = wall
        self.uptime_check_ticks = uptime_check_ticks
        self.controllers: dict[int, ControllerRuntime] = {}
        self._snapshot: dict[int, dict[str, Any]] = {}  # chamber id -> its last `data` entry
        self._task: asyncio.Task[None] | None = None
        self._dirty = asyncio.Event()
        self.last_snapshot_at: float | None = None
        self._ports = TickPorts(
            clock=clock,
            wall=wall,
            publish=publish or self.hub.publish,
            alarms=self._apply_alarms,
            log=self._publish_log,
            store_runs=self._store_runs,
            latest=latest,
        )

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        await self._reconcile()
        for channel in WATCHED:
            self.hub.subscribe(self, channel)
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stop every tick, command every output off, then let the boards go."""
        self.hub.unsubscribe_all(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for controller in list(self.controllers.values()):
            self._store_last_seen(controller)
            await self._shutdown(controller)
        self.controllers = {}

    def deliver(self, message: Any) -> None:
        """A change event: reconcile before the next ticks."""
        self._dirty.set()

    def healthy(self) -> bool:
        """Every controller finished a tick lately, and so did the snapshot: what the
        systemd watchdog is fed on, so a loop that stops ticking gets the service restarted."""
        now = time.monotonic()
        window = max(HEALTHY_MIN_S, HEALTHY_TICKS * self.tick_period_s)
        if self.last_snapshot_at is None or now - self.last_snapshot_at > window:
            return False
        return all(
            c.last_tick_end is not None and now - c.last_tick_end <= window
            for c in self.controllers.values()
            if c.task is not None
        )

    async def _shutdown(self, controller: ControllerRuntime) -> None:
        if controller.task is not None:
            controller.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await controller.task
            controller.task = None
        for chamber in controller.chambers.values():
            await controller.tick.outputs_off(chamber)
        await controller.driver.stop()

    # -- configuration --------------------------------------------------------------------
    async def _reconcile(self) -> None:
        now, now_wall = self._clock(), self._wall()
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
                try:
                    await self._reconcile_controller(row, profiles, now, now_wall)
                except Exception:  # one controller's rows never stop the others
                    log.exception("controller %s could not be configured", row.name)
        for controller_id in set(self.controllers) - seen:
            controller = self.controllers.pop(controller_id)
            log.info("controller %s removed or disabled; outputs off", controller.tick.name)
            await self._shutdown(controller)
            self._publish_connection(controller, "disabled")
            for chamber_id in controller.chambers:
                self._snapshot.pop(chamber_id, None)
                self.alarms.clear_source(f"chamber/{chamber_id}")
            self.alarms.clear_source(controller.tick.source)

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
        async with controller.lock:  # between two ticks, never in the middle of one
            controller.tick.name = row.name
            chambers: dict[int, ChamberRuntime] = {}
            for chamber_row in row.chambers:
                runtime = controller.chambers.get(chamber_row.id)
                if runtime is not None and (
                    runtime.wiring != runtime.wiring.of(chamber_row) or runtime.failed
                ):
                    await controller.tick.outputs_off(runtime)
                    runtime = None
                if runtime is None:
                    runtime = ChamberRuntime(chamber_row, now, self._log_line)
                runtime.configure(chamber_row, profiles.get(chamber_row.profile_id or 0), now, now_wall)
                chambers[chamber_row.id] = runtime
            for chamber_id, runtime in controller.chambers.items():
                if chamber_id not in chambers:
                    await controller.tick.outputs_off(runtime)
                    self._snapshot.pop(chamber_id, None)
                    self.alarms.clear_source(f"chamber/{chamber_id}")
            controller.tick.chambers = chambers
            await self._configure_slots(controller, row)
        if controller.task is None:
            controller.driver.start()
            controller.task = asyncio.ensure_future(self._drive(controller))

    def _new_controller(self, row: Controller) -> ControllerRuntime:
        kind, address = row.kind, row.address
        tick = ControllerTick(
            row.id,
            row.name,
            None,
            self._ports,
            tick_period_s=self.tick_period_s,
            uptime_check_ticks=self.uptime_check_ticks,
        )
        controller = ControllerRuntime(tick, (kind, address))

        def on_event(event: BoardEvent) -> None:
            tick.on_board_event(event)
            if event.kind in ("online", "offline"):
                self._note_connection(controller)  # at once: a short drop may end before a tick

        tick.driver = BoardDriver(lambda: transport_for(kind, address), name=row.name, on_event=on_event)
        return controller

    async def _configure_slots(self, controller: ControllerRuntime, row: Controller) -> None:
        controller.device_slots = slot_configs(row.chambers, controller.chambers)
        await self._apply_slots(controller)

    async def _apply_slots(self, controller: ControllerRuntime) -> None:
        """The slots the chambers use, and while a scan is looked at the probe slots of the
        sensors it found unused, configured now on an online board (and by the driver after
        every reconnect); a slot no chamber uses any more is forgotten, and a probe slot no
        longer wanted is freed on the board. Called with the controller's lock held."""
        wanted = dict(controller.device_slots)
        scan = controller.scan
        if scan is not None and time.monotonic() < scan.read_until:
            wanted.update(probe_slots(controller.device_slots, scan.roms))
        freed = sorted(controller.probe_slots - set(wanted))
        controller.probe_slots = set(wanted) - set(controller.device_slots)
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
                    log.warning("%s: configuring slot %d failed: %s", controller.tick.name, slot, error)
        for slot in freed:
            if driver.online:
                try:
                    await driver.request("c", {"slot": slot, "kind": "none"})
                except (BoardUnavailable, BoardError) as error:
                    log.info("%s: freeing probe slot %d failed: %s", controller.tick.name, slot, error)

    # -- hardware scan (app/control/scan.py) ------------------------------------------------
    def _running(self, controller_id: int) -> ControllerRuntime:
        controller = self.controllers.get(controller_id)
        if controller is None:
            raise NotRunning(f"controller {controller_id} is disabled")
        return controller

    async def scan(self, controller_id: int) -> BoardScan:
        """Ask the board what it has (`h`) and start reading the sensors no device uses.
        Raises NotRunning, or the driver's BoardUnavailable or BoardError."""
        controller = self._running(controller_id)
        roms, pins = parse_scan(await controller.driver.scan())
        controller.scan = BoardScan(roms, pins, self._wall(), time.monotonic() + READ_WINDOW_S)
        async with controller.lock:
            await self._apply_slots(controller)
        return controller.scan

    def last_scan(self, controller_id: int) -> BoardScan | None:
        """The controller's last scan; looking at it keeps its sensors read a while longer."""
        scan = self._running(controller_id).scan
        if scan is not None:
            scan.read_until = time.monotonic() + READ_WINDOW_S
        return scan

    def sensor_readings(self, controller_id: int) -> tuple[dict[str, SlotReading], str | None]:
        """Each ROM read in a slot now: (slot, °C or None), and when the board last answered."""
        controller = self._running(controller_id)
        slots = controller.driver.slots
        reading = controller.tick.last_reading
        readings: dict[str, SlotReading] = {}
        for rom in {config.get("onewire") for config in slots.values() if config.get("kind") == "sensor"}:
            slot = sensor_slot(slots, rom)
            readings[rom] = (slot, reading.sensors.get(slot) if reading is not None and slot else None)
        return readings, _iso(controller.tick.last_seen)

    # -- connection state -------------------------------------------------------------------
    def connection(self, controller: ControllerRuntime, state: str) -> dict[str, Any]:
        identity = controller.driver.identity or {}
        return {
            "state": state,
            "since": _iso(controller.connection_since),
            "last_seen": _iso(self._last_seen(controller)),
            "reason": self._reason(controller, state),
            "board": identity.get("board") if state == "online" else None,
            "firmware": identity.get("v") if state == "online" else None,
        }

    def _note_connection(self, controller: ControllerRuntime) -> None:
        """After each tick: publish the board's connection when it (or why it is offline)
        changed, and while it is online every CONNECTION_REFRESH_S with its last seen; a
        lost board's last seen is stored."""
        state = "online" if controller.driver.online else "offline"
        if state == controller.connection and self._reason(controller, state) == controller.connection_reason:
            since_published = time.monotonic() - controller.connection_published_at
            if state != "online" or since_published < CONNECTION_REFRESH_S:
                return
        elif controller.connection == "online":
            self._store_last_seen(controller)
        self._publish_connection(controller, state)

    def _publish_connection(self, controller: ControllerRuntime, state: str) -> None:
        if state != controller.connection:
            controller.connection, controller.connection_since = state, self._wall()
            if state == "online":
                controller.online_at = controller.connection_since
        controller.connection_published_at = time.monotonic()
        controller.connection_reason = self._reason(controller, state)
        self.hub.publish(f"controller/{controller.id}/connection", self.connection(controller, state))

    @staticmethod
    def _reason(controller: ControllerRuntime, state: str) -> str | None:
        return controller.driver.last_error if state == "offline" else None

    @staticmethod
    def _last_seen(controller: ControllerRuntime) -> float | None:
        """The board's last answer: to a tick's read, or when it came online."""
        seen = [t for t in (controller.tick.last_seen, controller.online_at) if t is not None]
        return max(seen) if seen else None

    def _store_last_seen(self, controller: ControllerRuntime) -> None:
        """The board's last answer into its row (`last_seen`): when it was lost, at stop."""
        seen, controller_id = self._last_seen(controller), controller.id
        if seen is None:
            return

        def store(session: Session) -> None:
            row = session.get(Controller, controller_id)
            if row is not None:
                row.last_seen = datetime.fromtimestamp(seen, UTC)

        self._writer.enqueue("last seen", store)

    # -- ticking --------------------------------------------------------------------------
    async def _drive(self, controller: ControllerRuntime) -> None:
        """One controller's ticks, each period from the start of the last."""
        while True:
            started = time.monotonic()
            try:
                async with controller.lock:
                    records = await controller.tick.tick()
                    if controller.scan is not None or controller.probe_slots:
                        await self._apply_slots(controller)  # probe slots come and go
                for record in records:
                    self._snapshot[record["id"]] = record
                self._note_connection(controller)
            except asyncio.CancelledError:
                raise
            except Exception:  # the tick guards its chambers; this is a bug in the tick itself
                log.exception("%s: tick failed", controller.tick.name)
            controller.last_tick_end = time.monotonic()
            await asyncio.sleep(max(0.0, self.tick_period_s - (time.monotonic() - started)))

    async def _run(self) -> None:
        """Reconcile after change events; publish the `data` snapshot every period."""
        while True:
            started = time.monotonic()
            try:
                if self._dirty.is_set():
                    self._dirty.clear()
                    await self._reconcile()
                chambers = [
                    record
                    for controller in self.controllers.values()
                    for chamber_id in controller.chambers
                    if (record := self._snapshot.get(chamber_id)) is not None
                ]
                if chambers:
                    self.hub.publish("data", {"chambers": chambers})
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed snapshot or reconcile must not end the service
                log.exception("control service: snapshot or reconcile failed")
            self.last_snapshot_at = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._dirty.wait(), max(0.0, self.tick_period_s - (time.monotonic() - started))
                )

    # -- side effects, handed to the ticks ------------------------------------------------
    def _apply_alarms(self, source: str, findings: Mapping[str, Finding | None]) -> None:
        self.alarms.apply(source, findings)

    def _store_runs(self, pending: dict[int, dict[str, Any]]) -> None:
        self._writer.enqueue("run state", lambda session: _store_runs(session, pending))

    def _log_line(self, chamber: ChamberRuntime, level: str, text: str) -> None:
        try:  # called from inside a chamber's control: a failed publish must not stop it
            self._publish_log(f"chamber/{chamber.id}", level, f"{chamber.name}: {text}")
        except Exception:
            log.exception("%s: publishing a log line failed: %s", chamber.name, text)

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
