"""The simulated board firmware: the board protocol (protocol.md §5) and the board's safety
rules, on a virtual clock.

The reference firmware in `devices/firmware/core/` implements the same rules in C++; the
scenario files in `devices/firmware/scenarios/` are the one set of expectations both must
meet, line for line (`tests/devices/test_firmware_rules.py`). The rule decisions are written
down in `devices/firmware/README.md`; in short:

- Time is counted in whole milliseconds, as on the board; `hold_s` is rounded up to whole
  seconds, so a host that waits `hold_s` is allowed.
- Relay history (on/off and when it last changed) belongs to the pin, not the slot, so
  moving an output to another slot does not reset its min off time. A boot counts as every
  pin having just gone off.
- An output may go on when its min off has passed, no other output of its group is on, and
  every other output of its group has been off for the longer of the two `dead_s`.
- Any successful command feeds the dead-man; an `E:` reply does not.
- Command bodies are flat JSON objects; an output that is on cannot be reconfigured (the same
  configuration again is accepted, so a host may re-apply its slots at any time).
- An input slot reads a switch on one of the board's pins, pulled up: a closed contact pulls
  the pin low and reads active, unless `invert` (a normally-closed switch: active when open).
  The `T:` reply carries `"i"` only when an input slot is configured, so a host or a
  scenario that knows no inputs sees the reply it always did.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from ..protocol import MAX_LINE, encode

log = logging.getLogger(__name__)

FIRMWARE = "maelstrom"
PROTOCOL = 1
MAX_SLOTS = 8  # slots 1-8: with at most MAX_OUTPUTS outputs every T: reply fits in MAX_LINE
MAX_OUTPUTS = 6
MAX_ROMS_LISTED = 8  # the H: reply lists at most this many 1-Wire ROMs
MAX_FIELDS = 16  # keys in one command body
MAX_TIME_S = 86400  # min_on_s, min_off_s, dead_s
MAX_GROUP = 255
DEADMAN_S = (1, 600)
MAX_OFFSET_C100 = 500  # calibration offset ±5 °C, in hundredths
POWER_UP_MS = 10_000  # a DS18B20 may read 85 °C (its reset value) this long after power-up
NO_ANSWER_E4 = -1_270_000  # -127 °C in 1e-4 °C: the probe did not answer
POWER_ON_E4 = 850_000  # 85 °C in 1e-4 °C
COMMANDS = "nhctowr"
BOOT_REASONS = ("power", "watchdog", "reset")

# Error messages, word for word the same as the C++ core's (scenarios compare them).
MSG_TOO_LONG = f"line longer than {MAX_LINE} bytes"
MSG_NOT_ASCII = "not ASCII"
MSG_NOT_FLAT = "body must be a flat JSON object"
MSG_DUPLICATE = "duplicate key"
MSG_TOO_MANY = "too many keys"
MSG_UNKNOWN = "unknown command"
MSG_UNEXPECTED = "unexpected key"
MSG_SLOT = f"slot must be an integer 1-{MAX_SLOTS}"
MSG_KIND = "kind must be sensor, output, input or none"
MSG_ONEWIRE = "onewire must be 16 hex digits"
MSG_OFFSET = "offset must be a number -5..5"
MSG_PIN = "pin must be one of the board's pins"
MSG_INVERT = "invert must be true or false"
MSG_GROUP = f"group must be an integer 0-{MAX_GROUP}"
MSG_TOO_MANY_OUTPUTS = f"at most {MAX_OUTPUTS} output slots"
MSG_ON = "on must be true or false"
MSG_DEADMAN = f"s must be an integer {DEADMAN_S[0]}-{DEADMAN_S[1]}"


class PinEdge(NamedTuple):
    """One output change: `on` is the relay's logical state (before `invert`)."""

    t: float
    slot: int
    pin: int
    on: bool


@dataclass(frozen=True)
class SensorSlot:
    rom: str  # 16 upper-case hex digits
    offset_c100: int  # calibration offset, hundredths of °C

    def as_json(self, slot: int) -> dict[str, Any]:
        return {"slot": slot, "kind": "sensor", "onewire": self.rom, "offset": self.offset_c100 / 100}


