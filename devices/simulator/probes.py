"""Simulated DS18B20 probes reading a plant's true temperatures, with injectable faults.

A probe returns what the firmware would see: the sensed temperature (optionally lagged)
plus seeded noise, quantised to the DS18B20's 1/16 °C, or a fault value. Faults are measured
in the plant's simulated time (`plant.t`) and begin at the probe's next `read`:

| fault | reading | ends |
|---|---|---|
| `disconnect(for_s)` | −127.0 (no device answers) | after `for_s` s |
| `crc_errors(for_s)` | None (the scratchpad CRC fails) | after `for_s` s |
| `stick(for_s)` | the last good reading, again and again | after `for_s` s |
| `spike_85(count)` | 85.0 (the power-up value) | after `count` readings |
| `spike_minus127(count)` | −127.0 | after `count` readings |

The noise generator advances on every read, faulty or not, so a fault does not shift the
noise of the readings after it.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from typing import Protocol

#: One DS18B20 count at 12-bit resolution, °C.
LSB_C = 0.0625
#: What a DS18B20 that does not answer reads as.
DISCONNECTED_C = -127.0
#: The scratchpad's value at power-up, before a first conversion.
POWER_ON_C = 85.0
#: The DS18B20's measuring range, °C; readings are clipped to it.
RANGE_C = (-55.0, 125.0)
#: DS18B20 family code: the first byte of its ROM.
DS18B20_FAMILY = 0x28

_ROM_RE = re.compile(r"^28[0-9A-F]{14}$")


class _Plant(Protocol):
    t: float

    def temperatures(self) -> dict[str, float]: ...


def _dallas_crc8(data: bytes) -> int:
    """The 1-Wire CRC (x⁸ + x⁵ + x⁴ + 1, reflected) that ends every ROM."""
    crc = 0
    for byte in data:
        for _ in range(8):
            mix = (crc ^ byte) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            byte >>= 1
    return crc


def rom_for(name: str) -> str:
    """A deterministic DS18B20 ROM id for `name`: 16 upper-case hex digits, family first.

    Family 0x28, a 48-bit serial taken from SHA-256 of the name, and a valid 1-Wire CRC
    as the last byte, printed in bus order as BrewPi and the board protocol do.
    """
    serial = hashlib.sha256(name.encode("utf-8")).digest()[:6]
    body = bytes([DS18B20_FAMILY]) + serial
    return (body + bytes([_dallas_crc8(body)])).hex().upper()


def derive_seed(seed: int, name: str) -> int:
    """A seed for `name` derived from `seed`, stable across runs (unlike `hash()`)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")


