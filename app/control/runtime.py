"""One chamber in the running control loop: its wiring on the board, its controller, its
sensor validators, alarm rules and profile run, and one tick of all of them.

A chamber is built once and then re-configured in place when its settings change (mode,
setpoints, limits, profile commands), so the relays keep their timers: a setpoint change
never restarts a compressor's min-off or the heat/cool dead time. Only a change of wiring
(which slots, pins or min times) builds it anew, conservatively held off as after a boot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from devices.protocol import input_config

from ..db.models import Chamber, Profile
from .alarms import CRITICAL, AlarmLimits, ChamberAlarmRules, ChamberTick, Finding
from .chamber import Decision, FermenterControl, FermenterTuning
from .gravity import Lookup, linked_reading, no_readings
from .outputs import Follower
from .profiles import (
    FermentationProfile,
    MashRun,
    MashSchedule,
    ProfileRun,
    Step,
    setpoint_jump_after_outage,
)
from .sensors import SensorStatus, SensorValidator
from .switches import SWITCH_FUNCTIONS, Switches
from .tuning import TuningError, build_tuning, wired_values
from .vessel import VesselControl, VesselTuning

log = logging.getLogger(__name__)

SENSOR_FUNCTIONS = {"beer_temp": "beer", "fridge_temp": "fridge", "room_temp": "room"}
OUTPUT_FUNCTIONS = ("heat", "cool", "fan")
SEEN_EVERY_S = 60.0  # how often a running fermentation profile records that we were alive
MASH_SAVE_EVERY_S = 10.0  # hold progress since the last save does not count after a restart
OUTAGE_S = 180.0  # a gap in `seen_at` longer than this was the server being down


@dataclass(frozen=True)
class Wiring:
    """What a chamber uses on its board; a change of any of it rebuilds the chamber."""

    kind: str
    sensors: tuple[tuple[str, int], ...]  # (beer|fridge|room, slot)
    outputs: tuple[tuple[str, int, int, int], ...]  # (heat|cool|fan, slot, min_on_s, min_off_s)
    switches: tuple[tuple[str, int], ...]  # (door|level_high|pilot_light|switch_input, slot)

    @classmethod
    def of(cls, row: Chamber) -> Wiring:
        devices = sorted(row.devices, key=lambda d: d.id)
        return cls(
            kind=row.kind,
            sensors=tuple(
                (SENSOR_FUNCTIONS[d.function], d.slot)
                for d in devices
                if d.function in SENSOR_FUNCTIONS and d.slot
            ),
            outputs=tuple(
                (d.function, d.slot, *protected_min_times(d.function, d.min_on_s, d.min_off_s))
                for d in devices
                if d.function in OUTPUT_FUNCTIONS and d.slot
            ),
            switches=tuple(
                (d.function, d.slot) for d in devices if d.function in SWITCH_FUNCTIONS and d.slot
            ),
        )

    @cached_property
    def sensor_slots(self) -> dict[str, int]:
        return {role: slot for role, slot in self.sensors}

    def sensor_slot(self, name: str) -> int | None:
        return self.sensor_slots.get(name)

    def output_slot(self, name: str) -> int | None:
        return next((slot for role, slot, *_ in self.outputs if role == name), None)

    def output_times(self, name: str) -> tuple[int, int] | None:
        """(min on, min off) of the output `name` as host and board apply them."""
        return next(((on_s, off_s) for role, _slot, on_s, off_s in self.outputs if role == name), None)


def protected_min_times(function: str, min_on_s: int, min_off_s: int) -> tuple[int, int]:
    """An output's min on/off as host and board apply them: a compressor (`cool`) never runs
    with less protection than control.md's 180 s / 300 s, whatever its device row says."""
    if function == "cool":
        return max(min_on_s, 180), max(min_off_s, 300)
    return min_on_s, min_off_s


