"""A board's hardware scan (`h`, protocol.md §5) and the live readings of what it found.

The board reads only the sensors configured in a slot, so while a scan is being looked at
each OneWire sensor no device uses yet is configured in a free slot of the board ("probe
slots"): the next ticks' `t` readings then carry it, and the brewer can warm one probe in
a hand and see which it is. Probe slots last `READ_WINDOW_S` after the scan or after its
last look (`GET /api/controllers/<id>/scan`), and are then freed on the board again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devices.driver import BoardError

BOARD_SLOTS = 8  # slots 1-8 on every board (docs/boards.md, "Board rules")
READ_WINDOW_S = 60.0
_ROM = re.compile(r"[0-9A-F]{16}")


@dataclass
class BoardScan:
    roms: list[str]  # OneWire ROMs the board found, as it listed them
    pins: list[int]  # the board's pins for outputs and inputs
    scanned_at: float  # wall clock, epoch s
    read_until: float  # monotonic: probe slots are kept until then


def parse_scan(body: Mapping[str, Any]) -> tuple[list[str], list[int]]:
    """The `H:` reply's ROMs and pins; a reply of another shape is the board's fault."""
    roms, pins = body.get("onewire"), body.get("pins")
    if not isinstance(roms, list) or not all(isinstance(r, str) and _ROM.fullmatch(r.upper()) for r in roms):
        raise BoardError("bad_reply", f"scan reply's onewire is not a list of 16-hex-digit ROMs: {roms!r}")
    if not isinstance(pins, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 63 for p in pins
    ):
        raise BoardError("bad_reply", f"scan reply's pins is not a list of pins 0-63: {pins!r}")
    return list(dict.fromkeys(r.upper() for r in roms)), list(dict.fromkeys(pins))


def probe_slots(device_slots: Mapping[int, Mapping[str, Any]], roms: list[str]) -> dict[int, dict[str, Any]]:
    """The found ROMs no device slot reads, each in a free board slot (lowest first); a ROM
    for which no slot is left stays unread."""
    read = {config.get("onewire") for config in device_slots.values() if config.get("kind") == "sensor"}
    free = [slot for slot in range(1, BOARD_SLOTS + 1) if slot not in device_slots]
    unread = [rom for rom in roms if rom not in read]
    return {
        slot: {"slot": slot, "kind": "sensor", "onewire": rom, "offset": 0.0}
        for slot, rom in zip(free, unread, strict=False)
    }


def sensor_slot(slots: Mapping[int, Mapping[str, Any]], rom: str) -> int | None:
    """The lowest slot that reads `rom`."""
    return next(
        (
            slot
            for slot, config in sorted(slots.items())
            if config.get("kind") == "sensor" and config.get("onewire") == rom
        ),
        None,
    )
