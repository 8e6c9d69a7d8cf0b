"""A fermentation chamber's cascade (control.md "Fermentation chamber: cascade").

Beer PID -> fridge-air target (beer setpoint ± the clamp) -> a heat PID and a cool PID on
the fridge air with a neutral zone between them -> duty-preserving windows -> relays that
enforce min on/off (from boot), the heat/cool interlock and the dead time.

The clamp limits the air targets themselves (the heater never aims the air above
setpoint + clamp, the cooler never below setpoint - clamp); the beer PID's range is the
clamp plus the neutral zone, so the neutral zone costs no authority. The beer PID
integrates only within `beer_band_c` of its setpoint, and its anti-windup is fed the air
temperature the inner loops really achieved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .outputs import DutyWindow, Relay, protected_pair
from .pid import Pid, PidTuning
from .sensors import SensorStatus
from .tuning import check


@dataclass(frozen=True)
class FermenterTuning:
    beer_kp: float = 12.0  # °C of air target per °C of beer error
    beer_ti_s: float = 6 * 3600.0
    beer_td_s: float = 0.0  # a derivative on a 1/16 °C-quantised beer reading is mostly noise
    beer_band_c: float = 1.0
    beer_period_s: float = 60.0  # the outer loop's period
    clamp_c: float = 6.0
    neutral_zone_c: float = 1.0
    direction_hold_s: float = 3600.0  # no heat<->cool swap sooner than this after the last use
    heat_kp: float = 0.25  # duty per °C of air error
    heat_ti_s: float = 1200.0
    cool_kp: float = 1.0
    cool_ti_s: float = 1800.0
    heat_window_s: float = 10.0  # SSR
    cool_window_s: float = 1200.0  # compressor
    heat_min_on_s: float = 0.0
    heat_min_off_s: float = 0.0
    cool_min_on_s: float = 180.0
    cool_min_off_s: float = 300.0
    dead_s: float = 600.0
    # A fan device runs with the compressor and this long after it, while the evaporator
    # still holds cold worth moving into the air (runtime.py drives it, not the cascade).
    fan_after_s: float = 180.0

    def __post_init__(self) -> None:
        check("fermenter", self)  # the bounds of app/control/tuning.py, which the API enforces too


@dataclass
class Decision:
    """One tick's outcome, for the board, the tick record and the alarm engine."""

    heat_on: bool
    cool_on: bool
    heat_duty: float
    cool_duty: float
    air_target_c: float | None
    state: str  # idle, heating, cooling, waiting_min_off, interlock, dead_time, sensor_lost, off
    terms: dict[str, float] = field(default_factory=dict)
    holds: dict[str, float] = field(default_factory=dict)


def _pid_tunings(tuning: FermenterTuning) -> tuple[PidTuning, PidTuning, PidTuning]:
    """The beer, heat and cool loops' parameters."""
    span = tuning.clamp_c + tuning.neutral_zone_c
    beer = PidTuning(
        kp=tuning.beer_kp,
        ti_s=tuning.beer_ti_s,
        td_s=tuning.beer_td_s,
        out_min=-span,
        out_max=span,
        integrate_band=tuning.beer_band_c,
    )
    heat = PidTuning(kp=tuning.heat_kp, ti_s=tuning.heat_ti_s, tt_s=tuning.heat_ti_s / 4)
    cool = PidTuning(kp=tuning.cool_kp, ti_s=tuning.cool_ti_s, reverse=True, tt_s=tuning.cool_ti_s / 4)
    return beer, heat, cool


