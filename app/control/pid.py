"""A PID controller for slow thermal plants (control.md "PID").

No clock of its own: the caller passes `dt_s`. What it has that simple PIDs lack:
- derivative on the measurement (a setpoint step does not kick), through a first-order
  filter with time constant Td/N, and clipped;
- the integral kept in output units (sum of Kp/Ti * e * dt), so a tuning change mid-run
  does not bump the output;
- anti-windup by conditional integration (only inside `integrate_band` of the setpoint,
  and never further into a saturated output) plus back-calculation from the duty the
  actuator really achieved (after min on/off times and interlocks);
- direction: a heater is direct (output rises when the measurement is low), a cooler
  reverse;
- bumpless manual -> auto transfer, and reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class PidTuning:
    kp: float  # output units per °C
    ti_s: float = math.inf  # integral time, s (inf = no integral action)
    td_s: float = 0.0  # derivative time, s
    n: float = 10.0  # derivative filter: time constant td_s / n
    tt_s: float | None = None  # back-calculation tracking time, s (default: sqrt(ti * td) or ti)
    out_min: float = 0.0
    out_max: float = 1.0
    d_clip: float | None = None  # |D| at most this (output units; default: the output span)
    integrate_band: float = math.inf  # integrate only while |error| <= this, °C
    reverse: bool = False  # True for a cooler: output rises when the measurement is high

    def __post_init__(self) -> None:
        if self.kp < 0 or self.ti_s <= 0 or self.td_s < 0 or self.n <= 0:
            raise ValueError("kp, td_s must be >= 0; ti_s and n > 0")
        if self.out_min >= self.out_max:
            raise ValueError("out_min must be below out_max")

    @property
    def tracking_s(self) -> float:
        if self.tt_s is not None:
            return self.tt_s
        if math.isinf(self.ti_s):
            return math.inf
        return math.sqrt(self.ti_s * self.td_s) if self.td_s > 0 else self.ti_s


class Pid:
    def __init__(self, tuning: PidTuning) -> None:
        self.tuning = tuning
        self.p = 0.0
        self.i = 0.0
        self.d = 0.0
        self.output = tuning.out_min  # last saturated output
        self._unsaturated = tuning.out_min  # last output before limits, for back-calculation
        self._last_measurement: float | None = None

    def _sign(self) -> float:
        return -1.0 if self.tuning.reverse else 1.0

    def reset(self) -> None:
        """Forget the past (mode change): no integral, no derivative history."""
        self.p = self.i = self.d = 0.0
        self.output = self._unsaturated = self.tuning.out_min
        self._last_measurement = None

    def set_tuning(self, tuning: PidTuning) -> None:
        """New parameters take effect without a bump: the integral is in output units."""
        self.tuning = tuning
        self.i = min(max(self.i, tuning.out_min), tuning.out_max)

    def retune(self, **changes: float) -> None:
        self.set_tuning(replace(self.tuning, **changes))

    def update(
        self, setpoint: float, measurement: float, dt_s: float, achieved: float | None = None
    ) -> float:
        """One step: the new output in [out_min, out_max].

        `achieved` is the output the actuator really delivered since the last step (the
        duty after relay constraints); the integral is pulled toward it so it does not
        wind up while the actuator is held back.
        """
        if dt_s <= 0:
            return self.output
        tuning = self.tuning
        sign = self._sign()
        error = sign * (setpoint - measurement)
        self.p = tuning.kp * error
        self.d = self._derivative(measurement, dt_s)
        self._integrate(error, dt_s, achieved)
        unsaturated = self.p + self.i + self.d
        self._unsaturated = unsaturated
        self.output = min(max(unsaturated, tuning.out_min), tuning.out_max)
        return self.output

    def _derivative(self, measurement: float, dt_s: float) -> float:
        tuning = self.tuning
        previous, self._last_measurement = self._last_measurement, measurement
        if tuning.td_s == 0 or previous is None:
            return 0.0
        filter_s = tuning.td_s / tuning.n
        # first-order filtered derivative of the measurement (backward difference)
        raw = -self._sign() * tuning.kp * tuning.td_s * (measurement - previous)
        value = (filter_s * self.d + raw) / (filter_s + dt_s)
        limit = tuning.d_clip if tuning.d_clip is not None else tuning.out_max - tuning.out_min
        return min(max(value, -limit), limit)

    def _integrate(self, error: float, dt_s: float, achieved: float | None) -> None:
        tuning = self.tuning
        if math.isinf(tuning.ti_s):
            self.i = 0.0
            return
        step = tuning.kp / tuning.ti_s * error * dt_s
        saturated_high = self._unsaturated >= tuning.out_max and step > 0
        saturated_low = self._unsaturated <= tuning.out_min and step < 0
        if abs(error) <= tuning.integrate_band and not (saturated_high or saturated_low):
            self.i += step
        if achieved is not None and not math.isinf(tuning.tracking_s):
            # back-calculation: pull the integral toward what the actuator delivered
            gap = achieved - self._unsaturated
            self.i += gap * min(1.0, dt_s / tuning.tracking_s)
        self.i = min(max(self.i, tuning.out_min - tuning.out_max), tuning.out_max - tuning.out_min)

    def track_manual(self, manual_output: float, setpoint: float, measurement: float) -> None:
        """Bumpless manual -> auto: set I so the next output equals `manual_output`."""
        tuning = self.tuning
        self.p = tuning.kp * self._sign() * (setpoint - measurement)
        self.d = 0.0
        self._last_measurement = measurement
        self.i = manual_output - self.p
        self.output = self._unsaturated = min(max(manual_output, tuning.out_min), tuning.out_max)
