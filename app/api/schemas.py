"""Request and response bodies of the REST API. One model validates the input, names the
field at fault and gives the JSON Schema of the OpenAPI document. Temperatures in °C."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from devices.simulator.inprocess import parse_options as parse_simulator_options

from ..control.tuning import tuning_defaults, tuning_fields
from ..ingest.validate import SERIES_RE, check_series

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Setpoint = Annotated[float, Field(ge=-5, le=110, allow_inf_nan=False, description="°C")]
Id = Annotated[int, Field(ge=1, le=2**53)]
# an ingested series, named by the ingest's rule (docs/ingest.md "Samples"): never one of
# the server's own `chamber/...` series, which no outside writer can feed
SeriesName = Annotated[
    str,
    AfterValidator(check_series),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{SERIES_RE.pattern}$",
            "description": "an ingested series: 1-64 of a-z 0-9 _ . / -, no empty level, not under chamber/",
            "examples": ["ispindel_000/gravity"],
        }
    ),
]

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
    gravity_series: SeriesName | None = Field(
        None, description="an ingested series (e.g. an iSpindel's) shown beside the temperatures"
    )

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
    gravity_series: SeriesName | None = None


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
    gravity_series: str | None


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


class LinkedReading(BaseModel):
    """The latest sample of a chamber's `gravity_series` (app/control/gravity.py)."""

    series: str
    value: float
    unit: str | None = Field(description="as the sample carried it: SG or °P for a hydrometer's gravity")
    ts: datetime = Field(description="the sample's own time")
    age_s: int = Field(ge=0, description="seconds from ts to now")


class ChamberLive(ChamberDetail):
    gravity: LinkedReading | None = Field(
        None, description="latest sample of gravity_series; null when none is linked or none arrived"
    )


class ControllerDetail(ControllerOut):
    chambers: list[ChamberLive]


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


# -- alarm rules on ingested series ------------------------------------------------------
Threshold = Annotated[float, Field(allow_inf_nan=False)]
MAX_STALE_MIN = 7 * 24 * 60.0  # a week


class SeriesRuleIn(Strict):
    series: SeriesName
    above: Threshold | None = Field(None, description="alarm while the series is above this (its own unit)")
    below: Threshold | None = Field(None, description="alarm while the series is below this")
    hysteresis: float = Field(
        0.0,
        ge=0,
        allow_inf_nan=False,
        description="an above alarm clears at above - hysteresis, a below alarm at below + hysteresis",
    )
    stale_min: float | None = Field(
        None, gt=0, le=MAX_STALE_MIN, allow_inf_nan=False, description="alarm when no sample came this long"
    )
    severity: Literal["critical", "warning", "advisory"] = "warning"
    enabled: bool = Field(True, description="false: kept, not judged (its alarms clear)")

    # fields are checked in order, so each check names the later field of a pair
    @field_validator("below")
    @classmethod
    def _below_under_above(cls, below: float | None, info: ValidationInfo) -> float | None:
        above = info.data.get("above")
        if below is not None and above is not None and below >= above:
            raise ValueError(f"must be less than above ({above:g})")
        return below

    @field_validator("hysteresis")
    @classmethod
    def _hysteresis_inside(cls, hysteresis: float, info: ValidationInfo) -> float:
        above, below = info.data.get("above"), info.data.get("below")
        if above is not None and below is not None and hysteresis >= above - below:
            raise ValueError(f"must be less than above - below ({above - below:g})")
        return hysteresis

    @model_validator(mode="after")
    def _judges_something(self) -> SeriesRuleIn:
        if self.above is None and self.below is None and self.stale_min is None:
            raise ValueError("a rule needs above, below or stale_min")
        return self


class SeriesRulePatch(Strict):
    series: SeriesName | None = None
    above: Threshold | None = None
    below: Threshold | None = None
    hysteresis: float | None = Field(None, ge=0, allow_inf_nan=False)
    stale_min: float | None = Field(None, gt=0, le=MAX_STALE_MIN, allow_inf_nan=False)
    severity: Literal["critical", "warning", "advisory"] | None = None
    enabled: bool | None = None


