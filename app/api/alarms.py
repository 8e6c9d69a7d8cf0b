"""`/api/alarms`: the alarms still listed (active, or cleared but not yet acknowledged) or
the whole record, and `POST /api/alarms/ack`. The control loop raises and clears them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from ..control.alarms.book import alarm_state
from ..db.models import Alarm
from ..web.errors import ApiError
from ..web.handler import JsonHandler
from .crud import parse_model
from .schemas import AlarmAckIn, AlarmAckOut, AlarmOut

STATES = ("open", "all")


def alarm_json(row: Alarm) -> dict[str, Any]:
    out = AlarmOut(
        id=row.id,
        source=row.source,
        code=row.code,
        severity=row.severity,
        message=row.message,
        state=alarm_state(row.acknowledged_at, row.cleared_at),
        raised_at=row.raised_at,
        acknowledged_at=row.acknowledged_at,
        cleared_at=row.cleared_at,
    )
    return out.model_dump(mode="json")


class AlarmsHandler(JsonHandler):
    async def get(self) -> None:
        which = self.get_query_argument("state", "open")
        if which not in STATES:
            raise ApiError(400, "validation", "state must be open or all", "state")
        limit_text = self.get_query_argument("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
            raise ApiError(400, "validation", "limit must be an integer from 1 to 1000", "limit")
        query = select(Alarm).order_by(Alarm.id.desc()).limit(int(limit_text))
        if which == "open":
            query = query.where(or_(Alarm.cleared_at.is_(None), Alarm.acknowledged_at.is_(None)))
        source = self.get_query_argument("source", None)
        if source is not None:
            query = query.where(Alarm.source == source)
        await self.maelstrom.db_writer.settled()  # what was queued before this request is listed
        with self.maelstrom.sessions() as session:
            self.send_json([alarm_json(row) for row in session.scalars(query)])


class AlarmAckHandler(JsonHandler):
    async def post(self) -> None:
        wanted = parse_model(AlarmAckIn, self.json_body())
        assert isinstance(wanted, AlarmAckIn)
        changes = self.maelstrom.alarms.acknowledge("all" if wanted.all else wanted.ids or [])
        await self.maelstrom.db_writer.drain()  # stored before we answer: a GET after this sees it
        self.send_json(AlarmAckOut(acknowledged=[c.id for c in changes if c.id is not None]).model_dump())