def slot_configs(
    rows: Iterable[Chamber], runtimes: Mapping[int, ChamberRuntime]
) -> dict[int, dict[str, Any]]:
    """The board slots a controller's chambers use, as `c` commands' bodies: sensors by
    OneWire ROM, outputs with their protected min times, switch inputs on their pins. Each
    chamber's heater and compressor are its own interlock group with its dead time; a fan
    is in no group, so it never holds either back (docs/control.md "Fan")."""
    wanted: dict[int, dict[str, Any]] = {}
    for group, chamber in enumerate(sorted(rows, key=lambda c: c.id), start=1):
        runtime = runtimes.get(chamber.id)
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
            elif device.function in SWITCH_FUNCTIONS:
                wanted[device.slot] = input_config(device.slot, int(device.address), bool(device.invert))
            elif device.function in OUTPUT_FUNCTIONS and runtime is not None:
                min_on_s, min_off_s = protected_min_times(device.function, device.min_on_s, device.min_off_s)
                grouped = device.function != "fan"
                wanted[device.slot] = {
                    "slot": device.slot,
                    "kind": "output",
                    "pin": int(device.address),
                    "invert": device.invert,
                    "min_on_s": int(min_on_s),
                    "min_off_s": int(min_off_s),
                    "group": group if grouped else 0,
                    "dead_s": int(dead_s) if grouped else 0,
                }
    return wanted


def _built(row: Chamber, wiring: Wiring) -> FermenterTuning | VesselTuning:
    """The chamber's tuning (app/control/tuning.py): defaults, its `tuning` entries and the
    min times its output devices set. The API refuses entries that cannot run; a row
    stored before it did (or edited by hand) raises `TuningError` naming the field, and
    the chamber stays off with an alarm that says so."""
    wired = wired_values(row.kind, ((role, on_s, off_s) for role, _slot, on_s, off_s in wiring.outputs))
    return build_tuning(row.kind, row.tuning or {}, wired)


def _tuning(row: Chamber, wiring: Wiring) -> FermenterTuning:
    if row.kind != "fermenter":  # a vessel's tuning is its own; this one gives the board's dead time
        return FermenterTuning()
    tuning = _built(row, wiring)
    assert isinstance(tuning, FermenterTuning)
    return tuning


def _named(error: Exception) -> str:
    """A tuning problem as the API names it (`tuning.<key>: why`)."""
    if isinstance(error, TuningError):
        return f"tuning.{error.field}: {error.message}"
    return str(error)


def _stepped(before: float | None, after: float | None) -> bool:
    if before is None or after is None:
        return before is not after
    return abs(after - before) > 0.5


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _vessel_tuning(row: Chamber, wiring: Wiring) -> VesselTuning:
    tuning = _built(row, wiring)
    assert isinstance(tuning, VesselTuning)
    return tuning


NOT_READ = SensorStatus(None, False, False, "not read yet")
OFF = Decision(False, False, 0.0, 0.0, None, "off")
FAILED = Decision(False, False, 0.0, 0.0, None, "control_failed")
VESSEL_MODES = {"off": "off", "beer": "vessel", "profile": "profile", "boil": "boil"}


