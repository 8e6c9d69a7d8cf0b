"""Outputs: time-proportioned duty that survives relay constraints (control.md "Outputs").

Two layers, kept apart as style.md asks:
- `DutyWindow` turns a wanted duty into a wanted on/off state, window by window, carrying
  what min on/off times forbid into the next window so the average duty is preserved,
  with at most one start per window;
- `Relay` holds the actual state and lets a change through only when every constraint
  object agrees ("seconds until allowed" == 0): min on, min off (counted from boot), the
  heat/cool interlock and the dead time between them. There is no other way to a pin.
The relay reports the duty it achieved, which the PID uses for anti-windup.
A `Follower` is an output with no duty of its own (a fridge's fan): on while its leader
runs and for a while after, through a `Relay` with its own min on/off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Constraint(Protocol):
    name: str

    def wait_s(self, relay: Relay, want_on: bool, now: float) -> float:
        """Seconds until `relay` may take `want_on` (0 = now)."""


@dataclass
class MinOn:
    seconds: float
    name: str = "min_on"

    def wait_s(self, relay: Relay, want_on: bool, now: float) -> float:
        if want_on or not relay.on:
            return 0.0
        return max(0.0, relay.changed_at + self.seconds - now)


@dataclass
class MinOff:
    """Min off time; a relay starts 'just switched off' at boot, so this counts from boot."""

    seconds: float
    name: str = "min_off"

    def wait_s(self, relay: Relay, want_on: bool, now: float) -> float:
        if not want_on or relay.on:
            return 0.0
        return max(0.0, relay.changed_at + self.seconds - now)


@dataclass
class Group:
    """Relays that must never be on together (heater and cooler of one chamber)."""

    dead_s: float = 0.0
    members: list[Relay] = field(default_factory=list)


@dataclass
class Interlock:
    group: Group
    name: str = "interlock"

    def wait_s(self, relay: Relay, want_on: bool, now: float) -> float:
        if not want_on or relay.on:
            return 0.0
        # another member on: wait as long as that one must stay on at least (unknown: 1 s)
        return 1.0 if any(other.on for other in self.group.members if other is not relay) else 0.0


@dataclass
class DeadTime:
    """After one member goes off, another may go on only `group.dead_s` later (also from boot)."""

    group: Group
    name: str = "dead_time"

    def wait_s(self, relay: Relay, want_on: bool, now: float) -> float:
        if not want_on or relay.on:
            return 0.0
        waits = [
            other.changed_at + self.group.dead_s - now
            for other in self.group.members
            if other is not relay and not other.on
        ]
        return max([0.0, *waits])


class Relay:
    """The actual state of one output, changed only through its constraints."""

    def __init__(self, name: str, boot_time: float, constraints: list[Constraint] | None = None) -> None:
        self.name = name
        self.on = False
        self.changed_at = boot_time  # off since boot: min off and dead time count from boot
        self.constraints: list[Constraint] = list(constraints or [])
        self.held_by: str | None = None  # the constraint holding back the last request
        self.hold_s = 0.0
        self._on_since_mark = 0.0  # on-time accounting for the achieved duty
        self._mark = boot_time

    def request(self, want_on: bool, now: float) -> bool:
        """Try to reach `want_on`; returns the actual state."""
        self._account(now)
        if want_on == self.on:
            self.held_by, self.hold_s = None, 0.0
            return self.on
        waits = [(constraint.wait_s(self, want_on, now), constraint.name) for constraint in self.constraints]
        longest, name = max(waits, default=(0.0, None))
        if longest > 0:
            self.held_by, self.hold_s = name, longest
            return self.on
        self.on = want_on
        self.changed_at = now
        self.held_by, self.hold_s = None, 0.0
        return self.on

    def force_off(self, now: float) -> None:
        """Fail-safe path for a lost board: the board has switched off by itself already."""
        self._account(now)
        if self.on:
            self.on = False
            self.changed_at = now

    def rebooted(self, boot_time: float, now: float) -> None:
        """The board restarted at `boot_time` and switched this relay off then; min off and
        the dead time count from there (never from earlier than the host's own last change)."""
        self._account(now)
        self.on = False
        self.changed_at = max(self.changed_at, boot_time)
        self.held_by, self.hold_s = None, 0.0

    def _account(self, now: float) -> None:
        if self.on:
            self._on_since_mark += now - self._mark
        self._mark = now

    def take_on_time(self, now: float) -> float:
        """On-seconds since the last call (for the achieved duty)."""
        self._account(now)
        on_time, self._on_since_mark = self._on_since_mark, 0.0
        return on_time


class Follower:
    """An output that runs while its leader runs and `after_s` after the leader stopped (a
    fridge's fan: on with the compressor, then long enough to clear the evaporator's cold).

    `follow` is told the leader's state as the board reports it, every tick; it is not part
    of the leader's interlock group, so it never holds the leader back. Its relay keeps the
    follower's own min on and min off, as the board does."""

    def __init__(
        self, name: str, boot_time: float, after_s: float, min_on_s: float = 0.0, min_off_s: float = 0.0
    ) -> None:
        self.relay = Relay(name, boot_time, [MinOn(min_on_s), MinOff(min_off_s)])
        self.after_s = after_s
        self._leader_on = False
        self._stopped_at: float | None = None  # when the leader was first seen off after running

    def follow(self, leader_on: bool, now: float) -> bool:
        """Whether the follower should run now, the leader being `leader_on`."""
        if leader_on:
            self._leader_on, self._stopped_at = True, None
            return True
        if self._leader_on:
            self._leader_on, self._stopped_at = False, now
        return self._stopped_at is not None and now - self._stopped_at < self.after_s

    def decide(self, leader_on: bool, now: float) -> bool:
        """Follow the leader through the relay's constraints; returns the relay's state."""
        return self.relay.request(self.follow(leader_on, now), now)


def protected_pair(
    boot_time: float,
    heat_min_on: float,
    heat_min_off: float,
    cool_min_on: float,
    cool_min_off: float,
    dead_s: float,
) -> tuple[Relay, Relay]:
    """A heater and a cooler that are never on together, with dead time between them."""
    group = Group(dead_s)
    heater = Relay("heat", boot_time)
    cooler = Relay("cool", boot_time)
    group.members += [heater, cooler]
    for relay, min_on, min_off in ((heater, heat_min_on, heat_min_off), (cooler, cool_min_on, cool_min_off)):
        relay.constraints = [MinOn(min_on), MinOff(min_off), Interlock(group), DeadTime(group)]
    return heater, cooler


class DutyWindow:
    """Wanted on/off for a duty, window by window, preserving the average under min times.

    A window plans `duty * window + carry` seconds on, from its start. Too short to meet
    min on: skip the window and owe it to the next. Leaving too short a rest for min off:
    stay on the whole window and count the surplus against the next. At the end of a
    window the carry is what was asked over the window (its mean duty) minus what was
    planned, so over many windows the planned on-time equals the asked on-time.
    """

    def __init__(self, window_s: float, min_on_s: float = 0.0, min_off_s: float = 0.0) -> None:
        if window_s <= 0:
            raise ValueError("window must be positive")
        self.window_s = window_s
        self.min_on_s = min_on_s
        self.min_off_s = min_off_s
        self.carry_s = 0.0  # on-time owed (+) or given in advance (-) by earlier windows
        self.window_start: float | None = None
        self.planned_on_s = 0.0
        self._asked_s = 0.0  # integral of the asked duty over this window so far
        self._owed_at_plan_s = 0.0
        self._last: tuple[float, float] | None = None  # (time, duty) of the previous call

    def wanted(self, duty: float, now: float) -> bool:
        """Whether the output should be on now, for the duty asked now."""
        duty = min(max(duty, 0.0), 1.0)
        if self._last is not None:
            last_time, last_duty = self._last
            self._asked_s += last_duty * (now - last_time)
        self._last = (now, duty)
        idle_window = self.planned_on_s == 0 and duty > 0 and self.window_start is not None
        if self.window_start is None or now >= self.window_start + self.window_s or idle_window:
            if self.window_start is not None:
                self.carry_s = min(
                    max(self._asked_s + self.carry_s - self.planned_on_s, -self.window_s), self.window_s
                )
            self.window_start = now
            self._asked_s = 0.0
            self._owed_at_plan_s = duty * self.window_s + self.carry_s
            self.planned_on_s = self._plan(self._owed_at_plan_s)
        else:
            self._shorten_if_duty_dropped(duty, now)
        return now - self.window_start < self.planned_on_s

    def stop(self, now: float) -> None:
        """The loop is off (mode off, sensor lost): the plan ends now and nothing is owed.

        The window ends with it, so the next duty asked starts a fresh window at once and
        the relay's own constraints (min off, dead time) alone decide when the output may
        come back; `started` then times that window from the real start, so it still holds
        one start. Keeping the stopped window's start instead left a compressor asked for
        100 % off for the rest of that window (~8 min after a lost probe came back)."""
        self.carry_s = 0.0
        self.window_start = None
        self.planned_on_s = 0.0
        self._asked_s = 0.0
        self._owed_at_plan_s = 0.0
        self._last = None

    def started(self, now: float) -> None:
        """The relay came on only now (held back by min off or dead time): the window
        begins at the real start, so the next start is a whole window later."""
        if self.window_start is not None and now > self.window_start:
            self.window_start = now

    def _plan(self, owed_s: float) -> float:
        if owed_s < self.min_on_s or owed_s <= 0:
            return 0.0  # too short to start: skip, it stays owed
        if self.window_s - owed_s < self.min_off_s:
            return self.window_s  # too short a rest: stay on, the surplus is carried
        return owed_s

    def _shorten_if_duty_dropped(self, duty: float, now: float) -> None:
        """Never keep a whole window on once the asked duty has dropped (one start per window)."""
        assert self.window_start is not None
        owed_s = duty * self.window_s + self.carry_s
        if owed_s < self._owed_at_plan_s:
            self._owed_at_plan_s = owed_s
            elapsed = now - self.window_start
            self.planned_on_s = max(min(elapsed, self.planned_on_s), owed_s, 0.0)
