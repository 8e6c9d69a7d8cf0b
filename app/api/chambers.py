"""`/api/chambers`: fermenters, mash tuns and kettles under a controller. Mode and
setpoints are stored here; the control loop picks them up on its next tick."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..db.models import Chamber, Controller, Profile
from .base import ApiError
from .crud import Parent, Resource
from .schemas import ChamberDetail, ChamberIn, ChamberOut, ChamberPatch


def _apply(session: Session, row: Chamber, values: dict[str, Any]) -> None:
    profile_id = values.get("profile_id")
    if profile_id is not None:
        profile = session.get(Profile, profile_id)
        if profile is None:
            raise ApiError(404, "not_found", f"no profile {profile_id}", "profile_id")
        wanted = "mash" if values["kind"] in ("mash", "kettle") else "fermentation"
        if profile.kind != wanted:
            raise ApiError(
                400,
                "validation",
                f"a {values['kind']} runs {wanted} profiles, "
                f"profile {profile_id} is a {profile.kind} profile",
                "profile_id",
            )
    for name, value in values.items():
        setattr(row, name, value)


def _check_delete(session: Session, row: Chamber) -> None:
    if row.mode == "profile":
        raise ApiError(409, "conflict", f"chamber {row.id} runs a profile; stop it first")


def _cascaded(row: Chamber) -> list[tuple[str, int]]:
    return [("_devices", device.id) for device in row.devices]


RESOURCE = Resource(
    name="chambers",
    singular="chamber",
    model=Chamber,
    create=ChamberIn,
    patch=ChamberPatch,
    out=ChamberOut,
    detail=ChamberDetail,
    parents=[Parent("controller_id", Controller, "controller")],
    unique_within="controller_id",
    children="devices",
    apply=_apply,
    check_delete=_check_delete,
    filters=("controller_id",),
    cascaded=_cascaded,
)
