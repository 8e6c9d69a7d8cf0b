"""A mash tun or kettle (control.md "Fermentation chamber: cascade", last sentence): one heat
PID on the vessel temperature, with a boil mode.

Vessel temperature -> heat PID + loss feed-forward -> duty-preserving window -> a relay
that honours min on/off counted from boot. There is no cooler; the `Decision` is the
chamber's with the cooler always off, so the server's control loop drives a vessel and a
chamber the same way: `tick`, send the relay states to the board, then `board_state` with
what the board reports.

Two pieces of plant knowledge, both in `VesselTuning` and both optional (0 turns them off):
- the element stores heat: a 3.5 kW element with a 45 s lag still holds ≈ 1.4 °C worth of
  a 25 L mash when it is switched off, so a loop that heats until the reading reaches the
  step temperature overshoots by about that. The PID therefore sees the temperature the
  vessel will reach once that heat is out, estimated from the relay's own on-time through
  a first-order model of the element (a Smith-predictor-style correction);
- the losses to the room: the duty a hold needs is fed forward from (setpoint − room),
  so the integral only trims a model error instead of having to find ~15 % duty after
  every step (too slowly in a cold room: a step then never quite arrived).
On a step the loop also aims `approach_aim_c` past the setpoint until the smoothed reading
is there, so a rest does arrive instead of being crept up on from one side.
See docs/control.md "Mash and kettle vessels" for the measured choices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .chamber import Decision
from .outputs import DutyWindow, MinOff, MinOn, Relay
from .pid import Pid, PidTuning
from .sensors import SensorStatus
from .tuning import check

MODES = ("off", "vessel", "profile", "boil")
ARRIVAL_FILTER_S = 10.0  # smoothing of the reading that tells a step has arrived


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


@dataclass(frozen=True)
class VesselTuning:
    """Defaults fit the simulated 25 L kettle with a 3.5 kW element (control.md)."""

    kp: float = 8.0  # duty per °C of predicted error
    ti_s: float = 120.0  # integral time; the integral only trims the feed-forward
    td_s: float = 0.0  # the element model does the anticipating; a D on 1/16 °C steps is noise
    derivative_filter_n: float = 10.0  # D filter time constant td_s / n, when td_s > 0
    integrate_band_c: float = 1.0  # integrate only this close to the setpoint, °C
    # On a step, aim this far past the new setpoint until the smoothed reading is past it: a
    # landing that creeps up on the setpoint from one side may take the whole rest to
    # arrive, and a rest starts when the vessel is there.
    approach_aim_c: float = 0.1
    window_s: float = 10.0  # SSR; a mechanical relay wants ≥ 10 min (control.md "Outputs")
    min_on_s: float = 0.0  # an SSR needs none; set both for a mechanical relay or contactor
    min_off_s: float = 0.0
    # The element: its first-order lag, and how far the vessel still rises when it is
    # switched off after a spell at full power (element W × lag s / vessel J/K).
    element_lag_s: float = 45.0
    element_store_c: float = 1.2
    # Losses: hold duty per °C of setpoint above the room (UA / element W), and the room
    # temperature to assume when there is no room probe.
    loss_duty_per_c: float = 10.0 / 3500.0
    room_c: float = 20.0
    # 99 °C: water boils at 100 °C at sea level and a boiling kettle's reading sits a few
    # LSB either side of that; 1 °C below gives a clear "it boils" without waiting on the
    # last fraction of a degree. Lower it ~1 °C per 300 m of altitude, or it never boils.
    boil_c: float = 99.0
    boil_duty: float = 0.7  # a rolling boil of 25 L on 3.5 kW without boiling over
    boil_band_c: float = 1.0  # back to full power only when the reading drops this far below

    def __post_init__(self) -> None:
        check("vessel", self)  # the bounds of app/control/tuning.py, which the API enforces too

    def pid_tuning(self) -> PidTuning:
        return PidTuning(
            kp=self.kp,
            ti_s=self.ti_s,
            td_s=self.td_s,
            n=self.derivative_filter_n,
            integrate_band=self.integrate_band_c,
            tt_s=self.ti_s,
        )


class VesselControl:
    """One vessel: call `tick` every control period (≈ 1 s), then `board_state`."""

    def __init__(self, tuning: VesselTuning, boot_time: float) -> None:
        self.tuning = tuning
        self.pid = Pid(tuning.pid_tuning())
        # off since boot: min off counts from boot, as on the board
        self.heater = Relay("heat", boot_time, [MinOn(tuning.min_on_s), MinOff(tuning.min_off_s)])
        self.window = DutyWindow(tuning.window_s, tuning.min_on_s, tuning.min_off_s)
        self._mode: str | None = None
        self._last_tick: float | None = None
        self._achieved = 0.0  # the duty the relay really delivered, about one window's average
        self._asked = 0.0  # the duty asked at the last tick
        self._asked_avg = 0.0  # the duty asked, averaged like `_achieved`
        self._store = 0.0  # heat stored in the element, as a fraction of its full-power store
        self._feed_forward = 0.0
        self._boiling = False
        self._setpoint: float | None = None
        self._approach = 0  # +1 / -1 while a step is on its way up / down, 0 once reached
        self._smooth_c: float | None = None  # the reading, smoothed, to tell arrival

    def tick(
        self,
        now: float,
        mode: str,
        setpoint_c: float | None,
        vessel: SensorStatus,
        room: SensorStatus | None = None,
    ) -> Decision:
        """Decide the heater for this tick.

        - "off": heater off;
        - "vessel": hold the constant `setpoint_c`; "profile": the same, with the setpoint
          the caller took from the mash schedule (None = control off in both);
        - "boil": full power below `boil_c`, `boil_duty` once the vessel reads at or above it.
        A lost vessel sensor switches the heater off in this tick (as soon as its min on,
        if any, allows), in every mode but "off". The room probe is optional (losses are
        then reckoned from `room_c`).
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        dt = 0.0 if self._last_tick is None else now - self._last_tick
        self._last_tick = now
        if mode != self._mode:  # a mode change starts the loop afresh (no stale integral)
            self._restart()
            self._mode = mode
        self._measure_achieved(now, dt)
        if mode == "off" or (mode in ("vessel", "profile") and setpoint_c is None):
            return self._switch_off(now, "off")
        if vessel.lost or vessel.value is None:
            self._restart()  # no integral, no derivative history: it resumes from scratch
            return self._switch_off(now, "sensor_lost")
        if mode == "boil":
            return self._boil(now, vessel.value)
        assert setpoint_c is not None
        room_c = room.value if room is not None and room.value is not None else self.tuning.room_c
        duty = self._heat_duty(setpoint_c, vessel.value, room_c, dt)
        return self._drive(now, duty, setpoint_c, None)

    def _restart(self) -> None:
        self.pid.reset()
        self._boiling = False
        self._setpoint = None
        self._smooth_c = None

    def _switch_off(self, now: float, state: str) -> Decision:
        """Off now, not at the end of the window: on-time the window still owes is
        forgotten, so it is not paid back in one go when control resumes."""
        tuning = self.tuning
        self.window = DutyWindow(tuning.window_s, tuning.min_on_s, tuning.min_off_s)
        self._asked = 0.0
        self.heater.request(False, now)  # min on, if any, still applies (the board enforces it too)
        return self._decision(0.0, None, state)

    def _heat_duty(self, setpoint_c: float, vessel_c: float, room_c: float, dt: float) -> float:
        tuning = self.tuning
        # the first tick has no interval yet: a tiny one lets P act at once, integrating nothing
        dt = max(dt, 1e-6)
        feed_forward = _clamp(tuning.loss_duty_per_c * (setpoint_c - room_c), 0.0, 1.0)
        if feed_forward != self._feed_forward:
            # the PID's own limits are what the feed-forward leaves, so its conditional
            # integration sees the real saturation
            self.pid.set_tuning(replace(self.pid.tuning, out_min=-feed_forward, out_max=1.0 - feed_forward))
            self._feed_forward = feed_forward
        # heat the element will still give, less what a steady hold keeps in it anyway
        steady = _clamp(feed_forward + self.pid.i, 0.0, 1.0)
        predicted_c = vessel_c + tuning.element_store_c * (self._store - steady)
        achieved = self._achieved_for_pid()
        aim_c = self._aim(setpoint_c, vessel_c, dt)
        duty = self.pid.update(aim_c, predicted_c, dt, achieved)
        return _clamp(feed_forward + duty, 0.0, 1.0)

    def _aim(self, setpoint_c: float, vessel_c: float, dt: float) -> float:
        """The setpoint, or `approach_aim_c` past it while a step is on its way there.

        "Arrived" is judged on a smoothed reading: a single reading can be 1.5 LSB off, and
        switching back to the setpoint that early leaves the vessel creeping up on it."""
        aim = self.tuning.approach_aim_c
        if self._smooth_c is None or setpoint_c != self._setpoint:
            self._smooth_c = vessel_c
        else:
            self._smooth_c += (vessel_c - self._smooth_c) * min(1.0, dt / ARRIVAL_FILTER_S)
        if setpoint_c != self._setpoint:
            self._setpoint = setpoint_c
            gap = setpoint_c - vessel_c
            self._approach = 0 if abs(gap) <= aim else (1 if gap > 0 else -1)
        if self._approach * (self._smooth_c - setpoint_c) >= 0:
            self._approach = 0
        return setpoint_c + self._approach * aim

    def _achieved_for_pid(self) -> float:
        """What the back-calculation tracks: the PID's own unsaturated output plus the
        output stage's shortfall against the duty last asked. Saturation is left to the
        conditional integration; tracking it too would drive the integral to its lower
        limit during every full-power climb and leave the vessel short of heat on arrival."""
        unsaturated = self.pid.p + self.pid.i + self.pid.d
        return unsaturated + (self._achieved - self._asked_avg)

    def _boil(self, now: float, vessel_c: float) -> Decision:
        tuning = self.tuning
        if vessel_c >= tuning.boil_c:
            self._boiling = True
        elif vessel_c < tuning.boil_c - tuning.boil_band_c:
            self._boiling = False  # cold wort or hops went in: bring it back at full power
        duty = tuning.boil_duty if self._boiling else 1.0
        return self._drive(now, duty, tuning.boil_c, "boiling" if self._boiling else None)

    def _measure_achieved(self, now: float, dt: float) -> None:
        if dt <= 0:
            return
        on_fraction = self.heater.take_on_time(now) / dt
        # a moving average over about one window of the relay's real on-time, and the
        # same average of what was asked: the window moves on-time between windows, so
        # only the two averages can be compared
        weight = min(1.0, dt / self.tuning.window_s)
        self._achieved += (on_fraction - self._achieved) * weight
        self._asked_avg += (self._asked - self._asked_avg) * weight
        # the element charges and discharges through its lag
        self._store += (on_fraction - self._store) * (1.0 - math.exp(-dt / self.tuning.element_lag_s))

    def _drive(self, now: float, duty: float, target: float | None, state: str | None) -> Decision:
        self._asked = duty
        want = self.window.wanted(duty, now)
        was_on = self.heater.on
        if self.heater.request(want, now) and not was_on:
            self.window.started(now)
        held = want and not self.heater.on and self.heater.held_by is not None
        if state is None or (state == "boiling" and held):
            state = self._state(want)
        return self._decision(duty, target, state)

    def _decision(self, duty: float, target: float | None, state: str) -> Decision:
        return Decision(
            heat_on=self.heater.on,
            cool_on=False,
            heat_duty=duty,
            cool_duty=0.0,
            air_target_c=target,
            state=state,
            terms={
                "p": self.pid.p,
                "i": self.pid.i,
                "d": self.pid.d,
                "feed_forward": self._feed_forward,
                "element_store": self._store,
                "heat_achieved": self._achieved,
            },
            holds={self.heater.name: self.heater.hold_s} if self.heater.held_by else {},
        )

    def _state(self, want: bool) -> str:
        held_by = self.heater.held_by
        if want and not self.heater.on and held_by:
            return {"min_off": "waiting_min_off"}.get(held_by, held_by)
        return "heating" if self.heater.on else "idle"

    def board_state(self, heat_on: bool, now: float) -> None:
        """Align the host's relay with what the board reports (it may have refused or,
        after its dead-man, switched off by itself)."""
        if self.heater.on and not heat_on:
            self.heater.force_off(now)

    def retune(self, tuning: VesselTuning) -> None:
        """New tuning from the next tick on, keeping the relay and the PID's integral."""
        self.tuning = tuning
        self.pid.set_tuning(tuning.pid_tuning())
        self.window.window_s = tuning.window_s

    def board_rebooted(self, boot_time: float, now: float) -> None:
        """Re-arm after a board restart: the element went off at `boot_time` and its min
        off counts from there, as on the board."""
        self.heater.rebooted(boot_time, now)

    def relays(self) -> tuple[Relay]:
        return (self.heater,)