@dataclass(frozen=True)
class OutputSlot:
    pin: int
    invert: bool
    min_on_s: int
    min_off_s: int
    group: int  # 0 = no group
    dead_s: int

    def as_json(self, slot: int) -> dict[str, Any]:
        return {
            "slot": slot,
            "kind": "output",
            "pin": self.pin,
            "invert": self.invert,
            "min_on_s": self.min_on_s,
            "min_off_s": self.min_off_s,
            "group": self.group,
            "dead_s": self.dead_s,
        }


@dataclass(frozen=True)
class InputSlot:
    """A switch on a pin with the pull-up on: closed contact = low = active, unless `invert`."""

    pin: int
    invert: bool

    def as_json(self, slot: int) -> dict[str, Any]:
        return {"slot": slot, "kind": "input", "pin": self.pin, "invert": self.invert}

    def active(self, pin_high: bool) -> bool:
        return pin_high == self.invert


Slot = SensorSlot | OutputSlot | InputSlot


@dataclass
class _Relay:
    """What one pin's relay did: the protection timers count from `changed_ms`."""

    on: bool = False
    changed_ms: int = 0
    pending_off: bool = False  # the dead-man wants it off once its min on has passed


class CommandError(Exception):
    """A command the board answers with `E:{code,msg}`."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg


class _Pairs(list):
    """A JSON object as its (key, value) pairs, so duplicates can be seen."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# built once (json.loads with options builds a decoder per call)
_BODY_DECODER = json.JSONDecoder(
    object_pairs_hook=_Pairs, parse_float=Decimal, parse_constant=_reject_constant
)


def _parse_body(text: str) -> dict[str, Any]:
    """A command body: a flat JSON object; numbers with a fraction or exponent as Decimal."""
    try:
        pairs = _BODY_DECODER.decode(text)
    except ValueError:
        raise CommandError("bad_json", MSG_NOT_FLAT) from None
    if not isinstance(pairs, _Pairs) or any(isinstance(value, list) for _, value in pairs):
        raise CommandError("bad_json", MSG_NOT_FLAT)
    if len(pairs) > MAX_FIELDS:
        raise CommandError("bad_json", MSG_TOO_MANY)
    body = dict(pairs)
    if len(body) != len(pairs):
        raise CommandError("bad_json", MSG_DUPLICATE)
    return body


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_field(body: dict[str, Any], key: str, low: int, high: int, default: int | None, msg: str) -> int:
    value = body.get(key, default)
    if not _is_int(value) or not low <= value <= high:
        raise CommandError("bad_config", msg)
    return value


def _bool_field(body: dict[str, Any], key: str, default: bool | None, msg: str) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise CommandError("bad_config", msg)
    return value


