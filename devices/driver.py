"""The async board driver: one request at a time, replies matched by letter, garbage
logged and dropped, a lost board noticed at once and reconnected with backoff.

It knows nothing of the database or the control loop: the caller gives it a transport
factory and the slot configuration it wants, and listens to its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .protocol import BadLine, Line, LineSplitter, encode, parse_line
from .transport import Transport

log = logging.getLogger(__name__)

SENSOR_RANGE_C = (-55.0, 125.0)  # what a DS18B20 can report at all
MAX_SLOT = 32


class BoardError(Exception):
    """The board answered E:{code,msg}."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class BoardUnavailable(Exception):
    """No board is connected, or it did not answer in time."""


@dataclass(frozen=True)
class OutputState:
    on: bool
    hold_s: float = 0.0
    why: str | None = None  # why the board refused a change (min_on, min_off, interlock, dead_time...)


@dataclass(frozen=True)
class Reading:
    """One `t` reply: sensor values by slot (°C, None = invalid), outputs by slot, and
    switch inputs by slot (True = active, `invert` applied by the board; a slot missing
    here was not read: no `i` table, or a value that was not true or false)."""

    sensors: dict[int, float | None]
    outputs: dict[int, OutputState]
    inputs: dict[int, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class BoardEvent:
    kind: str  # online, offline, boot, log, garbage
    detail: dict[str, Any] = field(default_factory=dict)


def _slot(key: Any) -> int | None:
    try:
        slot = int(key)
    except (TypeError, ValueError):
        return None
    return slot if 1 <= slot <= MAX_SLOT else None


def parse_reading(body: dict[str, Any], problems: list[str]) -> Reading:
    """Validate a T reply; anything out of range becomes a problem, never a value."""
    sensors: dict[int, float | None] = {}
    raw_sensors = body.get("s", {})
    if isinstance(raw_sensors, dict):
        for key, value in raw_sensors.items():
            slot = _slot(key)
            if slot is None:
                problems.append(f"sensor slot {key!r} is not 1-{MAX_SLOT}")
            elif value is None:
                sensors[slot] = None
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                if SENSOR_RANGE_C[0] <= value <= SENSOR_RANGE_C[1]:
                    sensors[slot] = float(value)
                else:
                    problems.append(f"sensor {slot} reads {value}, outside {SENSOR_RANGE_C}")
                    sensors[slot] = None
            else:
                problems.append(f"sensor {slot} value {value!r} is not a number")
                sensors[slot] = None
    else:
        problems.append("'s' is not an object")
    outputs: dict[int, OutputState] = {}
    raw_outputs = body.get("o", {})
    if isinstance(raw_outputs, dict):
        for key, value in raw_outputs.items():
            slot = _slot(key)
            state = _output_state(value)
            if slot is None or state is None:
                problems.append(f"output {key!r}: {value!r} is not a valid output state")
            else:
                outputs[slot] = state
    else:
        problems.append("'o' is not an object")
    return Reading(sensors, outputs, _inputs(body.get("i", {}), problems))


def _inputs(raw: Any, problems: list[str]) -> dict[int, bool]:
    """The `i` table (docs/boards.md "Input slots"): absent on a board without inputs."""
    inputs: dict[int, bool] = {}
    if not isinstance(raw, dict):
        problems.append("'i' is not an object")
        return inputs
    for key, value in raw.items():
        slot = _slot(key)
        if slot is None or not isinstance(value, bool):  # 1, "true" or null is not a reading
            problems.append(f"input {key!r}: {value!r} is not true or false on a slot 1-{MAX_SLOT}")
        else:
            inputs[slot] = value
    return inputs


def _output_state(value: Any) -> OutputState | None:
    if not isinstance(value, dict) or not isinstance(value.get("on"), bool):
        return None
    hold = value.get("hold_s", 0)
    if not isinstance(hold, (int, float)) or isinstance(hold, bool) or not 0 <= hold <= 86400:
        return None
    why = value.get("why")
    return OutputState(value["on"], float(hold), why if isinstance(why, str) else None)


class BoardDriver:
    """Talks to one board through a transport made by `connect`, reconnecting as needed."""

    def __init__(
        self,
        connect: Callable[[], Transport],
        *,
        name: str = "board",
        request_timeout_s: float = 1.0,
        max_missed: int = 3,
        backoff_s: tuple[float, float] = (0.5, 30.0),
        on_event: Callable[[BoardEvent], None] | None = None,
    ) -> None:
        self._connect = connect
        self.name = name
        self.request_timeout_s = request_timeout_s
        self.max_missed = max_missed
        self.backoff_s = backoff_s
        self._on_event = on_event or (lambda event: None)
        self.log = logging.LoggerAdapter(log, {"board": name})
        self.identity: dict[str, Any] | None = None
        self.last_error: str | None = None  # why the link last failed or dropped
        self.slots: dict[int, dict[str, Any]] = {}  # wanted configuration, re-applied on (re)connect
        self._transport: Transport | None = None
        self._splitter = LineSplitter()
        self._lock = asyncio.Lock()
        self._pending: tuple[str, asyncio.Future[Line]] | None = None
        self._missed = 0
        self._online = asyncio.Event()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def online(self) -> bool:
        return self._online.is_set()

    async def wait_online(self, timeout_s: float) -> None:
        await asyncio.wait_for(self._online.wait(), timeout_s)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        self._stopping = True
        # the loop may miss the cancel (Python 3.11's wait_for loses one that lands as its
        # inner future completes, seen when a start failed while a board came online):
        # waking its wait for a lost link lets it see _stopping and end either way
        self._lost.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._drop_link("driver stopped", announce=False)

    async def _run(self) -> None:
        delay = self.backoff_s[0]
        while not self._stopping:
            try:
                await self._connect_once()
            except (OSError, ValueError, BoardUnavailable, BoardError) as error:
                # ValueError: an address the transport cannot use; keep trying, it may be fixed
                self.log.info("%s: cannot connect: %s; retrying in %.1f s", self.name, error, delay)
                self._drop_link(str(error), announce=False)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_s[1])
                continue
            delay = self.backoff_s[0]
            if self._stopping:
                break
            await self._lost.wait()
            if not self._stopping:
                await asyncio.sleep(delay)

    async def _connect_once(self) -> None:
        transport = self._connect()
        self._lost.clear()
        self._splitter = LineSplitter()
        await transport.open(self._received, self._link_lost)
        self._transport = transport
        self._missed = 0
        body = (await self.request("n")).body
        if body.get("fw") != "maelstrom" or body.get("proto") != 1:
            raise BoardError("bad_identity", f"not a Maelstrom board speaking protocol 1: {body}")
        self.identity = body
        for config in list(self.slots.values()):
            await self._apply_slot(config)
        self._online.set()
        self.log.info("%s online on %s: %s", self.name, transport.description, body)
        self._emit("online", {"identity": body, "transport": transport.description})

    def _link_lost(self, reason: str) -> None:
        self._drop_link(reason, announce=True)

    def _drop_link(self, reason: str, announce: bool) -> None:
        was_online = self._online.is_set()
        self._online.clear()
        self.last_error = reason
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._pending is not None and not self._pending[1].done():
            self._pending[1].set_exception(BoardUnavailable(reason))
        self._lost.set()
        if announce and was_online:
            self.log.warning("%s offline: %s", self.name, reason)
            self._emit("offline", {"reason": reason})

    def _emit(self, kind: str, detail: dict[str, Any]) -> None:
        try:
            self._on_event(BoardEvent(kind, detail))
        except Exception:
            self.log.exception("board event handler failed")

    # -- receiving ------------------------------------------------------------------------
    def _received(self, data: bytes) -> None:
        for item in self._splitter.feed(data):
            line = item if isinstance(item, BadLine) else parse_line(item)
            if isinstance(line, BadLine):
                self._garbage(line.reason, line.raw)
            else:
                self._dispatch(line)

    def _garbage(self, reason: str, raw: bytes) -> None:
        self.log.info("%s: dropped line %r: %s", self.name, raw[:64], reason)
        self._emit("garbage", {"reason": reason})

    def _dispatch(self, line: Line) -> None:
        if line.letter == "D":
            level, message = line.body.get("level", "I"), line.body.get("msg", "")
            self._emit(
                "log", {"level": level if level in ("I", "W", "E") else "I", "msg": str(message)[:256]}
            )
            return
        if line.letter == "B":
            reason = line.body.get("reason", "unknown")
            self.log.warning("%s rebooted (%s)", self.name, reason)
            self._emit("boot", {"reason": str(reason)})
            if self._online.is_set():
                asyncio.ensure_future(self._reapply_after_boot())
            return
        pending = self._pending
        if pending is None or pending[1].done():
            self._garbage(f"reply {line.letter} when nothing was asked", b"")
            return
        if line.letter == "E":
            pending[1].set_exception(
                BoardError(str(line.body.get("code", "error")), str(line.body.get("msg", "")))
            )
        elif line.letter == pending[0].upper():
            pending[1].set_result(line)
        else:
            self._garbage(f"reply {line.letter} does not answer {pending[0]}", b"")

    async def _apply_slot(self, config: dict[str, Any]) -> None:
        """Configure one wanted slot while connecting. A refused sensor or output keeps the
        board offline (control without it is not safe); a refused input (firmware older
        than input slots) is logged and left unread, so heating and cooling go on."""
        try:
            await self.request("c", config)
        except BoardError as error:
            if config.get("kind") != "input":
                raise
            msg = f"input slot {config.get('slot')} refused ({error}); it is not read"
            self.log.warning("%s: %s", self.name, msg)
            self._emit("log", {"level": "W", "msg": msg})

    async def _reapply_after_boot(self) -> None:
        """A rebooted board kept its slots in EEPROM; apply ours again in case they differ."""
        for config in list(self.slots.values()):
            try:
                await self.request("c", config)
            except (BoardUnavailable, BoardError) as error:
                self.log.warning("%s: re-applying slot %s failed: %s", self.name, config.get("slot"), error)

    # -- requests -------------------------------------------------------------------------
    async def request(self, letter: str, body: dict[str, Any] | None = None) -> Line:
        """Send one command and wait for its reply; one request at a time."""
        async with self._lock:
            if self._transport is None:
                raise BoardUnavailable(f"{self.name} is not connected")
            future: asyncio.Future[Line] = asyncio.get_running_loop().create_future()
            self._pending = (letter, future)
            self._transport.write(encode(letter, body))
            try:
                # a transport that answers at once (a simulated board on a virtual clock)
                # has settled the future already: no timer, no trip through the loop
                line = (
                    future.result()
                    if future.done()
                    else await asyncio.wait_for(future, self.request_timeout_s)
                )
            except TimeoutError:
                self._missed += 1
                if self._missed >= self.max_missed:
                    self._drop_link(f"no reply to {self._missed} requests", announce=True)
                raise BoardUnavailable(f"{self.name}: no reply to {letter}") from None
            finally:
                self._pending = None
            self._missed = 0
            return line

    async def scan(self) -> dict[str, Any]:
        return (await self.request("h")).body

    async def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        """Configure a slot on the board now and after every reconnect."""
        slot = config.get("slot")
        if _slot(slot) is None:
            raise ValueError(f"slot must be 1-{MAX_SLOT}")
        self.slots[int(slot)] = dict(config)
        return (await self.request("c", config)).body

    async def read(self) -> Reading:
        body = (await self.request("t")).body
        problems: list[str] = []
        reading = parse_reading(body, problems)
        for problem in problems:
            self._garbage(problem, b"")
        return reading

    async def set_output(self, slot: int, on: bool) -> OutputState:
        body = (await self.request("o", {"slot": slot, "on": on})).body
        state = _output_state(body)
        if state is None or body.get("slot") != slot:
            raise BoardError("bad_reply", f"output reply {body} does not describe slot {slot}")
        if state.on != on:
            self.log.info(
                "%s refused slot %d %s: %s (%.0f s)",
                self.name,
                slot,
                "on" if on else "off",
                state.why,
                state.hold_s,
            )
        return state

    async def feed_deadman(self, seconds: int) -> None:
        if not 1 <= seconds <= 600:
            raise ValueError("dead-man timeout is 1-600 s")
        await self.request("w", {"s": seconds})
