"""`/api/logs`: the stored log entries (read only), newest first; app/log_recorder.py
stores what is published on the `logs` channel."""

from __future__ import annotations

from sqlalchemy import select

from ..db.models import LOG_LEVELS, LogEntry
from ..web.errors import ApiError
from ..web.handler import JsonHandler
from .schemas import LogOut


class LogsHandler(JsonHandler):
    async def get(self) -> None:
        limit_text = self.get_query_argument("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
            raise ApiError(400, "validation", "limit must be an integer from 1 to 1000", "limit")
        query = select(LogEntry).order_by(LogEntry.id.desc()).limit(int(limit_text))
        source = self.get_query_argument("source", None)
        if source is not None:
            query = query.where(LogEntry.source == source)
        level = self.get_query_argument("level", None)
        if level is not None:
            if level not in LOG_LEVELS:
                raise ApiError(400, "validation", f"level must be one of {', '.join(LOG_LEVELS)}", "level")
            query = query.where(LogEntry.level == level)
        await self.maelstrom.db_writer.settled()  # what was queued before this request is listed
        with self.maelstrom.sessions() as session:
            self.send_json(
                [LogOut.model_validate(row).model_dump(mode="json") for row in session.scalars(query)]
            )
