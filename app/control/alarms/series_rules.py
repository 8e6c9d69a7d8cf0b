"""Alarm rules on an ingested series: above / below a value, or stale."""

from __future__ import annotations

from collections.abc import Iterable

from .finding import WARNING, Finding, check_severity


class SeriesRule:
    """Alarms on an ingested series: above / below a value, or stale (no sample for `stale_s`).

    Codes `above`, `below`, `stale`, to raise under `source` (`series::<name>`). An alarm
    raised above `above` clears at `above - hysteresis` (below: `below + hysteresis`). A
    missing value leaves above/below as they were; staleness counts from the last sample.

    Staleness is measured on a monotonic clock, never on the samples' own (wall-clock)
    timestamps, so an NTP step neither makes a series stale nor hides that it is.
    """

    def __init__(
        self,
        series: str,
        above: float | None = None,
        below: float | None = None,
        stale_s: float | None = None,
        hysteresis: float = 0.0,
        severity: str = WARNING,
    ) -> None:
        if above is not None and below is not None and below >= above:
            raise ValueError("below must be less than above")
        if stale_s is not None and stale_s <= 0:
            raise ValueError("stale_s must be above 0")
        if hysteresis < 0:
            raise ValueError("hysteresis must be >= 0")
        check_severity(severity)
        self.series = series
        self.above = above
        self.below = below
        self.stale_s = stale_s
        self.hysteresis = hysteresis
        self.severity = severity
        self._raised: set[str] = set()

    @property
    def source(self) -> str:
        return f"series::{self.series}"

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes this rule judges (a condition set to None is not one of them)."""
        given = (("above", self.above), ("below", self.below), ("stale", self.stale_s))
        return tuple(code for code, limit in given if limit is not None)

    def resume(self, raised: Iterable[str]) -> None:
        """Take up alarms already active (after a restart, or a change of the rule), so
        each clears only past its hysteresis, as if this rule had raised it."""
        self._raised = {code for code in raised if code in self.codes}

    def evaluate(
        self, value: float | None, last_sample_at: float | None, now: float
    ) -> dict[str, Finding | None]:
        """Judge the series' latest `value` (None: nothing new to judge). `now` is the caller's
        monotonic clock (e.g. `time.monotonic()`) and `last_sample_at` the time on that same
        clock at which the last sample was received (None: none yet), not the sample's own
        timestamp."""
        findings: dict[str, Finding | None] = {}
        if value is not None and self.above is not None:
            if "above" in self._raised:
                over = value > self.above - self.hysteresis
            else:
                over = value > self.above
            text = f"{self.series} at {value:g}, above {self.above:g}"
            findings["above"] = self._mark("above", over, text)
        if value is not None and self.below is not None:
            if "below" in self._raised:
                under = value < self.below + self.hysteresis
            else:
                under = value < self.below
            text = f"{self.series} at {value:g}, below {self.below:g}"
            findings["below"] = self._mark("below", under, text)
        if self.stale_s is not None:
            if last_sample_at is None:
                findings["stale"] = self._mark("stale", True, f"{self.series}: no sample yet")
            else:
                age_s = now - last_sample_at
                text = f"{self.series}: no sample for {age_s:.0f} s (limit {self.stale_s:g} s)"
                findings["stale"] = self._mark("stale", age_s >= self.stale_s, text)
        return findings

    def _mark(self, code: str, holds: bool, text: str) -> Finding | None:
        if not holds:
            self._raised.discard(code)
            return None
        self._raised.add(code)
        return Finding(code, self.severity, text)
