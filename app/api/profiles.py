"""`/api/profiles`: fermentation curves (points) and mash schedules (steps)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Chamber, Profile, ProfilePoint, ProfileStep
from .base import ApiError
from .crud import Resource
from .schemas import ProfileIn, ProfileOut, ProfilePatch


def _apply(session: Session, row: Profile, values: dict[str, Any]) -> None:
    row.name = values["name"]
    row.kind = values["kind"]
    row.notes = values["notes"]
    row.points = [ProfilePoint(position=index, **point) for index, point in enumerate(values["points"])]
    row.steps = [ProfileStep(position=index, **step) for index, step in enumerate(values["steps"])]


def _fields_of(row: Profile) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "notes": row.notes,
        "points": [
            {"offset_days": p.offset_days, "temperature": p.temperature, "event": p.event} for p in row.points
        ],
        "steps": [
            {
                "name": s.name,
                "temperature": s.temperature,
                "hold_min": s.hold_min,
                "ramp_c_per_min": s.ramp_c_per_min,
                "confirm": s.confirm,
            }
            for s in row.steps
        ],
    }


def _check_delete(session: Session, row: Profile) -> None:
    users = session.scalar(select(func.count()).select_from(Chamber).where(Chamber.profile_id == row.id))
    if users:
        raise ApiError(
            409, "conflict", f"profile {row.id} is assigned to {users} chamber(s); unassign it first"
        )


class ProfileResource(Resource):
    def fields_of(self, row: Any) -> dict[str, Any]:
        return _fields_of(row)


RESOURCE = ProfileResource(
    name="profiles",
    singular="profile",
    model=Profile,
    create=ProfileIn,
    patch=ProfilePatch,
    out=ProfileOut,
    apply=_apply,
    check_delete=_check_delete,
)
