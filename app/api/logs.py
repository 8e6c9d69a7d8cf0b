"""`/api/logs`: the stored log entries (read only), newest first, and the recorder that
stores what is published on the `logs` channel."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ..db.models import LogEntry
from ..db.writer import DbWriter
from ..pubsub.hub import Message
from .base import ApiError, JsonHandler
from .schemas import LogOut

log = logging.getLogger(__name__)
LEVELS = ("debug", "info", "warning", "error")


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
            if level not in LEVELS:
                raise ApiError(400, "validation", f"level must be one of {', '.join(LEVELS)}", "level")
            query = query.where(LogEntry.level == level)
        await self.maelstrom.db_writer.settled()  # what was queued before this request is listed
        with self.maelstrom.sessions() as session:
            self.send_json(
                [LogOut.model_validate(row).model_dump(mode="json") for row in session.scalars(query)]
            )


def _entry(raw: Any, ts: datetime) -> LogEntry | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("msg"), str):
        return None
    level = raw.get("level", "info")
    level = level.lower() if isinstance(level, str) else "info"
    return LogEntry(
        ts=ts,
        source=str(raw.get("source", "unknown"))[:128],
        level=level if level in LEVELS else "info",
        message=raw["msg"][:4000],
    )


class LogRecorder:
    """Subscribes to `logs` and stores each entry, so scripts' and boards' logs outlive a restart."""

    def __init__(self, writer: DbWriter) -> None:
        self._writer = writer

    def deliver(self, message: Message) -> None:
        entries = message.data.get("entries") if isinstance(message.data, dict) else None
        if not isinstance(entries, list):
            log.info("logs message %d has no entries list; not stored", message.seq)
            return
        ts = datetime.strptime(message.ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        rows = [row for row in (_entry(raw, ts) for raw in entries[:100]) if row is not None]
        if rows:  # by the one writer, off the loop: a locked database never delays a publish
            self._writer.enqueue("logs", lambda session: session.add_all(rows))
