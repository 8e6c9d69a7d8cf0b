"""`/api/profiles`: fermentation curves (points) and mash schedules (steps)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Chamber, Profile, ProfilePoint, ProfileStep
from ..web.errors import ApiError
from ..web.handler import JsonHandler
from .crud import Resource, ResourceHandler, parse_id, parse_model
from .profile_csv import CsvPoint, ProfileCsvError, format_profile_csv, parse_profile_csv
from .schemas import ProfileIn, ProfileOut, ProfilePatch


def _apply(session: Session, row: Profile, values: dict[str, Any]) -> None:
    if row.id is not None and values["kind"] != row.kind:
        users = session.scalar(select(func.count()).select_from(Chamber).where(Chamber.profile_id == row.id))
        if users:
            raise ApiError(
                409,
                "conflict",
                f"profile {row.id} is assigned to {users} chamber(s); its kind cannot change",
                "kind",
            )
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


class ProfileCsvHandler(JsonHandler):
    """`GET /api/profiles/<id>.csv?units=C|F&start=<ISO 8601>`: BrewPi-compatible export."""

    def get(self, profile_id: str) -> None:
        units = self.get_query_argument("units", None) or self.maelstrom.settings.get("units")
        if units not in ("C", "F"):
            raise ApiError(400, "validation", "units must be C or F", "units")
        start_text = self.get_query_argument("start", None)
        start = _parse_start(start_text) if start_text else datetime.now(UTC).replace(microsecond=0)
        with self.maelstrom.sessions() as session:
            row_id = parse_id(profile_id)
            row = session.get(Profile, row_id) if row_id is not None else None
            if row is None:
                raise ApiError(404, "not_found", f"no profile {profile_id}")
            if row.kind != "fermentation" or not row.points:
                raise ApiError(
                    409, "conflict", "only a fermentation profile with points exports as BrewPi CSV"
                )
            points = [CsvPoint(p.offset_days, p.temperature) for p in row.points]
            text = format_profile_csv(points, start, units, row.name)
            filename = "".join(c if c.isalnum() or c in "-_" else "_" for c in row.name)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="{filename}.csv"')
        self.finish(text)


def _parse_start(text: str) -> datetime:
    try:
        start = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400, "validation", "start must be an ISO 8601 time such as 2026-11-23T10:00:00Z", "start"
        ) from None
    return start if start.tzinfo else start.replace(tzinfo=UTC)


class ProfileImportHandler(ResourceHandler):
    """`POST /api/profiles/import?name=&units=` with a BrewPi CSV body: a new fermentation profile."""

    async def post(self) -> None:
        if self.media_type() not in ("text/csv", "text/plain", "application/csv"):
            raise ApiError(415, "unsupported_media_type", "send the profile as text/csv")
        units = self.get_query_argument("units", None) or self.maelstrom.settings.get("units")
        if units not in ("C", "F"):
            raise ApiError(400, "validation", "units must be C or F", "units")
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "validation", "the CSV is not UTF-8 text", "body") from None
        try:
            imported = parse_profile_csv(text, units)
        except ProfileCsvError as error:
            raise ApiError(400, "validation", str(error), "body") from None
        name = self.get_query_argument("name", None) or imported.name
        if not name:
            raise ApiError(400, "validation", "name the profile: ?name=... (the CSV header has none)", "name")
        body = {
            "name": name,
            "kind": "fermentation",
            "points": [
                {"offset_days": p.offset_days, "temperature": p.temperature_c} for p in imported.points
            ],
        }
        validated = parse_model(ProfileIn, body)
        resource = self.resource

        def create(session: Session) -> dict[str, Any]:
            row = Profile()
            resource.store(session, row, validated, None)
            session.add(row)
            session.flush()
            return resource.dump(row)

        created = await self.commit(create)
        self._publish("create", {"profile": created})
        self.set_header("Location", f"/api/profiles/{created['id']}")
        self.send_json({**created, "warnings": imported.warnings}, 201)
