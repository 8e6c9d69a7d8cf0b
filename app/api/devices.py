"""`/api/devices`: sensors, outputs and inputs of a chamber, with their board address."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..control.tuning import TuningError, build_tuning
from ..db.models import Chamber, Device
from ..web.errors import ApiError
from .chambers import wired_min_times
from .crud import Parent, Resource, default_apply
from .schemas import DeviceIn, DeviceOut, DevicePatch


def _check_fits_windows(chamber: Chamber, row: Device, values: dict[str, Any]) -> None:
    """An output's min on and min off must fit its chamber's duty window (docs/control.md
    "Tuning keys"): a relay that needs 120 s on never fits a 10 s window, and the chamber
    would never heat."""
    outputs = [(d.function, d.min_on_s, d.min_off_s) for d in chamber.devices if d is not row]
    outputs.append((values["function"], values["min_on_s"], values["min_off_s"]))
    try:
        build_tuning(chamber.kind, chamber.tuning or {}, wired_min_times(chamber.kind, outputs))
    except TuningError as error:
        if error.wired is None:
            return  # the chamber's own tuning is at fault; the chamber's API refuses it
        raise ApiError(
            400,
            "validation",
            f"{error.wired}: too long for chamber {chamber.name}'s duty window: tuning.{error.field} "
            f"{error.message}; lengthen the window first",
            error.wired,
        ) from None


def _apply(session: Session, row: Device, values: dict[str, Any]) -> None:
    chamber = session.get(Chamber, values["chamber_id"])  # there: the parents are checked first
    if chamber is not None:
        _check_fits_windows(chamber, row, values)
    default_apply(session, row, values)


RESOURCE = Resource(
    name="devices",
    singular="device",
    model=Device,
    create=DeviceIn,
    patch=DevicePatch,
    out=DeviceOut,
    parents=[Parent("chamber_id", Chamber, "chamber")],
    unique_within="chamber_id",
    filters=("chamber_id",),
    apply=_apply,
)
