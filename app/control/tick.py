"""One controller's tick: the one piece of code that runs control, in the server and on a
virtual clock alike (the benchmark, the fault tests, the Debugger's simulations).

A tick, top-down: read the board (`t`) → validate each chamber's sensors and debounce its
switch inputs → setpoint from the profile → decide → switch the relays, off before on, then
the fan after the compressor → keep the board's dead-man armed → evaluate the alarms →
publish the tick records → hand on the profile runs to store.

What it needs from outside is handed in (`TickPorts`): the monotonic clock that times
relays, sensors and alarm delays; the wall clock for records and profile runs; and the
sinks for publishing, alarms, logs and run state. It imports nothing from the pub/sub or
the database, and calls down into the chamber (runtime.py), which calls down into pid,
outputs, sensors, profiles and alarms.

Nothing here can stop a tick: a side effect that raises (a publish, a store) is logged
once per kind and raised as an `internal_error` alarm while control goes on; a chamber
whose own control raises has its outputs switched off and a `control_failed` alarm,
and the other chambers go on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from devices.driver import BoardError, BoardEvent, BoardUnavailable, Reading

from .alarms import CRITICAL, WARNING, Finding
from .gravity import Lookup, no_readings
from .runtime import ChamberRuntime

log = logging.getLogger(__name__)

BOARD_GRACE_S = 10.0  # a board not answering this long raises `board_silent`
UPTIME_CHECK_TICKS = 60  # ask `n` this often: a reboot whose `B:` line was lost shows here
ARM_EVERY_TICKS = 60  # `w` again this often, in case a boot disarmed the dead-man unseen
DEADMAN_MIN_S = 20  # keeps "host silent -> outputs off" within control.md's 30 s target
DEADMAN_MIN_TICKS = 3
STALL_NOTICE_S = 60.0  # a `deadman_tripped` alarm clears this long after control resumed
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


def deadman_timeout_s(tick_period_s: float) -> int:
    """The board's dead-man for this tick period: at least three ticks and at least 20 s, so
    no allowed period lets it trip between healthy ticks (the board takes 1-600 s)."""
    return min(600, max(DEADMAN_MIN_S, math.ceil(DEADMAN_MIN_TICKS * tick_period_s)))


@dataclass(frozen=True)
class TickPorts:
    """What a controller's tick is handed."""

    clock: Callable[[], float]  # monotonic seconds: relays, sensors, alarm delays
    wall: Callable[[], float]  # epoch seconds: records, profile runs
    publish: Callable[[str, Any], None]  # (channel, data)
    alarms: Callable[[str, Mapping[str, Finding | None]], None]  # (source, findings)
    log: Callable[[str, str, str], None]  # (source, level, text), for the `logs` channel
    store_runs: Callable[[dict[int, dict[str, Any]]], None]  # chamber id -> run state
    latest: Lookup = no_readings  # series -> its latest ingested sample, for `gravity_series`


