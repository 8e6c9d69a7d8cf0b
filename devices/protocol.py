"""The board protocol (protocol.md §5): one ASCII line per command or reply, at most 256 bytes.

A command is one lower-case letter, optionally followed by a JSON object; a reply is the
upper-case letter, `:` and a JSON object. Boards also send unsolicited `B:` (boot) and
`D:` (log) lines. Parsing never raises on garbage: it returns a `BadLine` that says why.

Beyond protocol.md §5, a slot may be a switch input (docs/boards.md "Input slots"):
`c{"slot":7,"kind":"input","pin":7,"invert":false}`, read back in the `t` reply as
`"i":{"7":true}` (true = active); `devices.driver.parse_reading` checks that table.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_LINE = 256
BAUD = 57600
SPARK_TCP_PORT = 6666

COMMANDS = "nhctowr"  # identify, hardware scan, configure, read, output, watchdog (dead-man), reset
REPLIES = "NHCTOWE"  # E is an error reply to any command
UNSOLICITED = "BD"


@dataclass(frozen=True)
class Line:
    """A well-formed line: `letter` and its JSON object (empty when none was sent)."""

    letter: str
    body: dict[str, Any]


@dataclass(frozen=True)
class BadLine:
    """A line that cannot be used, and why (for the log)."""

    raw: bytes
    reason: str


class _NotFinite(ValueError):
    pass


def _finite_float(text: str) -> float:
    """Every JSON number with a fraction or exponent: 1e999 would parse as infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads/dumps with options build a new decoder/encoder on every call,
# which is most of their cost on a 60-byte line.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def input_config(slot: int, pin: int, invert: bool = False) -> dict[str, Any]:
    """The `c` body of an input slot; ValueError for a value no board would take."""
    for name, value, low, high in (("slot", slot, 1, 255), ("pin", pin, 0, 255)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"input {name} must be an integer {low}-{high}, got {value!r}")
    if not isinstance(invert, bool):
        raise ValueError(f"input invert must be true or false, got {invert!r}")
    return {"slot": slot, "kind": "input", "pin": pin, "invert": invert}


def parse_line(raw: bytes) -> Line | BadLine:
    """Parse one line (without its `\\n`; a trailing `\\r` is ignored)."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if len(raw) > MAX_LINE:
        return BadLine(raw[:64], f"line longer than {MAX_LINE} bytes")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return BadLine(raw[:64], "not ASCII")
    if not text:
        return BadLine(raw, "empty line")
    letter, rest = text[0], text[1:]
    if not letter.isalpha():
        return BadLine(raw[:64], "does not start with a letter")
    if letter.isupper():
        if not rest.startswith(":"):
            return BadLine(raw[:64], f"reply {letter} without ':'")
        rest = rest[1:]
    if not rest:
        return Line(letter, {})
    try:
        body = _DECODER.decode(rest)
    except _NotFinite:
        return BadLine(raw[:64], "non-finite number")
    except ValueError as error:
        return BadLine(raw[:64], f"invalid JSON: {error}")
    if not isinstance(body, dict):
        return BadLine(raw[:64], "JSON is not an object")
    return Line(letter, body)


def encode(letter: str, body: dict[str, Any] | None = None) -> bytes:
    """One line ready to send: `c{"slot":1}` for a command, `T:{...}` for a reply."""
    text = letter
    if letter.isupper():
        text += ":" + _ENCODE(body or {})
    elif body is not None:
        text += _ENCODE(body)
    data = text.encode("ascii") + b"\n"
    if len(data) > MAX_LINE + 1:
        raise ValueError(f"line of {len(data)} bytes is longer than {MAX_LINE}")
    return data


class LineSplitter:
    """Turns a byte stream into lines; an over-long line is dropped whole and reported once."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes | BadLine]:
        out: list[bytes | BadLine] = []
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE + 1:
                    if not self._discarding:
                        out.append(BadLine(bytes(self._buffer[:64]), f"line longer than {MAX_LINE} bytes"))
                    self._discarding = True
                    self._buffer.clear()
                return out
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._discarding:  # the tail of an over-long line
                self._discarding = False
                continue
            out.append(line)
