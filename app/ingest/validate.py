"""Checks shared by every way in (TCP lines, HTTP feeds, the service's last gate): series
names, finite numbers, timestamps. Pure: nothing here raises anything but IngestError,
whatever the input."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from .sink import KINDS, NUMERIC_KINDS, Sample

SERIES_RE = re.compile(r"[a-z0-9_./-]{1,64}")
# the server records its own chambers under chamber/<id>/<field>; outside writers must not
# be able to forge or interleave those series
RESERVED_PREFIX = "chamber"
MIN_TS_MS = 946_684_800_000  # 2000-01-01T00:00:00Z: anything older is a device with no clock
MAX_FUTURE_S = 300.0  # clocks a few minutes ahead are tolerated; further means a wrong clock
MAX_TEXT_CHARS = 1000
MAX_UNIT_CHARS = 16
STATE_RE = re.compile(r"[A-Za-z0-9_.:/+-]{1,64}")
NUMBER_RE = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
EPOCH_RE = re.compile(r"\d{1,20}(?:\.\d{1,9})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class IngestError(ValueError):
    """A refused input: `reason` says why in one line; `field` names the part at fault."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def shown(text: str, limit: int = 40) -> str:
    """`text` quoted for a one-line reason: ASCII only, no line breaks, at most `limit` chars."""
    return ascii(text[:limit]) + ("..." if len(text) > limit else "")


def check_series(name: Any, field: str = "series") -> str:
    if not isinstance(name, str):
        raise IngestError(f"{field} must be a string", field)
    if not SERIES_RE.fullmatch(name):
        raise IngestError(f"bad series name {shown(name)}: 1-64 characters of a-z 0-9 _ . / -", field)
    if "" in name.split("/"):
        raise IngestError(f"bad series name {shown(name)}: a '/' needs a name on each side", field)
    if name.split("/", 1)[0] == RESERVED_PREFIX:
        raise IngestError(f"series {shown(name)}: names under chamber/ are the server's own", field)
    return name


def finite(value: int | float, field: str) -> float:
    """`value` as a float, refused when it is nan, infinite or an int beyond float's range."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise IngestError(f"{field} must be a finite number", field)
    return number


def parse_number(text: str, field: str = "value") -> float:
    """A decimal number as written on the wire (no nan/inf, no '1_000', no hex)."""
    if not NUMBER_RE.fullmatch(text):
        hint = " (use a decimal point)" if "," in text else ""
        raise IngestError(f"{field} {shown(text)} is not a number{hint}", field)
    return finite(float(text), field)  # digits beyond float's range give inf


def number_of(value: Any, field: str) -> float:
    """A JSON number, or a number sent as a string ("1.048", as TiltBridge sends)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise IngestError(f"{field} must be a number", field)
    if isinstance(value, str):
        return parse_number(value.strip(), field)
    return finite(value, field)


def check_ts_ms(ts_ms: int, now_s: float, field: str = "ts") -> int:
    if ts_ms < MIN_TS_MS:
        raise IngestError(f"{field} is before 2000-01-01", field)
    if ts_ms > (now_s + MAX_FUTURE_S) * 1000:
        hint = " (epoch seconds expected, not milliseconds)" if ts_ms > 1e14 else ""
        raise IngestError(f"{field} is more than {MAX_FUTURE_S:g} s in the future{hint}", field)
    return ts_ms


def parse_timestamp(value: Any, now_s: float, field: str = "ts") -> int:
    """Epoch seconds (int or fraction, as a number or text) or ISO 8601 with `Z` or an
    offset, to epoch milliseconds within the accepted window."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise IngestError(f"{field} must be epoch seconds or an ISO 8601 time", field)
    if isinstance(value, str):
        text = value.strip()
        if EPOCH_RE.fullmatch(text):
            seconds = float(text)
        else:
            return check_ts_ms(_iso_ms(text, field), now_s, field)
    else:
        seconds = finite(value, field)
    return check_ts_ms(round(seconds * 1000), now_s, field)


def _iso_ms(text: str, field: str) -> int:
    bad = IngestError(
        f"{field} {shown(text)} is neither epoch seconds nor ISO 8601 (2026-11-23T10:00:00Z)", field
    )
    if not text[:4].isdigit() or len(text) > 40:
        raise bad
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise IngestError(f"{field} {shown(text)} needs a zone: end it with Z or an offset (+01:00)", field)
    try:
        return round(moment.timestamp() * 1000)
    except (OverflowError, ValueError):
        raise bad from None


def check_text(text: Any, field: str) -> str:
    if not isinstance(text, str) or not text:
        raise IngestError(f"{field} must be non-empty text", field)
    if len(text) > MAX_TEXT_CHARS:
        raise IngestError(f"{field} is longer than {MAX_TEXT_CHARS} characters", field)
    if _CONTROL.search(text):
        raise IngestError(f"{field} contains a control character", field)
    return text


def check_state(text: Any, field: str = "state") -> str:
    if not isinstance(text, str) or not STATE_RE.fullmatch(text):
        shown_text = shown(text) if isinstance(text, str) else "it"
        raise IngestError(f"state {shown_text} must be 1-64 characters of A-Z a-z 0-9 _ . : / + -", field)
    return text


def check_sample(sample: Sample, now_s: float) -> Sample:
    """The last gate before a sample reaches the sinks and the hub, whoever built it."""
    check_series(sample.series)
    if sample.kind not in KINDS:
        raise IngestError(f"kind must be one of {', '.join(KINDS)}", "kind")
    if isinstance(sample.ts_ms, bool) or not isinstance(sample.ts_ms, int):
        raise IngestError("ts must be epoch milliseconds", "ts")
    check_ts_ms(sample.ts_ms, now_s)
    if sample.kind in NUMERIC_KINDS:
        if sample.text is not None or isinstance(sample.value, bool):
            raise IngestError(f"{sample.kind} samples carry a value, not text", "value")
        if not isinstance(sample.value, int | float):
            raise IngestError(f"{sample.kind} samples need a value", "value")
        finite(sample.value, "value")
    else:
        if sample.value is not None:
            raise IngestError(f"{sample.kind} samples carry text, not a value", "text")
        if sample.kind == "state":
            check_state(sample.text, "text")
        else:
            check_text(sample.text, "text")
    if sample.unit is not None:
        if not isinstance(sample.unit, str) or not 1 <= len(sample.unit) <= MAX_UNIT_CHARS:
            raise IngestError(f"unit must be 1-{MAX_UNIT_CHARS} characters", "unit")
        if _CONTROL.search(sample.unit):
            raise IngestError("unit contains a control character", "unit")
    return sample
