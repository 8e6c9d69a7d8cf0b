"""Bodies that hydrometers post, as samples (pure; docs/ingest.md "HTTP feeds").

- iSpindel firmware 5.x-7.x, "HTTP" service: `{"name","ID","token"?,"angle","temperature",
  "temp_units","battery","gravity","interval","RSSI"}`; GravityMon adds `"corr-gravity"`,
  `"gravity-unit"` ("G" or "P") and spells `"rssi"` in lower case.
- Brewfather custom stream, which TiltBridge sends to any URL: `{"name","temp","temp_unit",
  "gravity","gravity_unit",...}`, TiltBridge with its numbers as strings.

Each number becomes the series `<name>/<field>`; temperatures are converted to °C, gravity
is kept in the unit sent and that unit is the sample's. Unknown fields are ignored (each
firmware adds its own), `null` is "not measured".
"""

from __future__ import annotations

import re
from typing import Any

from .sink import Sample
from .validate import IngestError, check_series, number_of

NAME_CHARS = 48  # room for the longest `/<field>` within the 64 characters of a series
SG, PLATO, CELSIUS = "SG", "°P", "°C"
GRAVITY_UNITS = {"g": SG, "sg": SG, "p": PLATO, "°p": PLATO, "plato": PLATO}
TEMPERATURE = "temperature"  # a field in °C, F or K per the body's unit field
GRAVITY = "gravity"  # a field in SG or °P

# body field -> (series field, unit, or one of the two kinds above)
ISPINDEL_FIELDS = {
    "angle": ("angle", "°"),
    "temperature": ("temperature", TEMPERATURE),
    "battery": ("battery", "V"),
    "gravity": ("gravity", GRAVITY),
    "corr-gravity": ("corr_gravity", GRAVITY),
    "interval": ("interval", "s"),
    "RSSI": ("rssi", "dBm"),
    "rssi": ("rssi", "dBm"),
}
STREAM_FIELDS = {
    "temp": ("temperature", TEMPERATURE),
    "aux_temp": ("aux_temperature", TEMPERATURE),
    "ext_temp": ("ext_temperature", TEMPERATURE),
    "gravity": ("gravity", GRAVITY),
    "pressure": ("pressure", "pressure"),
    "ph": ("ph", "pH"),
    "bpm": ("bpm", "bpm"),
    "battery": ("battery", "V"),
}
PRESSURE_UNITS = {"psi": "psi", "bar": "bar", "kpa": "kPa"}


def sanitise_name(name: str) -> str:
    """A device's name as the first level of its series: lower case, every character
    outside a-z 0-9 _ . - made `_`, at most 48 characters (`iSpindel 000` -> `ispindel_000`)."""
    return re.sub(r"[^a-z0-9_.-]", "_", name.strip().lower())[:NAME_CHARS]


def hydrometer_samples(body: dict[str, Any], ts_ms: int, gravity_unit: str | None = None) -> list[Sample]:
    """The samples of one body; `gravity_unit` is the URL's `?gravity_unit=`, used when
    the body does not say. IngestError names the field at fault."""
    stream = "temp" in body or "temp_unit" in body
    fields = STREAM_FIELDS if stream else ISPINDEL_FIELDS
    prefix = _name(body, allow_id=not stream)
    temperature_unit = _text(body, "temp_unit" if stream else "temp_units")
    hint_field = "gravity_unit" if stream or "gravity-unit" not in body else "gravity-unit"
    hint = _text(body, hint_field)
    if hint is not None:
        unit_of_gravity = _gravity_unit(hint, hint_field)
    elif gravity_unit is not None:
        unit_of_gravity = _gravity_unit(gravity_unit, "gravity_unit")
    else:
        # iSpindel's default polynomial and calibration sheet give °P; Tilts report SG
        unit_of_gravity = SG if stream else PLATO
    samples: dict[str, Sample] = {}
    for key, (suffix, kind) in fields.items():
        raw = body.get(key)
        if raw is None:
            continue
        value = number_of(raw, key)
        if kind == TEMPERATURE:
            value, unit = _celsius(value, temperature_unit, "temp_unit" if stream else "temp_units"), CELSIUS
        elif kind == GRAVITY:
            unit = unit_of_gravity
        elif kind == "pressure":
            unit = _pressure_unit(body)
        else:
            unit = kind
        series = check_series(f"{prefix}/{suffix}", "name")
        samples.setdefault(series, Sample(series, ts_ms, "measurement", value, unit=unit))
    if not samples:
        expected = ", ".join(fields)
        raise IngestError(f"no reading in the body: expected some of {expected}", "body")
    return list(samples.values())


def _name(body: dict[str, Any], allow_id: bool) -> str:
    name = body.get("name")
    if name is None and allow_id and body.get("ID") is not None:
        name = f"ispindel_{body['ID']}"
    if not isinstance(name, str):
        raise IngestError("name is required: the device's name (it names the series)", "name")
    prefix = sanitise_name(name)
    if not prefix:
        raise IngestError("name is empty", "name")
    return prefix


def _text(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise IngestError(f"{field} must be text", field)
    return value


def _gravity_unit(hint: str, field: str) -> str:
    unit = GRAVITY_UNITS.get(hint.strip().lower())
    if unit is None:
        raise IngestError(f"{field} must be G (SG) or P (°P)", field)
    return unit


def _celsius(value: float, unit: str | None, field: str) -> float:
    scale = (unit or "C").strip().upper().removeprefix("°")
    if scale == "C":
        return value
    if scale == "F":
        return round((value - 32) * 5 / 9, 4)
    if scale == "K":
        return round(value - 273.15, 4)
    raise IngestError(f"{field} must be C, F or K", field)


def _pressure_unit(body: dict[str, Any]) -> str:
    unit = _text(body, "pressure_unit") or "psi"  # Brewfather's default
    known = PRESSURE_UNITS.get(unit.strip().lower())
    if known is None:
        raise IngestError("pressure_unit must be PSI, BAR or KPA", "pressure_unit")
    return known
