"""Request and response bodies of the REST API. One model validates the input, names the
field at fault and gives the JSON Schema of the OpenAPI document. Temperatures in °C."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from devices.simulator.inprocess import parse_options as parse_simulator_options

from ..control.tuning import tuning_defaults, tuning_fields

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Setpoint = Annotated[float, Field(ge=-5, le=110, allow_inf_nan=False, description="°C")]
Id = Annotated[int, Field(ge=1, le=2**53)]

CONTROLLER_KINDS = ("arduino", "sparkcore", "simulator")
CHAMBER_KINDS = ("fermenter", "mash", "kettle")
MODES = ("off", "beer", "fridge", "profile")
SENSOR_FUNCTIONS = ("beer_temp", "fridge_temp", "room_temp")
OUTPUT_FUNCTIONS = ("heat", "cool", "fan")
INPUT_FUNCTIONS = ("door", "level_high", "pilot_light", "switch_input")
FUNCTIONS = SENSOR_FUNCTIONS + OUTPUT_FUNCTIONS + INPUT_FUNCTIONS

_SERIAL_PORT = re.compile(r"/dev/[A-Za-z0-9._/-]{1,64}")
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]{1,253}:(\d{1,5})")
_ONEWIRE = re.compile(r"[0-9A-F]{16}")
_PIN = re.compile(r"[0-9]{1,2}")


class Strict(BaseModel):
    # strict: JSON true is not a temperature and "20" is not a number
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*")
    @classmethod
    def _no_nul_character(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text, and no name or note needs one: refused on
        # both databases alike, with the field named, rather than a 500 from one of them
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- controllers --------------------------------------------------------------------------
MAX_LIVE_SIMULATOR_SPEED = 20.0


class ControllerIn(Strict):
    name: Name
    kind: Literal["arduino", "sparkcore", "simulator"]
    address: str = Field(
        "",
        max_length=256,
        description="arduino: serial port (/dev/ttyACM0); sparkcore: host:port or a serial port; "
        "simulator: options such as 'plant=fridge speed=1' (may be empty)",
    )
    enabled: bool = True

    @model_validator(mode="after")
    def _address_fits_kind(self) -> ControllerIn:
        address = self.address
        if self.kind == "arduino" and not _SERIAL_PORT.fullmatch(address):
            raise ValueError("address of an arduino must be a serial port such as /dev/ttyACM0")
        if self.kind == "sparkcore":
            match = _HOST_PORT.fullmatch(address)
            if not (_SERIAL_PORT.fullmatch(address) or (match and 1 <= int(match.group(1)) <= 65535)):
                raise ValueError("address of a sparkcore must be host:port (port 1-65535) or a serial port")
        if self.kind == "simulator":
            speed = parse_simulator_options(address)["speed"]  # its ValueError names a bad option
            if speed > MAX_LIVE_SIMULATOR_SPEED:
                raise ValueError(
                    f"a live simulator runs at most speed={MAX_LIVE_SIMULATOR_SPEED:g}: faster, the board's "
                    "30 s dead-man fires between the loop's 1 s ticks (bench/ runs faster, off-line)"
                )
        return self


class ControllerPatch(Strict):
    name: Name | None = None
    kind: Literal["arduino", "sparkcore", "simulator"] | None = None
    address: str | None = Field(None, max_length=256)
    enabled: bool | None = None


class ControllerOut(Out):
    id: int
    name: str
    kind: str
    address: str
    enabled: bool
    last_seen: datetime | None


# -- chambers -----------------------------------------------------------------------------
class AlarmLimits(Strict):
    deviation_c: float | None = Field(None, gt=0, le=20, description="|beer - setpoint| above this alarms")
    deviation_delay_min: float | None = Field(None, ge=0, le=1440)
    suppress_after_change_min: float | None = Field(
        None, ge=0, le=1440, description="no deviation alarm this long after a setpoint step"
    )
    high_c: Setpoint | None = None
    low_c: Setpoint | None = None
    absolute_delay_s: float | None = Field(None, ge=0, le=3600, description="beyond high_c/low_c this long")
    compressor_max_run_h: float | None = Field(None, gt=0, le=168, description="compressor on longer alarms")
    max_alternations_per_day: int | None = Field(
        None, ge=1, le=1000, description="heat<->cool changes in 24 h"
    )
    output_shortfall_min: float | None = Field(
        None, gt=0, le=1440, description="an output short of its asked duty this long alarms"
    )
    switch_delay_s: float | None = Field(None, ge=0, le=3600, description="door/level/pilot input this long")

    @model_validator(mode="after")
    def _low_below_high(self) -> AlarmLimits:
        if self.high_c is not None and self.low_c is not None and self.low_c >= self.high_c:
            raise ValueError("low_c must be below high_c")
        return self


TUNING_DOCS = 'docs/control.md "Tuning keys"'


def _tuning_schema() -> dict[str, Any]:
    """Each kind's keys with their bounds and defaults (app/control/tuning.py), for the
    OpenAPI document; which of the two applies depends on the chamber's `kind`."""
    variants = []
    for title, kind in (("fermenter", "fermenter"), ("mash tun or kettle", "mash")):
        defaults = tuning_defaults(kind)
        properties = {
            name: {
                "type": "number",
                "minimum": bound.low,
                "maximum": bound.high,
                "default": defaults[name],
                "description": f"{bound.help} ({bound.unit})" if bound.unit else bound.help,
            }
            for name, bound in tuning_fields(kind).items()
        }
        variants.append(
            {
                "title": f"tuning of a {title}",
                "type": "object",
                "properties": properties,
                "additionalProperties": False,
            }
        )
    return {"type": "object", "anyOf": variants}