class ControllerTick:
    """One board and the chambers wired to it."""

    def __init__(
        self,
        controller_id: int,
        name: str,
        driver: Any,
        ports: TickPorts,
        *,
        tick_period_s: float = 1.0,
        uptime_check_ticks: int = UPTIME_CHECK_TICKS,
        record_every_s: float = 0.0,
    ) -> None:
        """`driver` is a `devices.driver.BoardDriver` (or one with its interface); give
        it `on_board_event` as its `on_event`. Tick records are published every tick, or
        at most every `record_every_s` (a simulation far faster than real time)."""
        self.id = controller_id
        self.name = name
        self.source = f"controller/{controller_id}"
        self.driver = driver
        self.ports = ports
        self.chambers: dict[int, ChamberRuntime] = {}
        self.deadman_s = deadman_timeout_s(tick_period_s)
        self.uptime_check_ticks = uptime_check_ticks
        self.record_every_s = record_every_s
        self._recorded_at = -math.inf
        self.ticks = 0
        self.reboots_seen = 0
        self.refusals = 0  # output commands the board refused: the host asked what it must not
        self.offline_since: float | None = None
        self.last_answer_at: float | None = None  # the board's last reply to a tick
        self.last_seen: float | None = None  # ... on the wall clock (epoch s)
        self.last_reading: Reading | None = None  # the last tick's `t`, None when it failed
        self._rebooted_at: float | None = None  # a boot the relays are not re-armed after yet
        self._uptime: tuple[float, float] | None = None  # (host time, board uptime) when last asked
        self._arm_due = True  # `w` owed: a (re)connected or rebooted board has it disarmed
        self._stall: tuple[float, float] | None = None  # (resumed at, stalled s): the dead-man tripped
        self._failing: dict[str, str] = {}  # side-effect kind -> first error, while it fails
        self._ran: set[str] = set()  # side-effect kinds run since the last report
        self._failed: set[str] = set()  # ... and those of them that failed

    # -- board events (from the driver) ----------------------------------------------------
    def on_board_event(self, event: BoardEvent) -> None:
        if event.kind == "boot":
            self._rebooted_at = self.ports.clock()  # the B: line comes at boot
            self._uptime = None
        if event.kind in ("online", "boot"):
            self._arm_due = True
        if event.kind in ("online", "offline", "boot", "log"):
            detail = event.detail.get("msg") or event.detail.get("reason") or ""
            level = "warning" if event.kind in ("offline", "boot") else "info"
            self._log(self.source, level, f"{self.name}: {event.kind} {detail}".strip())

    # -- the tick --------------------------------------------------------------------------
    async def tick(self) -> list[dict[str, Any]]:
        """Run one tick of every chamber; their `data` snapshot entries."""
        reading = await self._read()
        now, wall = self.ports.clock(), self.ports.wall()
        self.ticks += 1
        self.last_reading = reading
        if reading is not None:
            self._note_stall(now)
            self.last_answer_at, self.offline_since, self.last_seen = now, None, wall
            await self._check_reboot(now)
        else:
            self.offline_since = self.offline_since or now
        if self._rebooted_at is not None:
            self._rearm(self._rebooted_at, now)
        board_online = self.offline_since is None or now - self.offline_since < BOARD_GRACE_S

        for chamber in list(self.chambers.values()):
            await self._control(chamber, reading, now, wall)
        if reading is not None:
            await self._keep_deadman_armed()

        snapshot = []
        publishing = now - self._recorded_at >= self.record_every_s
        if publishing:
            self._recorded_at = now
        for chamber in list(self.chambers.values()):
            findings = chamber.evaluate_alarms(now, board_online)
            findings["deadman_tripped"] = self._stall_finding(now)
            findings["control_failed"] = chamber.failure_finding()
            self._side("alarms", self.ports.alarms, f"chamber/{chamber.id}", findings)
            if not publishing:
                continue
            record = chamber.record(reading is not None, wall, self.ports.latest)
            self._side("publish", self.ports.publish, f"chamber/{chamber.id}/data", record)
            snapshot.append({key: record[key] for key in SNAPSHOT_KEYS})
        runs = {c.id: s for c in self.chambers.values() if (s := c.run_state_to_save(wall)) is not None}
        if runs:
            self._side("run state", self.ports.store_runs, runs)
        self._report_side_effects()
        return snapshot

    async def _read(self) -> Reading | None:
        if not self.driver.online:
            return None
        try:
            return await self.driver.read()
        except (BoardUnavailable, BoardError) as error:
            log.info("%s: read failed: %s", self.name, error)
            return None

    async def _check_reboot(self, now: float) -> None:
        """Every few ticks ask the board's uptime: one that did not advance with our clock
        is a restart whose `B:` line never arrived. Re-armed as for a `B:`, from the boot."""
        if self._uptime is not None and self.ticks % self.uptime_check_ticks != 0:
            return
        try:
            uptime_s = (await self.driver.request("n")).body.get("uptime_s")
        except (BoardUnavailable, BoardError) as error:
            log.info("%s: uptime check failed: %s", self.name, error)
            return
        if isinstance(uptime_s, bool) or not isinstance(uptime_s, int | float) or uptime_s < 0:
            return
        if self._uptime is not None:
            asked_at, last_uptime = self._uptime
            # whole seconds on the board: allow the rounding of both readings
            if uptime_s < last_uptime + (now - asked_at) - 2.0:
                # now - uptime is at or just after the real boot: never less strict than the board
                self._rebooted_at = now - uptime_s
                self._arm_due = True
                self._log(
                    self.source,
                    "warning",
                    f"{self.name}: restarted without a B: line (uptime {uptime_s:.0f} s); "
                    "outputs counted off since that boot",
                )
        self._uptime = (now, float(uptime_s))

    def _rearm(self, boot_at: float, now: float) -> None:
        """The board rebooted: its outputs are off and its min off and dead time count from
        that boot; the host's relays do the same."""
        for chamber in self.chambers.values():
            chamber.board_rebooted(boot_at, now)
        self._rebooted_at = None
        self.reboots_seen += 1

    async def _control(
        self, chamber: ChamberRuntime, reading: Reading | None, now: float, wall: float
    ) -> None:
        """Decide and switch one chamber. Its own failure switches its outputs off."""
        try:
            if reading is None:  # the board's dead-man switches them off; count them off from now
                chamber.take_board_outputs({}, now)
            else:
                chamber.take_board_outputs(reading.outputs, now)
            chamber.take_switches(reading.inputs if reading is not None else None)
            decision = chamber.decide(reading.sensors if reading is not None else {}, now, wall)
            if reading is not None and not chamber.failed:
                await self._switch(chamber, {"heat": decision.heat_on, "cool": decision.cool_on}, now)
                fan = chamber.fan_wanted(now)  # follows the compressor as the board just reported it
                if fan is not None:
                    await self._switch(chamber, {"fan": fan}, now)
        except Exception as error:  # a bug or a bad value in one chamber: it alone stops
            log.exception("%s: control failed", chamber.name)
            if chamber.fail(f"{type(error).__name__}: {error}"):
                self._log(f"chamber/{chamber.id}", "error", f"{chamber.name}: control stopped: {error}")
            if reading is not None:
                await self._switch(chamber, {"heat": False, "cool": False, "fan": False}, now)

    async def _switch(self, chamber: ChamberRuntime, wanted: dict[str, bool], now: float) -> None:
        """Command the outputs that differ from the board's, those going off first."""
        for role in sorted(wanted, key=lambda name: wanted[name]):  # False sorts first
            slot = chamber.wiring.output_slot(role)
            if slot is None or wanted[role] == chamber.board_on[role]:
                continue
            try:
                state = await self.driver.set_output(slot, wanted[role])
            except (BoardUnavailable, BoardError) as error:
                log.info("%s: output %s: %s", chamber.name, role, error)
                continue
            chamber.board_on[role] = state.on
            if state.on != wanted[role]:
                self.refusals += 1
        chamber.align_relays(now)

    async def _keep_deadman_armed(self) -> None:
        """Every command feeds the board's dead-man; `w` arms it, after a (re)connect or a
        boot, and again now and then in case a boot went unseen."""
        if not self._arm_due and self.ticks % ARM_EVERY_TICKS != 0:
            return
        try:
            await self.driver.feed_deadman(self.deadman_s)
            self._arm_due = False
        except (BoardUnavailable, BoardError) as error:
            log.info("%s: arming the dead-man failed: %s", self.name, error)

    def _note_stall(self, now: float) -> None:
        """The host went silent longer than the dead-man: the board switched everything off."""
        if self.last_answer_at is not None and now - self.last_answer_at >= self.deadman_s:
            self._stall = (now, now - self.last_answer_at)

    def _stall_finding(self, now: float) -> Finding | None:
        if self._stall is None or now - self._stall[0] >= STALL_NOTICE_S:
            return None
        return Finding(
            "deadman_tripped",
            WARNING,
            f"{self.name}: control stalled {self._stall[1]:.0f} s; the board's dead-man switched "
            "the outputs off; control resumed",
        )

    # -- side effects ----------------------------------------------------------------------
    def _side(self, kind: str, effect: Callable[..., None], *args: Any) -> None:
        """Run a side effect; its failure never reaches control."""
        self._ran.add(kind)
        try:
            effect(*args)
        except Exception as error:
            self._failed.add(kind)
            if kind not in self._failing:
                log.exception("%s: %s failed; control goes on", self.name, kind)
                self._failing[kind] = f"{type(error).__name__}: {error}"

    def _report_side_effects(self) -> None:
        """A kind that ran since the last report and never failed works again; raise or
        clear `internal_error` from what still fails."""
        for kind in [k for k in self._failing if k in self._ran and k not in self._failed]:
            del self._failing[kind]
            log.info("%s: %s works again", self.name, kind)
        self._ran, self._failed = set(), set()
        findings: dict[str, Finding | None] = {"internal_error": None}
        if self._failing:
            text = "; ".join(f"{kind}: {error}" for kind, error in sorted(self._failing.items()))
            findings["internal_error"] = Finding("internal_error", CRITICAL, f"{self.name}: {text}")
        self._side("alarms", self.ports.alarms, self.source, findings)

    def _log(self, source: str, level: str, text: str) -> None:
        self._side("logs", self.ports.log, source, level, text)

    # -- shutting down ---------------------------------------------------------------------
    async def outputs_off(self, chamber: ChamberRuntime) -> None:
        """Command a chamber's outputs off now (removal, rewiring, shutdown)."""
        if not self.driver.online:
            return
        for role, slot, *_ in chamber.wiring.outputs:
            try:
                await self.driver.set_output(slot, False)
                chamber.board_on[role] = False
            except (BoardUnavailable, BoardError) as error:
                log.warning("%s: could not switch %s (slot %d) off: %s", chamber.name, role, slot, error)
