"""The series a chamber shows beside its temperatures (`chamber.gravity_series`): the
latest value with its age, as the tick record and `GET /api/chambers/<id>` carry it
(docs/ingest.md "Gravity beside temperature").

The latest values are the ingest's; the server hands in a lookup (`series -> reading or
None`), so this package imports neither the ingest nor the pub/sub, and no tick reads the
database for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Reading(Protocol):
    """What the lookup hands back (the ingest's `Sample` is one)."""

    value: float | None
    unit: str | None
    ts_ms: int  # the sample's own time, UTC epoch milliseconds


Lookup = Callable[[str], Reading | None]


def no_readings(series: str) -> None:
    """The lookup when there is no ingest (simulations, the benchmark): nothing received."""
    return None


def _iso_ms(ts_ms: int) -> str:
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def linked_reading(series: str | None, lookup: Lookup, now_wall: float) -> dict[str, Any] | None:
    """`{"series","value","unit","ts","age_s"}` for the linked series' latest sample; None
    when nothing is linked or nothing was received. `age_s` is whole seconds from the
    sample's own timestamp to `now_wall` (epoch s), never below 0."""
    if series is None:
        return None
    try:
        reading = lookup(series)
    except Exception:  # a broken lookup must not stop a tick or a request
        log.exception("looking up the latest sample of %s failed", series)
        return None
    if reading is None or reading.value is None:
        return None
    return {
        "series": series,
        "value": reading.value,
        "unit": reading.unit,
        "ts": _iso_ms(reading.ts_ms),
        "age_s": max(0, round(now_wall - reading.ts_ms / 1000)),
    }