# The keys and bounds depend on the chamber's kind, so they are checked where the kind is
# known (api/chambers.py, with the chamber's wiring); here only the shape.
TuningKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Tuning = Annotated[
    dict[TuningKey, Annotated[float, Field(allow_inf_nan=False)]], WithJsonSchema(_tuning_schema())
]
TUNING_DESCRIPTION = (
    "Control tuning of this chamber's kind, by key; every key within its bounds, unknown keys "
    f"refused, unset keys at their defaults. Keys, bounds and defaults: {TUNING_DOCS}."
)


class ProfileCommand(Strict):
    action: Literal["start", "pause", "resume", "stop", "confirm"] = Field(
        description="start (again from offset_days), pause, resume, stop, or confirm a mash step"
    )
    offset_days: float = Field(0.0, ge=0, le=3650, allow_inf_nan=False, description="start part-way")


class ChamberIn(Strict):
    controller_id: Id
    name: Name
    kind: Literal["fermenter", "mash", "kettle"] = "fermenter"
    mode: Literal["off", "beer", "fridge", "profile", "boil"] = "off"
    beer_setpoint: Setpoint | None = None
    fridge_setpoint: Setpoint | None = None
    tuning: Tuning = Field(default_factory=dict, max_length=32, description=TUNING_DESCRIPTION)
    alarm_limits: AlarmLimits = Field(default_factory=AlarmLimits)
    profile_id: Id | None = None
    profile_command: ProfileCommand | None = Field(None, description="act on the profile run")

    @model_validator(mode="after")
    def _mode_has_what_it_needs(self) -> ChamberIn:
        if self.mode == "beer" and self.beer_setpoint is None:
            raise ValueError("mode beer needs beer_setpoint")
        if self.mode == "fridge":
            if self.kind != "fermenter":
                raise ValueError(f"mode fridge is for fermenters, not a {self.kind}")
            if self.fridge_setpoint is None:
                raise ValueError("mode fridge needs fridge_setpoint")
        if self.mode == "boil" and self.kind == "fermenter":
            raise ValueError("mode boil is for a mash tun or kettle, not a fermenter")
        if self.mode == "profile" and self.profile_id is None:
            raise ValueError("mode profile needs profile_id")
        return self


class ChamberPatch(Strict):
    controller_id: Id | None = None
    name: Name | None = None
    kind: Literal["fermenter", "mash", "kettle"] | None = None
    mode: Literal["off", "beer", "fridge", "profile", "boil"] | None = None
    beer_setpoint: Setpoint | None = None
    fridge_setpoint: Setpoint | None = None
    tuning: Tuning | None = Field(None, description=TUNING_DESCRIPTION)  # ChamberIn checks the merge
    alarm_limits: AlarmLimits | None = None
    profile_id: Id | None = None
    profile_command: ProfileCommand | None = None