class FermenterControl:
    def __init__(self, tuning: FermenterTuning, boot_time: float) -> None:
        self.tuning = tuning
        beer, heat, cool = _pid_tunings(tuning)
        self.beer_pid, self.heat_pid, self.cool_pid = Pid(beer), Pid(heat), Pid(cool)
        self.heater, self.cooler = protected_pair(
            boot_time,
            tuning.heat_min_on_s,
            tuning.heat_min_off_s,
            tuning.cool_min_on_s,
            tuning.cool_min_off_s,
            tuning.dead_s,
        )
        self.heat_window = DutyWindow(tuning.heat_window_s, tuning.heat_min_on_s, tuning.heat_min_off_s)
        self.cool_window = DutyWindow(tuning.cool_window_s, tuning.cool_min_on_s, tuning.cool_min_off_s)
        self._mode: str | None = None
        self._beer_at: float | None = None
        self._last_side: str | None = None
        self._last_side_at = 0.0
        self._beer_set: float | None = None
        self._last_tick: float | None = None
        self._achieved = {"heat": 0.0, "cool": 0.0}

    def tick(
        self,
        now: float,
        mode: str,
        beer_set_c: float | None,
        fridge_set_c: float | None,
        beer: SensorStatus,
        fridge: SensorStatus,
        room: SensorStatus | None = None,
    ) -> Decision:
        dt = 0.0 if self._last_tick is None else now - self._last_tick
        self._last_tick = now
        if mode != self._mode:  # bumpless: start every loop afresh on a mode change
            for pid in (self.beer_pid, self.heat_pid, self.cool_pid):
                pid.reset()
            self._beer_at = None
            self._mode = mode
        self._measure_achieved(now, dt)
        air = fridge.value if fridge.value is not None else beer.value  # fridge lost: fall back to beer
        if mode == "off" or (mode in ("beer", "profile") and beer_set_c is None):
            return self._drive(now, 0.0, 0.0, None, "off")
        if mode in ("beer", "profile"):
            if beer.lost or beer.value is None:
                return self._drive(now, 0.0, 0.0, None, "sensor_lost")
            assert beer_set_c is not None
            # No back-calculation here: the air lags its target by design during a pull-down,
            # and tracking it would wind the integral the other way. The band and the clamp
            # (conditional integration) keep this integral honest.
            offset = self._beer_offset(now, beer_set_c, beer.value)
            center = beer_set_c + offset
            heat_target = min(center - self.tuning.neutral_zone_c, beer_set_c + self.tuning.clamp_c)
            cool_target = max(center + self.tuning.neutral_zone_c, beer_set_c - self.tuning.clamp_c)
            allowed = self._hold_direction(
                now, self._directions(center, offset, room.value if room is not None else None)
            )
        else:  # fridge mode: the air loops alone around the fridge setpoint
            if fridge_set_c is None:
                return self._drive(now, 0.0, 0.0, None, "off")
            center = fridge_set_c
            allowed = {"heat": True, "cool": True}
            heat_target = fridge_set_c - self.tuning.neutral_zone_c / 2
            cool_target = fridge_set_c + self.tuning.neutral_zone_c / 2
        if air is None:
            return self._drive(now, 0.0, 0.0, center, "sensor_lost")
        heat = self.heat_pid.update(heat_target, air, dt, self._achieved["heat"])
        cool = self.cool_pid.update(cool_target, air, dt, self._achieved["cool"])
        if not allowed["heat"]:
            heat = 0.0
        if not allowed["cool"]:
            cool = 0.0
        # never ask for both: the side with the larger demand wins
        if heat > 0 and cool > 0:
            heat, cool = (heat, 0.0) if heat >= cool else (0.0, cool)
        return self._drive(now, heat, cool, center, None)

    def _directions(self, center: float, offset: float, room_c: float | None) -> dict[str, bool]:
        """Which way the chamber may drive the air. An air dip after a compressor run is no
        reason to heat: heat is allowed only when the room is colder than the air target
        or the beer asks for clearly warmer air, and cooling the other way round; when the
        two disagree, the beer wins. Without a room sensor the beer's demand decides."""
        zone = self.tuning.neutral_zone_c
        if room_c is None:
            return {"heat": offset > 0, "cool": offset < 0}
        heat = room_c < center - zone / 2 or offset > zone
        cool = room_c > center + zone / 2 or offset < -zone
        if heat and cool:
            heat, cool = offset > 0, offset <= 0
        return {"heat": heat, "cool": cool}

    def _hold_direction(self, now: float, allowed: dict[str, bool]) -> dict[str, bool]:
        """Stay with the direction last used until it has been idle `direction_hold_s`:
        a fermenter's beer moves over hours, so swapping sides sooner only wastes energy
        and wears the relays (the board's dead time is the hard floor, this the policy)."""
        for side, relay in (("heat", self.heater), ("cool", self.cooler)):
            if relay.on:
                self._last_side, self._last_side_at = side, now
        other = {"heat": "cool", "cool": "heat"}
        if self._last_side is not None and now - self._last_side_at < self.tuning.direction_hold_s:
            allowed = {**allowed, other[self._last_side]: False}
        return allowed

    def _beer_offset(self, now: float, beer_set_c: float, beer_c: float) -> float:
        """The outer loop runs every `beer_period_s`: the beer moves over hours, and a
        derivative taken each second would only amplify the sensor's 1/16 °C steps."""
        due = self._beer_at is None or now - self._beer_at >= self.tuning.beer_period_s
        if due or beer_set_c != self._beer_set:
            dt = 0.0 if self._beer_at is None else now - self._beer_at
            self.beer_pid.update(beer_set_c, beer_c, dt)
            self._beer_at, self._beer_set = now, beer_set_c
        return self.beer_pid.output

    def _measure_achieved(self, now: float, dt: float) -> None:
        if dt <= 0:
            return
        for name, relay in (("heat", self.heater), ("cool", self.cooler)):
            # a slow average of the relay's real on-time: what the actuator delivered
            on_fraction = relay.take_on_time(now) / dt
            window = self.tuning.heat_window_s if name == "heat" else self.tuning.cool_window_s
            weight = min(1.0, dt / window)
            self._achieved[name] += (on_fraction - self._achieved[name]) * weight

    def _drive(
        self, now: float, heat_duty: float, cool_duty: float, target: float | None, state: str | None
    ) -> Decision:
        if state in ("off", "sensor_lost"):
            # Off means off: on-time the windows still owe must not keep a relay on (it
            # did: a carried compressor window ran 4 min past a lost beer probe).
            self.heat_window.stop(now)
            self.cool_window.stop(now)
            heat_want = cool_want = False
        else:
            heat_want = self.heat_window.wanted(heat_duty, now)
            cool_want = self.cool_window.wanted(cool_duty, now)
        # switch off first, so an interlocked partner can follow within the same tick
        wanted = ((self.heater, heat_want, self.heat_window), (self.cooler, cool_want, self.cool_window))
        for relay, want, window in sorted(wanted, key=lambda item: item[1]):
            was_on = relay.on
            if relay.request(want, now) and not was_on:
                window.started(now)
        if state is None:
            state = self._state(heat_want, cool_want)
        return Decision(
            heat_on=self.heater.on,
            cool_on=self.cooler.on,
            heat_duty=heat_duty,
            cool_duty=cool_duty,
            air_target_c=target,
            state=state,
            terms={
                "beer_p": self.beer_pid.p,
                "beer_i": self.beer_pid.i,
                "beer_d": self.beer_pid.d,
                "heat_achieved": self._achieved["heat"],
                "cool_achieved": self._achieved["cool"],
            },
            holds={relay.name: relay.hold_s for relay in (self.heater, self.cooler) if relay.held_by},
        )

    def _state(self, heat_want: bool, cool_want: bool) -> str:
        for relay, want in ((self.heater, heat_want), (self.cooler, cool_want)):
            if want and not relay.on and relay.held_by:
                return {"min_off": "waiting_min_off"}.get(relay.held_by, relay.held_by)
        if self.heater.on:
            return "heating"
        if self.cooler.on:
            return "cooling"
        return "idle"

    def retune(self, tuning: FermenterTuning) -> None:
        """New tuning from the next tick on, keeping the relays (their min times come from the
        wiring, which rebuilds the chamber when it changes) and each PID's integral."""
        for pid, new in zip((self.beer_pid, self.heat_pid, self.cool_pid), _pid_tunings(tuning), strict=True):
            pid.set_tuning(new)
        self.heat_window.window_s = tuning.heat_window_s
        self.cool_window.window_s = tuning.cool_window_s
        for constraint in self.heater.constraints:
            group = getattr(constraint, "group", None)
            if group is not None:
                group.dead_s = tuning.dead_s
        self.tuning = tuning

    def board_state(self, heat_on: bool, cool_on: bool, now: float) -> None:
        """Align the host's relays with what the board reports (it may have refused)."""
        for relay, on in ((self.heater, heat_on), (self.cooler, cool_on)):
            if relay.on and not on:
                relay.force_off(now)

    def board_rebooted(self, boot_time: float, now: float) -> None:
        """Re-arm after a board restart (a `B:` line, or its uptime went back): every relay
        went off at `boot_time`, and min off and the heat↔cool dead time count from there,
        as they do on the board."""
        for relay in (self.heater, self.cooler):
            relay.rebooted(boot_time, now)

    def relays(self) -> tuple[Relay, Relay]:
        return self.heater, self.cooler