def _only_keys(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    if any(key not in allowed for key in body):
        raise CommandError("bad_config", MSG_UNEXPECTED)


def _offset_c100(value: Any) -> int:
    """A calibration offset rounded half away from zero to 0.01 °C, as the C++ core does."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or abs(value) > 10:
        raise CommandError("bad_config", MSG_OFFSET)
    hundredths = int((Decimal(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if not -MAX_OFFSET_C100 <= hundredths <= MAX_OFFSET_C100:
        raise CommandError("bad_config", MSG_OFFSET)
    return hundredths


def _round_div(value: int, divisor: int) -> int:
    """value / divisor rounded half away from zero, in integers."""
    quotient, remainder = divmod(abs(value), divisor)
    quotient += 2 * remainder >= divisor
    return quotient if value >= 0 else -quotient


def _ceil_s(ms: int) -> int:
    return -(-ms // 1000) if ms > 0 else 0


class SimulatedFirmware:
    """One board: feed it received lines with `handle`, run its timers with `poll`."""

    def __init__(
        self,
        clock: Callable[[], float],
        read_rom: Callable[[str], float | None],
        roms: list[str],
        pins: list[int],
        board: str = "sim",
        version: str = "1.0.0",
        read_pin: Callable[[int], bool] | None = None,
    ) -> None:
        """`read_pin(pin)` is a pin's electrical level (True = high) with the pull-up on;
        without it every pin reads high, as with nothing wired to it."""
        self.clock = clock
        self.read_rom = read_rom
        self.read_pin = read_pin or (lambda pin: True)
        self.roms = list(roms)  # what a 1-Wire search finds; `h` lists them
        self.pins = list(pins)  # the pins a slot may use: an output drives one, an input reads one
        self.board = board
        self.version = version
        self.edges: list[PinEdge] = []
        self.slots: dict[int, Slot] = {}  # kept across boots, like EEPROM
        self._outputs_cache: dict[int, OutputSlot] | None = None  # rebuilt when a slot changes
        self._sorted_cache: list[tuple[int, str, Slot]] | None = None
        self._relays: dict[int, _Relay] = {pin: _Relay() for pin in self.pins}
        self._booted = False
        self._boot_ms = 0
        self._deadman_ms = 0  # 0 = disarmed
        self._fed_ms = 0
        self._tripped = False

    # -- public state ---------------------------------------------------------------------
    def output_on(self, slot: int) -> bool:
        config = self.slots.get(slot)
        return isinstance(config, OutputSlot) and self._relays[config.pin].on

    def pin_on(self, pin: int) -> bool:
        """The pin's electrical level; a pin no output uses is not driven (False)."""
        for config in self._outputs().values():
            if config.pin == pin:
                return self._relays[pin].on != config.invert
        return False

    # -- the board's life -----------------------------------------------------------------
    def boot(self, reason: str = "power") -> list[bytes]:
        """Power-up or reset: every output off, every timer counted from now."""
        if reason not in BOOT_REASONS:
            raise ValueError(f"boot reason must be one of {', '.join(BOOT_REASONS)}")
        now = self._now_ms()
        for slot, config in self._outputs().items():
            if self._relays[config.pin].on:
                self._switch(slot, config, False, now)
        self._relays = {pin: _Relay(changed_ms=now) for pin in self.pins}
        self._booted = True
        self._boot_ms = now
        self._deadman_ms = 0
        self._tripped = False
        log.info("board %s booted (%s)", self.board, reason)
        return [encode("B", {"reason": reason})]

    def poll(self) -> list[bytes]:
        """Run the timers at clock(): the dead-man and deferred switch-offs."""
        if not self._booted:
            return []
        now = self._now_ms()
        lines: list[bytes] = []
        if self._deadman_ms and not self._tripped and now - self._fed_ms >= self._deadman_ms:
            lines.append(self._trip_deadman(now))
        for slot, config in self._outputs().items():
            relay = self._relays[config.pin]
            if relay.pending_off and self._min_on_left(config, now) == 0:
                self._switch(slot, config, False, now)
        return lines

    def handle(self, raw: bytes) -> list[bytes]:
        """One received line (without its newline) → the lines the board sends back."""
        if not self._booted:
            raise RuntimeError("the firmware has not booted")
        lines = self.poll()
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw:
            return lines
        now = self._now_ms()
        try:
            if len(raw) > MAX_LINE:
                raise CommandError("bad_json", MSG_TOO_LONG)
            letter = chr(raw[0])
            if letter not in COMMANDS:
                raise CommandError("unknown_command", MSG_UNKNOWN)
            if any(byte > 0x7F for byte in raw):
                raise CommandError("bad_json", MSG_NOT_ASCII)
            rest = raw[1:].decode("ascii")
            body = _parse_body(rest) if rest else {}
            if letter == "r":
                _only_keys(body, ())
                return lines + self.boot("reset")
            reply = self._command(letter, body, now)
        except CommandError as error:
            return lines + [encode("E", {"code": error.code, "msg": error.msg})]
        self._fed_ms = now
        self._tripped = False
        return lines + [reply]

    # -- commands -------------------------------------------------------------------------
    def _command(self, letter: str, body: dict[str, Any], now: int) -> bytes:
        if letter == "n":
            _only_keys(body, ())
            uptime_s = (now - self._boot_ms) // 1000
            identity = {"fw": FIRMWARE, "v": self.version, "proto": PROTOCOL, "board": self.board}
            return encode("N", {**identity, "uptime_s": uptime_s})
        if letter == "h":
            _only_keys(body, ())
            return encode("H", {"onewire": self.roms[:MAX_ROMS_LISTED], "pins": self.pins})
        if letter == "t":
            _only_keys(body, ())
            return encode("T", self._reading(now))
        if letter == "w":
            _only_keys(body, ("s",))
            seconds = body.get("s")
            if not _is_int(seconds) or not DEADMAN_S[0] <= seconds <= DEADMAN_S[1]:
                raise CommandError("bad_config", MSG_DEADMAN)
            self._deadman_ms = seconds * 1000
            return encode("W", {"s": seconds})
        if letter == "o":
            return encode("O", self._set_output(body, now))
        return encode("C", self._configure(body))

    def _slot_number(self, body: dict[str, Any]) -> int:
        slot = body.get("slot")
        if not _is_int(slot) or not 1 <= slot <= MAX_SLOTS:
            raise CommandError("bad_slot", MSG_SLOT)
        return slot

    def _configure(self, body: dict[str, Any]) -> dict[str, Any]:
        slot = self._slot_number(body)
        kind = body.get("kind")
        if kind == "sensor":
            _only_keys(body, ("slot", "kind", "onewire", "offset"))
            rom = body.get("onewire")
            if (
                not isinstance(rom, str)
                or len(rom) != 16
                or any(c not in "0123456789abcdefABCDEF" for c in rom)
            ):
                raise CommandError("bad_config", MSG_ONEWIRE)
            new: Slot | None = SensorSlot(rom.upper(), _offset_c100(body.get("offset", 0)))
        elif kind == "output":
            _only_keys(body, ("slot", "kind", "pin", "invert", "min_on_s", "min_off_s", "group", "dead_s"))
            pin = body.get("pin")
            if not _is_int(pin) or pin not in self.pins:
                raise CommandError("bad_config", MSG_PIN)
            new = OutputSlot(
                pin=pin,
                invert=_bool_field(body, "invert", False, MSG_INVERT),
                min_on_s=_int_field(body, "min_on_s", 0, MAX_TIME_S, 0, _time_msg("min_on_s")),
                min_off_s=_int_field(body, "min_off_s", 0, MAX_TIME_S, 0, _time_msg("min_off_s")),
                group=_int_field(body, "group", 0, MAX_GROUP, 0, MSG_GROUP),
                dead_s=_int_field(body, "dead_s", 0, MAX_TIME_S, 0, _time_msg("dead_s")),
            )
            self._pin_free(slot, pin)
            if slot not in self._outputs() and len(self._outputs()) >= MAX_OUTPUTS:
                raise CommandError("bad_config", MSG_TOO_MANY_OUTPUTS)
        elif kind == "input":
            _only_keys(body, ("slot", "kind", "pin", "invert"))
            pin = body.get("pin")
            if not _is_int(pin) or pin not in self.pins:
                raise CommandError("bad_config", MSG_PIN)
            new = InputSlot(pin=pin, invert=_bool_field(body, "invert", False, MSG_INVERT))
            self._pin_free(slot, pin)
        elif kind == "none":
            _only_keys(body, ("slot", "kind"))
            new = None
        else:
            raise CommandError("bad_config", MSG_KIND)
        old = self.slots.get(slot)
        if new != old and self.output_on(slot):
            raise CommandError("bad_config", f"slot {slot} is on; switch it off first")
        self._outputs_cache = self._sorted_cache = None
        if new is None:
            self.slots.pop(slot, None)
            return {"slot": slot, "kind": "none"}
        self.slots[slot] = new
        return new.as_json(slot)

    def _pin_free(self, slot: int, pin: int) -> None:
        """One slot per pin, output or input."""
        for other, config in sorted(self.slots.items()):
            if other != slot and isinstance(config, OutputSlot | InputSlot) and config.pin == pin:
                raise CommandError("bad_config", f"pin {pin} is used by slot {other}")

    def _set_output(self, body: dict[str, Any], now: int) -> dict[str, Any]:
        slot = self._slot_number(body)
        config = self.slots.get(slot)
        if not isinstance(config, OutputSlot):
            raise CommandError("bad_slot", f"slot {slot} is not an output")
        _only_keys(body, ("slot", "on"))
        want = _bool_field(body, "on", None, MSG_ON)
        relay = self._relays[config.pin]
        if want and relay.pending_off:
            relay.pending_off = False  # the host is back and wants it on: the dead-man's off is void
        why, hold_ms = self._hold(slot, config, now)
        if want != relay.on and why is None:
            self._switch(slot, config, want, now)
            why, hold_ms = self._hold(slot, config, now)
        reply: dict[str, Any] = {"slot": slot, "on": relay.on}
        if want != relay.on:
            reply["why"] = why
        reply["hold_s"] = _ceil_s(hold_ms)
        return reply

    def _reading(self, now: int) -> dict[str, Any]:
        sensors: dict[str, float | None] = {}
        outputs: dict[str, dict[str, Any]] = {}
        inputs: dict[str, bool] = {}
        for slot, key, config in self._sorted_slots():
            if isinstance(config, SensorSlot):
                sensors[key] = self._sensor_value(config, now)
            elif isinstance(config, OutputSlot):
                _, hold_ms = self._hold(slot, config, now)
                outputs[key] = {"on": self._relays[config.pin].on, "hold_s": _ceil_s(hold_ms)}
            else:
                inputs[key] = config.active(bool(self.read_pin(config.pin)))
        reading: dict[str, Any] = {"s": sensors, "o": outputs}
        if inputs:  # only then: a board without inputs answers as protocol.md §5 shows
            reading["i"] = inputs
        return reading

    def _sensor_value(self, config: SensorSlot, now: int) -> float | None:
        raw = self.read_rom(config.rom)
        if raw is None or not math.isfinite(raw):
            return None  # CRC failure
        raw_e4 = math.floor(raw * 10_000 + 0.5)
        if raw_e4 == NO_ANSWER_E4 or (raw_e4 == POWER_ON_E4 and now - self._boot_ms < POWER_UP_MS):
            return None
        return _round_div(raw_e4 + config.offset_c100 * 100, 100) / 100

    # -- the rules ------------------------------------------------------------------------
    def _hold(self, slot: int, config: OutputSlot, now: int) -> tuple[str | None, int]:
        """Why the output cannot change state now and for how many ms (None, 0 = it can)."""
        relay = self._relays[config.pin]
        if relay.on:
            left = self._min_on_left(config, now)
            return ("min_on", left) if left else (None, 0)
        hold_ms = max(0, config.min_off_s * 1000 - (now - relay.changed_ms))
        why = "min_off" if hold_ms else None
        interlock_ms: int | None = None
        for other_slot, other in self._outputs().items():
            if other_slot == slot or config.group == 0 or other.group != config.group:
                continue
            dead_ms = max(config.dead_s, other.dead_s) * 1000
            other_relay = self._relays[other.pin]
            if other_relay.on:
                wait_ms = self._min_on_left(other, now) + dead_ms
                interlock_ms = max(interlock_ms or 0, wait_ms)
            else:
                left = dead_ms - (now - other_relay.changed_ms)
                if left > hold_ms:
                    why, hold_ms = "dead_time", left
        if interlock_ms is not None:
            return "interlock", max(hold_ms, interlock_ms)
        return (why, hold_ms) if why else (None, 0)

    def _min_on_left(self, config: OutputSlot, now: int) -> int:
        return max(0, config.min_on_s * 1000 - (now - self._relays[config.pin].changed_ms))

    def _trip_deadman(self, now: int) -> bytes:
        """No command for the dead-man time: every output off, those in min on when it ends."""
        self._tripped = True
        waits = []
        for slot, config in self._outputs().items():
            relay = self._relays[config.pin]
            if not relay.on:
                continue
            left = self._min_on_left(config, now)
            if left:
                relay.pending_off = True
                waits.append(f"; slot {slot} off in {_ceil_s(left)} s")
            else:
                self._switch(slot, config, False, now)
        msg = f"dead-man: no command for {self._deadman_ms // 1000} s, outputs off" + "".join(waits)
        log.warning("board %s: %s", self.board, msg)
        return encode("D", {"level": "W", "msg": msg})

    def _switch(self, slot: int, config: OutputSlot, on: bool, now: int) -> None:
        relay = self._relays[config.pin]
        relay.on = on
        relay.changed_ms = now
        relay.pending_off = False
        self.edges.append(PinEdge(now / 1000, slot, config.pin, on))

    # -- helpers --------------------------------------------------------------------------
    def _sorted_slots(self) -> list[tuple[int, str, Slot]]:
        if self._sorted_cache is None:  # every `t` walks them in order; changed only by `c`
            self._sorted_cache = [(slot, str(slot), c) for slot, c in sorted(self.slots.items())]
        return self._sorted_cache

    def _outputs(self) -> dict[int, OutputSlot]:
        if self._outputs_cache is None:  # read several times a command, changed only by `c`
            self._outputs_cache = {
                slot: c for slot, c in sorted(self.slots.items()) if isinstance(c, OutputSlot)
            }
        return self._outputs_cache

    def _now_ms(self) -> int:
        return math.floor(self.clock() * 1000 + 0.5)


def _time_msg(key: str) -> str:
    return f"{key} must be an integer 0-{MAX_TIME_S}"