class ChamberOut(Out):
    id: int
    controller_id: int
    name: str
    kind: str
    mode: str
    beer_setpoint: float | None
    fridge_setpoint: float | None
    tuning: dict[str, float]
    alarm_limits: dict[str, Any]
    profile_id: int | None
    profile_started_at: datetime | None
    profile_paused_at: datetime | None
    profile_state: dict[str, Any]


# -- devices ------------------------------------------------------------------------------
class DeviceIn(Strict):
    chamber_id: Id
    name: Name
    function: Literal[FUNCTIONS]  # type: ignore[valid-type]
    hardware: Literal["onewire", "pin"]
    address: str = Field(max_length=32, description="OneWire ROM as 16 hex digits, or a pin number (0-63)")
    slot: int | None = Field(None, ge=1, le=32, description="board slot (1-32)")
    invert: bool = False
    calibration_offset: float = Field(0.0, ge=-5, le=5, allow_inf_nan=False, description="°C added")
    min_on_s: int = Field(0, ge=0, le=86400)
    min_off_s: int = Field(0, ge=0, le=86400)

    @field_validator("address")
    @classmethod
    def _normalise_address(cls, value: str) -> str:
        return value.strip().upper()

    @model_validator(mode="after")
    def _hardware_fits(self) -> DeviceIn:
        if self.function in SENSOR_FUNCTIONS and self.hardware != "onewire":
            raise ValueError(f"{self.function} is a temperature sensor: hardware must be onewire")
        if self.function not in SENSOR_FUNCTIONS and self.hardware != "pin":
            raise ValueError(f"{self.function} is switched or read on a pin: hardware must be pin")
        if self.hardware == "onewire" and not _ONEWIRE.fullmatch(self.address):
            raise ValueError("a OneWire address is 16 hex digits, such as 28FF4A1B05160352")
        if self.hardware == "pin" and not (_PIN.fullmatch(self.address) and int(self.address) <= 63):
            raise ValueError("a pin address is a number from 0 to 63")
        return self


class DevicePatch(Strict):
    chamber_id: Id | None = None
    name: Name | None = None
    function: Literal[FUNCTIONS] | None = None  # type: ignore[valid-type]
    hardware: Literal["onewire", "pin"] | None = None
    address: str | None = Field(None, max_length=32)
    slot: int | None = Field(None, ge=1, le=32)
    invert: bool | None = None
    calibration_offset: float | None = Field(None, ge=-5, le=5, allow_inf_nan=False)
    min_on_s: int | None = Field(None, ge=0, le=86400)
    min_off_s: int | None = Field(None, ge=0, le=86400)


class DeviceOut(Out):
    id: int
    chamber_id: int
    name: str
    function: str
    hardware: str
    address: str
    slot: int | None
    invert: bool
    calibration_offset: float
    min_on_s: int
    min_off_s: int


class ScanDevice(BaseModel):
    id: int
    chamber_id: int
    name: str
    function: str


class ScanSensor(BaseModel):
    address: str = Field(description="OneWire ROM, 16 hex digits")
    reading: float | None = Field(
        description="°C as the board reads it now; null until its slot was read, or an invalid reading"
    )
    slot: int | None = Field(description="the board slot reading it; null when no slot is free")
    devices: list[ScanDevice] = Field(description="this controller's devices on this sensor")


class ScanPin(BaseModel):
    pin: int
    devices: list[ScanDevice] = Field(description="this controller's devices on this pin")


class ScanOut(BaseModel):
    controller_id: int
    scanned_at: datetime = Field(description="when the board was asked (`h`)")
    read_at: datetime | None = Field(description="the readings' time: the board's last answer")
    onewire: list[ScanSensor]
    pins: list[ScanPin]


class ChamberDetail(ChamberOut):
    devices: list[DeviceOut]


class ControllerDetail(ControllerOut):
    chambers: list[ChamberDetail]


# -- profiles -----------------------------------------------------------------------------
class PointIn(Strict):
    offset_days: float = Field(ge=0, le=3650, allow_inf_nan=False)
    temperature: Setpoint | None = Field(description="°C; null = control off beside this point")
    event: str | None = Field(None, max_length=256)


