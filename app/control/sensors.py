"""Sensor validation (control.md "Sensors and fail-safe"): validity flags, never exceptions.

A reading is invalid when it is missing, -127 °C (no answer), 85 °C within 10 s of the
sensor's power-up (its reset value), outside -20..120 °C, or further from the last valid
reading than physics allows. A few invalid ticks are ridden out on the last valid value;
more than `lost_after` in a row mark the sensor lost (its loop's outputs go off), and it
comes back only after `resume_after` valid readings in a row.
"""

from __future__ import annotations

from dataclasses import dataclass

LSB_C = 0.0625  # DS18B20 resolution at 12 bits
NO_ANSWER_C = -127.0
POWER_ON_C = 85.0


@dataclass(frozen=True)
class SensorLimits:
    low_c: float = -20.0
    high_c: float = 120.0
    max_rate_c_per_s: float = 5.0  # a fermenter's beer cannot move faster than this
    power_up_s: float = 10.0
    lost_after: int = 5  # consecutive invalid readings before the sensor counts as lost
    resume_after: int = 3  # consecutive valid readings before it counts again


@dataclass(frozen=True)
class SensorStatus:
    value: float | None  # what the loop may use: the reading, the last valid one, or None when lost
    valid: bool  # this reading itself
    lost: bool
    reason: str | None  # why this reading was refused


class SensorValidator:
    def __init__(self, limits: SensorLimits | None = None, powered_at: float = 0.0) -> None:
        self.limits = limits or SensorLimits()
        self.powered_at = powered_at
        self.lost = False
        self.last_valid: float | None = None
        self.last_valid_at: float | None = None
        self._invalid_run = 0
        self._valid_run = 0
        self._candidates: list[tuple[float, float]] = []  # readings refused only for their jump
        self._changed_at: float | None = None  # last time the value moved by at least one LSB
        self._reference: float | None = None

    def powered_up(self, now: float) -> None:
        """The board (and its sensors) just booted: 85 °C is suspect again for a while."""
        self.powered_at = now

    def _reason(self, value: float | None, now: float) -> str | None:
        limits = self.limits
        if value is None:
            return "no reading"
        if value == NO_ANSWER_C:
            return "sensor not answering (-127)"
        if value == POWER_ON_C and now - self.powered_at < limits.power_up_s:
            return "power-on value 85 right after power-up"
        if not limits.low_c <= value <= limits.high_c:
            return f"{value} outside {limits.low_c}..{limits.high_c}"
        if self.last_valid is not None and self.last_valid_at is not None:
            allowed = limits.max_rate_c_per_s * max(now - self.last_valid_at, 1.0)
            if abs(value - self.last_valid) > allowed:
                return f"jumped {value - self.last_valid:+.2f} from {self.last_valid}"
        return None

    def update(self, value: float | None, now: float) -> SensorStatus:
        reason = self._reason(value, now)
        if reason is not None and reason.startswith("jumped") and value is not None:
            reason = self._rebase_after_consistent_jump(value, now, reason)
        else:
            self._candidates.clear()
        if reason is None:
            assert value is not None
            self._accept(value, now)
        else:
            self._invalid_run += 1
            self._valid_run = 0
            if self._invalid_run > self.limits.lost_after:
                self.lost = True
        usable = None if self.lost else self.last_valid
        return SensorStatus(usable, reason is None, self.lost, reason)

    def _rebase_after_consistent_jump(self, value: float, now: float, reason: str) -> str | None:
        """A real change (probe moved to another vessel) shows as readings that agree with
        each other but not with the past: after `resume_after` of them, believe them."""
        self._candidates.append((value, now))
        recent = self._candidates[-self.limits.resume_after :]
        if len(recent) < self.limits.resume_after:
            return reason
        for (a, t_a), (b, t_b) in zip(recent, recent[1:], strict=False):
            if abs(b - a) > self.limits.max_rate_c_per_s * max(t_b - t_a, 1.0):
                return reason
        self.last_valid = value
        self.last_valid_at = now
        self._candidates.clear()
        return None

    def _accept(self, value: float, now: float) -> None:
        self.last_valid = value
        self.last_valid_at = now
        self._invalid_run = 0
        self._valid_run += 1
        if self.lost and self._valid_run >= self.limits.resume_after:
            self.lost = False
        if self._reference is None or abs(value - self._reference) >= LSB_C:
            self._reference = value
            self._changed_at = now

    def unchanged_s(self, now: float) -> float:
        """How long the valid reading has not moved by one LSB (for the advisory stuck alarm)."""
        return 0.0 if self._changed_at is None else now - self._changed_at