class SimulatedProbe:
    """A DS18B20 on the simulated bus, reading `plant.temperatures()[source]`.

    - `rom`: 16 upper-case hex digits starting with "28" (see `rom_for`).
    - `source`: the plant's probe name (`beer`, `fridge`, `room`, `vessel`).
    - `seed`: int seeding this probe's noise.
    - `noise_lsb`: noise amplitude in LSB (1/16 °C): uniform in ±`noise_lsb` LSB, added before
      quantisation, so a reading is within ±(`noise_lsb` + ½) LSB of the sensed temperature.
    - `lag_s`: s, first-order lag of the probe (a thermowell, a taped probe); 0 for none.
    """

    def __init__(self, rom: str, source: str, seed: int, noise_lsb: float = 1, lag_s: float = 0.0) -> None:
        if not _ROM_RE.match(rom):
            raise ValueError(f"not a DS18B20 ROM id (16 upper-case hex digits, family 28): {rom!r}")
        if noise_lsb < 0 or lag_s < 0:
            raise ValueError("noise_lsb and lag_s must not be negative")
        self.rom = rom
        self.source = source
        self.seed = seed
        self.noise_lsb = float(noise_lsb)
        self.lag_s = float(lag_s)
        self._rng = random.Random(seed)
        self._sensed_c: float | None = None
        self._sensed_at = 0.0
        self._last_good: float | None = None
        # Fault ends (plant time, s); pending durations start at the next read.
        self._ends: dict[str, float] = {}
        self._pending: dict[str, float] = {}
        self._spikes: list[float] = []

    # -- faults ----------------------------------------------------------------------------
    def disconnect(self, for_s: float) -> None:
        """Read −127.0 for `for_s` seconds from the next read: the probe does not answer."""
        self._schedule("disconnect", for_s)

    def crc_errors(self, for_s: float) -> None:
        """Read None for `for_s` seconds from the next read: every scratchpad fails its CRC."""
        self._schedule("crc", for_s)

    def stick(self, for_s: float) -> None:
        """Repeat the last good reading for `for_s` seconds from the next read."""
        self._schedule("stick", for_s)

    def spike_85(self, count: int = 1) -> None:
        """Read 85.0 for the next `count` readings, as a DS18B20 does after power-up."""
        self._spikes.extend([POWER_ON_C] * count)

    def spike_minus127(self, count: int = 1) -> None:
        """Read −127.0 for the next `count` readings."""
        self._spikes.extend([DISCONNECTED_C] * count)

    def clear_faults(self) -> None:
        """End every fault now."""
        self._ends.clear()
        self._pending.clear()
        self._spikes.clear()

    def _schedule(self, fault: str, for_s: float) -> None:
        if for_s < 0:
            raise ValueError("for_s must not be negative")
        self._pending[fault] = max(self._pending.get(fault, 0.0), float(for_s))

    def active_faults(self, now: float) -> list[str]:
        """Names of the timed faults active at plant time `now`, plus pending spikes."""
        faults = [name for name, end in self._ends.items() if now < end]
        faults += [name for name in self._pending]
        if self._spikes:
            faults.append("spike")
        return faults

    # -- reading ---------------------------------------------------------------------------
    def sense(self, plant: _Plant) -> float:
        """The temperature (°C) at the probe's tip now, after its lag; no noise, no faults."""
        now = plant.t
        true_c = plant.temperatures()[self.source]
        if self._sensed_c is None or self.lag_s == 0.0:
            self._sensed_c = true_c
        elif now > self._sensed_at:
            self._sensed_c += (1.0 - math.exp(-(now - self._sensed_at) / self.lag_s)) * (
                true_c - self._sensed_c
            )
        self._sensed_at = now
        return self._sensed_c

    def read(self, plant: _Plant) -> float | None:
        """The raw value the firmware would see now: °C, −127.0, 85.0, or None (CRC failure)."""
        now = plant.t
        for fault, duration in self._pending.items():
            self._ends[fault] = max(self._ends.get(fault, now), now + duration)
        self._pending.clear()

        sensed = self.sense(plant)
        noise = self._rng.uniform(-self.noise_lsb, self.noise_lsb) if self.noise_lsb else 0.0
        counts = math.floor(sensed / LSB_C + noise + 0.5)
        value = min(max(counts * LSB_C, RANGE_C[0]), RANGE_C[1])

        if now < self._ends.get("disconnect", now):
            return DISCONNECTED_C
        if now < self._ends.get("crc", now):
            return None
        if self._spikes:
            return self._spikes.pop(0)
        if now < self._ends.get("stick", now) and self._last_good is not None:
            return self._last_good
        self._last_good = value
        return value


def probes_for(
    plant: _Plant, seed: int | None = None, noise_lsb: float = 1, lag_s: float = 0.0
) -> dict[str, SimulatedProbe]:
    """One probe per probe name of `plant`, ROM `rom_for(name)`, noise seeded from
    `seed` (default: the plant's own seed) and the name."""
    base = getattr(plant, "seed", 0) if seed is None else seed
    return {
        name: SimulatedProbe(rom_for(name), name, derive_seed(base, name), noise_lsb=noise_lsb, lag_s=lag_s)
        for name in plant.temperatures()
    }