class StepIn(Strict):
    name: Name
    temperature: float = Field(ge=0, le=105, allow_inf_nan=False, description="°C")
    hold_min: float = Field(ge=0, le=1440, allow_inf_nan=False)
    ramp_c_per_min: float | None = Field(None, gt=0, le=10, allow_inf_nan=False)
    confirm: bool = Field(False, description="wait for the brewer to confirm before the step starts")


class ProfileIn(Strict):
    name: Name
    kind: Literal["fermentation", "mash"] = "fermentation"
    notes: str = Field("", max_length=4096)
    points: list[PointIn] = Field(default_factory=list, max_length=1000)
    steps: list[StepIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _fits_kind(self) -> ProfileIn:
        if self.kind == "fermentation" and self.steps:
            raise ValueError("a fermentation profile has points, not steps")
        if self.kind == "mash" and self.points:
            raise ValueError("a mash profile has steps, not points")
        offsets = [point.offset_days for point in self.points]
        for index in range(1, len(offsets)):
            if offsets[index] < offsets[index - 1]:
                raise ValueError(
                    f"points[{index}].offset_days goes backwards ({offsets[index]} after "
                    f"{offsets[index - 1]})"
                )
        return self


class ProfilePatch(Strict):
    name: Name | None = None
    kind: Literal["fermentation", "mash"] | None = None
    notes: str | None = Field(None, max_length=4096)
    points: list[PointIn] | None = Field(None, max_length=1000)
    steps: list[StepIn] | None = Field(None, max_length=50)


class PointOut(Out):
    offset_days: float
    temperature: float | None
    event: str | None


class StepOut(Out):
    name: str
    temperature: float
    hold_min: float
    ramp_c_per_min: float | None
    confirm: bool


class ProfileOut(Out):
    id: int
    name: str
    kind: str
    notes: str
    points: list[PointOut]
    steps: list[StepOut]


class ProfileImported(ProfileOut):
    warnings: list[str] = Field(description="what the import repaired or noticed, each naming its line")


# -- tokens, login ------------------------------------------------------------------------
class TokenIn(Strict):
    name: Name


class TokenOut(Out):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="shown this once; send as Authorization: Bearer <token>")


class LoginIn(Strict):
    password: str = Field(min_length=1, max_length=256)


class PasswordIn(Strict):
    old: str = Field(min_length=1, max_length=256)
    new: str = Field(min_length=8, max_length=256)


class SettingValue(Strict):
    value: Any


class LogOut(Out):
    id: int
    ts: datetime
    source: str
    level: str
    message: str


class AlarmOut(Out):
    id: int
    source: str
    code: str
    severity: str
    message: str
    state: str
    raised_at: datetime
    acknowledged_at: datetime | None
    cleared_at: datetime | None


class AlarmAckIn(Strict):
    ids: list[Annotated[int, Field(ge=1, le=2**53)]] | None = Field(
        None, max_length=100, description="alarm ids to acknowledge"
    )
    all: bool = Field(False, description="acknowledge every listed alarm")

    @model_validator(mode="after")
    def _one_of(self) -> AlarmAckIn:
        if (self.ids is None) == (not self.all):
            raise ValueError("give either ids or all: true")
        return self


class AlarmAckOut(BaseModel):
    acknowledged: list[int]


class Deleted(BaseModel):
    id: int


# -- history ------------------------------------------------------------------------------
class SeriesOut(BaseModel):
    name: str
    unit: str
    kind: Literal["measurement", "counter", "event", "state"]
    count: int = Field(description="raw samples stored")
    first: datetime | None = Field(description="earliest data held, raw or rolled up")
    last: datetime | None = Field(description="latest data held")


class HistorySeriesOut(BaseModel):
    name: str
    unit: str
    resolution: str = Field(
        pattern=r"^(raw|1m|15m|1h|1d|[0-9]+d)$",
        description="raw samples, a frame (1m, 15m, 1h, 1d) or days merged (Nd)",
    )
    points: list[tuple[int, float, float, float]] = Field(description="[ts_ms, mean, min, max], oldest first")


class HistoryOut(BaseModel):
    series: list[HistorySeriesOut]