class ChamberRuntime:
    """A fermenter (cascade on beer and fridge air) or a mash tun / kettle (one heat loop on
    the vessel probe, the `beer_temp` device; `beer_setpoint` is the vessel setpoint)."""

    def __init__(self, row: Chamber, boot: float, log_line: Any) -> None:
        """`boot`: the monotonic time the board's relays count off from (now, at a start)."""
        self.id = row.id
        self.wiring = Wiring.of(row)
        self.failure: str | None = None  # why control is stopped (outputs off) until rebuilt
        self.tuning = FermenterTuning()
        self.control: FermenterControl | VesselControl
        try:
            if row.kind == "fermenter":
                self.tuning = _tuning(row, self.wiring)
                self.control = FermenterControl(self.tuning, boot)
            else:
                self.control = VesselControl(_vessel_tuning(row, self.wiring), boot)
        except (TypeError, ValueError) as error:  # a row written by hand or by an older version
            self.control = (
                FermenterControl(FermenterTuning(), boot)
                if row.kind == "fermenter"
                else (VesselControl(VesselTuning(), boot))
            )
            self.failure = f"tuning unusable, control off: {_named(error)}"
        self.decision = OFF
        self.statuses = {name: NOT_READ for name in ("beer", "fridge", "room")}
        self.setpoint_c: float | None = None
        self.progress: dict[str, Any] | _FermentationProgress | None = None
        self.validators = {name: SensorValidator(powered_at=boot) for name in ("beer", "fridge", "room")}
        self.switches = Switches(self.wiring.switches)
        fan_times = self.wiring.output_times("fan")
        # the fan follows the compressor as the board reports it (docs/control.md "Fan")
        self.fan = None if fan_times is None else Follower("fan", boot, self.tuning.fan_after_s, *fan_times)
        self.board_on = {"heat": False, "cool": False, "fan": False}
        self._log_line = log_line  # (chamber, level, text) -> None: publishes on `logs`
        self.name = row.name
        self.gravity_series: str | None = row.gravity_series
        self.mode = "off"
        self.configured = False  # the first configure is the start, not a change of mode
        self.beer_set_c: float | None = None
        self.fridge_set_c: float | None = None
        self.rules = ChamberAlarmRules(row.name)
        self.profile_name: str | None = None
        self.fermentation: FermentationProfile | None = None
        self.schedule: MashSchedule | None = None
        self.run: ProfileRun | None = None
        self.mash: MashRun | None = None
        self.state: dict[str, Any] = {}  # the stored run, as last loaded or saved
        self.saved_at = 0.0
        self.setpoint_changed_at: float | None = None
        self.last_setpoint: float | None = None
        self.last_elapsed_s: float | None = None

    @property
    def kind(self) -> str:
        return self.wiring.kind

    # -- settings -------------------------------------------------------------------------
    def configure(self, row: Chamber, profile: Profile | None, now: float, now_wall: float) -> None:
        """Take the stored settings; keeps the controller and its relays. `now` is the
        monotonic clock, `now_wall` epoch seconds."""
        if row.mode != self.mode and self.configured:
            self._log_line(self, "info", f"mode {self.mode} -> {row.mode}")
        self.configured = True
        self.name, self.mode = row.name, row.mode
        self.gravity_series = row.gravity_series
        if (row.beer_setpoint, row.fridge_setpoint) != (self.beer_set_c, self.fridge_set_c):
            self.setpoint_changed_at = now
        self.beer_set_c, self.fridge_set_c = row.beer_setpoint, row.fridge_setpoint
        self.rules.name = row.name
        self._retune(row)
        try:
            self.rules.limits = AlarmLimits.from_settings(row.alarm_limits)
        except (TypeError, ValueError) as error:  # the API validates; a hand-edited row may not
            self._log_line(self, "error", f"alarm limits unusable, defaults kept: {error}")
        self._take_profile(profile)
        state = dict(row.profile_state or {})
        if state.get("run") != self.state.get("run") or state.get("rev") != self.state.get("rev"):
            self._take_run(state, now_wall)

    def _retune(self, row: Chamber) -> None:
        """A tuning change applies from the next tick, keeping the relays' protection."""
        if self.failure is not None:
            return
        try:
            tuning = _built(row, self.wiring)
        except ValueError as error:  # the API refuses it; a hand-edited row may not
            self.fail(f"tuning unusable, control off: {_named(error)}")
            return
        if tuning != self.control.tuning:
            self.control.retune(tuning)  # type: ignore[arg-type]
            if isinstance(tuning, FermenterTuning):
                self.tuning = tuning
                if self.fan is not None:
                    self.fan.after_s = tuning.fan_after_s
            self._log_line(self, "info", "tuning changed; applied from the next tick")

    def _take_profile(self, profile: Profile | None) -> None:
        self.profile_name = profile.name if profile is not None else None
        self.fermentation = self.schedule = None
        if profile is None:
            return
        if profile.kind == "fermentation" and profile.points:
            self.fermentation = FermentationProfile.of(profile.points)
        elif profile.kind == "mash":
            self.schedule = MashSchedule(
                [Step(s.name, s.temperature, s.hold_min, s.ramp_c_per_min, s.confirm) for s in profile.steps]
            )

    def _take_run(self, state: dict[str, Any], now_wall: float) -> None:
        """A run from the database: at start-up, or after a command through the API."""
        fresh = not self.state  # nothing loaded before: this process is just starting it
        self.state = state
        self.run = self.mash = None
        self.last_elapsed_s = None
        if not state.get("run"):
            return
        try:
            if state.get("kind") == "mash":
                if self.schedule is None:
                    raise ValueError("the chamber's profile is not a mash profile")
                self.mash = MashRun.from_state(self.schedule, state)
            else:
                self.run = ProfileRun.from_state(state)
        except ValueError as error:
            self._log_line(self, "error", f"stored profile run unusable, control off: {error}")
            return
        seen_at = state.get("seen_at")
        if fresh and isinstance(seen_at, int | float) and now_wall - seen_at > OUTAGE_S:
            self._log_outage(float(seen_at), now_wall)

    def _log_outage(self, seen_at: float, now_wall: float) -> None:
        down = f"no control from {_iso(seen_at)} to {_iso(now_wall)} ({(now_wall - seen_at) / 3600:.2f} h)"
        if self.run is not None and self.fermentation is not None:
            before, after = self.run.elapsed_s(seen_at), self.run.elapsed_s(now_wall)
            jump = setpoint_jump_after_outage(self.fermentation, before, after)
            text = f"{down}; profile {self.profile_name} carries on at day {after / 86400:.2f}"
            if jump is not None:
                text += f"; {jump.describe()}"
            for event in self.fermentation.events_between(before, after):
                text += f"; event passed while down: {event.event}"
            self._log_line(self, "warning", text)
        elif self.mash is not None:
            step = self.mash.step
            self._log_line(
                self,
                "warning",
                f"{down}; mash step {step.name if step else '-'} keeps "
                f"{self.mash.hold_done_s / 60:.1f} min of hold done, the downtime does not count",
            )

    # -- one tick -------------------------------------------------------------------------
    def setpoint(
        self, now_wall: float, vessel_c: float | None
    ) -> tuple[float | None, dict[str, Any] | _FermentationProgress | None]:
        """The beer (or vessel) setpoint now and the profile progress for the tick record."""
        if self.mode != "profile":
            return self.beer_set_c, None
        if self.run is not None and self.fermentation is not None:
            elapsed = self.run.elapsed_s(now_wall)
            self._pass_events(elapsed)
            # the progress is only read when a record is published: built then, not per tick
            return self.fermentation.setpoint_at(elapsed), _FermentationProgress(self, elapsed)
        if self.mash is not None:
            if self.state.get("paused_at") is not None:
                step = self.mash.step
                return (step.temperature_c if step else None), {"name": self.profile_name, "paused": True}
            status = self.mash.update(now_wall, vessel_c)
            return status.setpoint_c, {
                "name": self.profile_name,
                "step": status.step_name,
                "step_index": status.step_index,
                "phase": status.phase,
                "hold_remaining_s": round(status.hold_remaining_s),
                "progress": round(status.progress, 4),
                "paused": False,
            }
        return None, {"name": self.profile_name, "error": "no usable run"}

    def _pass_events(self, elapsed: float) -> None:
        if (
            self.last_elapsed_s is not None
            and self.fermentation is not None
            and elapsed > self.last_elapsed_s
        ):
            for point in self.fermentation.events_between(self.last_elapsed_s, elapsed):
                self._log_line(self, "info", f"profile {self.profile_name}: {point.event}")
        self.last_elapsed_s = elapsed

    def decide(self, values: dict[int, float | None], now: float, now_wall: float) -> Decision:
        """Validate this tick's readings, take the setpoint, and decide the outputs."""
        slots = self.wiring.sensor_slots
        statuses = {
            name: validator.update(values.get(slots.get(name, -1)), now)
            for name, validator in self.validators.items()
        }
        self.statuses = statuses
        setpoint, progress = self.setpoint(now_wall, statuses["beer"].value)
        self.setpoint_c, self.progress = setpoint, progress
        if _stepped(self.last_setpoint, setpoint):
            # a step, not a ramp's creep: the deviation alarm waits a while after a step
            self.setpoint_changed_at = now
            self.last_setpoint = setpoint
        if self.failure is not None:
            self.decision = FAILED
        elif isinstance(self.control, VesselControl):
            self.decision = self.control.tick(
                now, VESSEL_MODES.get(self.mode, "off"), setpoint, statuses["beer"], statuses["room"]
            )
        else:
            mode = "beer" if self.mode == "profile" else self.mode
            self.decision = self.control.tick(
                now, mode, setpoint, self.fridge_set_c, statuses["beer"], statuses["fridge"], statuses["room"]
            )
        return self.decision

    def fail(self, why: str) -> bool:
        """Stop this chamber's control (outputs off) until it is rebuilt; True the first time."""
        first = self.failure is None
        self.failure = self.failure or why
        self.decision = FAILED
        return first

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def failure_finding(self) -> Finding | None:
        if self.failure is None:
            return None
        return Finding("control_failed", CRITICAL, f"{self.name}: {self.failure}; outputs off")

    def take_board_outputs(self, outputs: Mapping[int, Any], now: float) -> None:
        """The outputs as the board reports them: after a (re)connect before commanding any,
        and always, since the board may have switched one off by itself (dead-man)."""
        for role, slot, *_ in self.wiring.outputs:
            state = outputs.get(slot)
            self.board_on[role] = bool(state is not None and state.on)
        self.align_relays(now)
        if self.fan is not None:
            self.fan.follow(self.board_on["cool"], now)  # a compressor stop counts from now

    def take_switches(self, inputs: Mapping[int, bool] | None) -> None:
        """This tick's switch inputs (None: the board was not read), to debounce."""
        self.switches.update(inputs)

    def fan_wanted(self, now: float) -> bool | None:
        """After the compressor was switched: the fan's state to command (None: no fan)."""
        if self.fan is None:
            return None
        return self.fan.decide(self.board_on["cool"], now)

    def align_relays(self, now: float) -> None:
        """Align the controller's relays with the board's outputs."""
        if isinstance(self.control, VesselControl):
            self.control.board_state(self.board_on["heat"], now)
        else:
            self.control.board_state(self.board_on["heat"], self.board_on["cool"], now)
        if self.fan is not None and self.fan.relay.on and not self.board_on["fan"]:
            self.fan.relay.force_off(now)

    def board_rebooted(self, boot_at: float, now: float) -> None:
        """The board restarted at `boot_at`: its outputs went off then, and min off and the
        dead time count from there; 85 °C is suspect again for a while."""
        self.control.board_rebooted(boot_at, now)
        if self.fan is not None:
            self.fan.relay.rebooted(boot_at, now)
        self.board_on = {"heat": False, "cool": False, "fan": False}
        for validator in self.validators.values():
            validator.powered_up(boot_at)

    def evaluate_alarms(self, now: float, board_online: bool) -> dict[str, Finding | None]:
        """This tick's alarm findings (delays on the monotonic `now`). The switch rules see
        the debounced inputs: door open, level high, and the pilot out when its flame
        sensor reads inactive; an input not known yet (None) alarms nothing."""
        states = self.switches.states()
        pilot = states.get("pilot_light")
        switches = {
            "door_open": states.get("door"),
            "high_level": states.get("level_high"),
            "pilot_out": None if pilot is None else not pilot,
        }
        return self.rules.evaluate(self.alarm_tick(now, board_online, switches), now)

    def alarm_tick(self, now: float, board_online: bool, switches: Mapping[str, bool | None]) -> ChamberTick:
        decision, statuses = self.decision, self.statuses
        return ChamberTick(
            mode=self.mode,
            beer_c=statuses["beer"].value,
            beer_set_c=self.setpoint_c,
            fridge_c=statuses["fridge"].value,
            beer_lost=statuses["beer"].lost and self.wiring.sensor_slot("beer") is not None,
            fridge_lost=statuses["fridge"].lost and self.wiring.sensor_slot("fridge") is not None,
            board_online=board_online,
            heat_on=self.board_on["heat"],
            cool_on=self.board_on["cool"],
            heat_duty=decision.heat_duty,
            cool_duty=decision.cool_duty,
            heat_duty_achieved=decision.terms.get("heat_achieved"),
            cool_duty_achieved=decision.terms.get("cool_achieved"),
            door_open=switches.get("door_open"),
            high_level=switches.get("high_level"),
            pilot_out=switches.get("pilot_out"),
            setpoint_changed_at=self.setpoint_changed_at,
            beer_unchanged_s=self.validators["beer"].unchanged_s(now),
            fridge_unchanged_s=self.validators["fridge"].unchanged_s(now),
        )

    def record(self, board_answered: bool, now_wall: float, latest: Lookup = no_readings) -> dict[str, Any]:
        """The tick record published on `chamber/<id>/data`; `latest` looks up the linked
        `gravity_series`' latest sample (app/control/gravity.py)."""
        decision: Decision = self.decision
        statuses: dict[str, SensorStatus] = self.statuses
        state = decision.state if board_answered else "board_offline"
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "mode": self.mode,
            "state": state,
            "beer": statuses["beer"].value,
            "beer_set": self.setpoint_c,
            "fridge": statuses["fridge"].value,
            "fridge_set": decision.air_target_c,
            "room": statuses["room"].value,
            "heat": self.board_on["heat"],
            "cool": self.board_on["cool"],
            "fan": self.board_on["fan"],
            "switches": self.switches.states(),
            "profile": self.progress() if isinstance(self.progress, _FermentationProgress) else self.progress,
            "heat_duty": round(decision.heat_duty, 4),
            "cool_duty": round(decision.cool_duty, 4),
            "terms": {key: round(value, 4) for key, value in decision.terms.items()},
            "holds": {key: round(value, 1) for key, value in decision.holds.items()},
            "sensors": {
                name: {"valid": status.valid, "lost": status.lost, "reason": status.reason}
                for name, status in statuses.items()
                if self.wiring.sensor_slot(name) is not None
            },
            "gravity": linked_reading(self.gravity_series, latest, now_wall),
            "ts": datetime.fromtimestamp(now_wall, UTC).isoformat().replace("+00:00", "Z"),
        }

    # -- the stored run -------------------------------------------------------------------
    def run_state_to_save(self, now_wall: float) -> dict[str, Any] | None:
        """The run to store now, or None when nothing worth a write changed."""
        if not self.state.get("run"):
            return None
        keys = {k: self.state[k] for k in ("run", "rev", "paused_at", "started_at") if k in self.state}
        if self.mash is not None:
            step = self.mash.step
            waiting = step is not None and step.confirm and self.mash.confirmed_at is None
            state = {**self.mash.to_state(), **keys, "awaiting_confirm": waiting}
            changed = {k: v for k, v in state.items() if k != "hold_done_s"} != {
                k: v for k, v in self.state.items() if k not in ("hold_done_s", "seen_at")
            }
            due = now_wall - self.saved_at >= MASH_SAVE_EVERY_S
        elif self.run is not None:
            state = {**self.run.to_state(), **keys}
            changed = False
            due = now_wall - self.saved_at >= SEEN_EVERY_S
        else:
            return None
        if not (changed or due):
            return None
        state["seen_at"] = now_wall
        self.saved_at = now_wall
        self.state = state
        return state


class _FermentationProgress:
    """A fermentation run's progress at one elapsed time, as the tick record shows it."""

    __slots__ = ("chamber", "elapsed")

    def __init__(self, chamber: ChamberRuntime, elapsed: float) -> None:
        self.chamber, self.elapsed = chamber, elapsed

    def __call__(self) -> dict[str, Any]:
        chamber, elapsed = self.chamber, self.elapsed
        assert chamber.fermentation is not None and chamber.run is not None
        following = chamber.fermentation.next_event_after(elapsed)
        return {
            "name": chamber.profile_name,
            "elapsed_days": round(elapsed / 86400, 4),
            "progress": round(chamber.fermentation.progress(elapsed), 4),
            "paused": chamber.run.paused,
            "next_event": None
            if following is None
            else {"event": following.event, "in_s": round(following.offset_s - elapsed)},
        }
