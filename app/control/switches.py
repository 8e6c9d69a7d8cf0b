"""Switch inputs of a chamber (door, level_high, pilot_light, switch_input), debounced on
the host (docs/control.md "Switch inputs").

The board reports each input slot as it reads it when `t` asks, with its pull-up and
`invert` applied (True = active: the door open, the level high, the pilot lit). A state
counts once it has read the same for `DEBOUNCE_READS` consecutive ticks, so a contact that
bounces or a wire that picks up a spike is never taken for an open door. A tick without a
reading for the slot (board offline, no `i` table, a value that was not true or false)
keeps the last debounced state and starts the count again; it raises nothing by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DEBOUNCE_READS = 2  # consecutive equal readings, one a tick (1 s by default)
SWITCH_FUNCTIONS = ("door", "level_high", "pilot_light", "switch_input")
# The state that alarms, which wins when two devices of one function disagree (two doors:
# either open is "door open"). A generic `switch_input` alarms on nothing; active wins.
ALARM_STATE = {"door": True, "level_high": True, "pilot_light": False, "switch_input": True}


class Debounced:
    """One input's state once it read the same `reads` times in a row; None until then."""

    def __init__(self, reads: int = DEBOUNCE_READS) -> None:
        if reads < 1:
            raise ValueError("reads must be at least 1")
        self.reads = reads
        self.state: bool | None = None
        self._candidate: bool | None = None
        self._count = 0

    def update(self, raw: bool | None) -> bool | None:
        """Take this tick's reading (None: not read); returns the debounced state."""
        if raw is None:
            self._candidate, self._count = None, 0
            return self.state
        if raw is self._candidate:
            self._count += 1
        else:
            self._candidate, self._count = raw, 1
        if self._count >= self.reads:
            self.state = raw
        return self.state


class Switches:
    """A chamber's switch inputs by (function, slot), read from each tick's `inputs`."""

    def __init__(self, wired: Iterable[tuple[str, int]], reads: int = DEBOUNCE_READS) -> None:
        self.inputs = {(function, slot): Debounced(reads) for function, slot in wired}

    def update(self, inputs: Mapping[int, bool] | None) -> None:
        """This tick's `Reading.inputs`, or None when the board was not read."""
        for (_function, slot), debounced in self.inputs.items():
            debounced.update(None if inputs is None else inputs.get(slot))

    def states(self) -> dict[str, bool | None]:
        """The debounced state of each configured function; None while not known yet."""
        by_function: dict[str, list[bool | None]] = {}
        for (function, _slot), debounced in self.inputs.items():
            by_function.setdefault(function, []).append(debounced.state)
        return {function: _combined(function, states) for function, states in by_function.items()}


def _combined(function: str, states: list[bool | None]) -> bool | None:
    alarm = ALARM_STATE[function]
    if alarm in states:
        return alarm
    if None in states:
        return None
    return not alarm