class SeriesRuleOut(Out):
    id: int
    series: str
    above: float | None
    below: float | None
    hysteresis: float
    stale_min: float | None
    severity: str
    enabled: bool


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
    kind: str = Field(description="measurement, counter, event or state")
    points: list[tuple[int, float, float, float]] = Field(
        description="[ts_ms, mean, min, max], oldest first (empty for an event or state series)"
    )
    events: list[tuple[int, str]] = Field(
        description="[ts_ms, text] of an event or state series, oldest first: the newest `points` of the span"
    )
    truncated: bool = Field(description="older events in the span were left out (ask for a shorter span)")


class HistoryOut(BaseModel):
    series: list[HistorySeriesOut]


# -- status -------------------------------------------------------------------------------
TaskState = Literal["running", "stopped"]


class StatusDatabase(BaseModel):
    url: str = Field(description="the database URL, password hidden")
    dialect: str = Field(description="sqlite or postgresql")
    size_bytes: int | None = Field(
        description="SQLite: the file and its WAL; PostgreSQL: pg_database_size; null in memory"
    )
    wal_bytes: int | None = Field(description="SQLite: the WAL's part of size_bytes; null otherwise")


class StatusSeries(BaseModel):
    name: str
    unit: str
    kind: Literal["measurement", "counter", "event", "state"]
    samples: int = Field(description="raw samples stored now")
    rolled_up: int = Field(
        description="numeric samples in the day frames: every one rolled up, pruned raw ones included"
    )
    first: datetime | None = Field(description="earliest data held, raw or rolled up")
    last: datetime | None = Field(description="latest data held")


class StatusSeriesTotals(BaseModel):
    count: int = Field(description="series stored")
    samples: int = Field(description="raw samples stored, all series")
    listed: list[StatusSeries] = Field(description="the 20 series with the most raw samples")


class StatusChannel(BaseModel):
    name: str
    published: int = Field(description="messages since the server started")
    rate_per_s: float = Field(description="messages per second over about the last minute")
    subscribers: int


class StatusChannels(BaseModel):
    count: int = Field(description="channels the hub holds")
    epoch: str
    published: int = Field(description="messages since the server started, all channels")
    rate_per_s: float = Field(description="messages per second over the window, all channels")
    window_s: float = Field(description="what the rates span: about the last minute (less after start)")
    busiest: list[StatusChannel] = Field(description="the 10 channels with the highest rate")


class StatusRecorder(BaseModel):
    interval_s: float
    open_chambers: int
    waiting: int = Field(description="samples kept on the loop until the next flush")
    queued: int = Field(description="samples handed to the database writer since start")
    stored: int = Field(description="... and committed")
    refused: int = Field(description="... and refused there: older than their series' pruned raw samples")


class StatusRollup(BaseModel):
    state: TaskState
    period_s: float
    last_run: datetime | None
    last_error: str | None
    lag_s: float | None = Field(
        description="age of the oldest minute still pending; 0 caught up; null before a run"
    )
    pending_minutes: int | None
    frames_done: int
    minutes_done: int


class StatusDeleted(BaseModel):
    samples: int
    texts: int
    rollups: int
    pages_freed: int


class StatusRetention(BaseModel):
    state: TaskState
    last_run: datetime | None
    last_error: str | None
    last_deleted: StatusDeleted | None


class StatusHistory(BaseModel):
    recorder: StatusRecorder
    rollup: StatusRollup
    retention: StatusRetention


class StatusOut(BaseModel):
    version: str
    uptime_s: float
    database: StatusDatabase
    counts: dict[str, int] = Field(description="rows per resource")
    series: StatusSeriesTotals
    channels: StatusChannels
    connections: int = Field(description="WebSocket connections")
    history: StatusHistory
