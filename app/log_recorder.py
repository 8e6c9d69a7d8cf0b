"""Stores what is published on the `logs` channel, so scripts' and boards' logs outlive a
restart (read back by `GET /api/logs`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from .db.models import LOG_LEVELS, LogEntry
from .db.writer import DbWriter
from .pubsub.hub import Message

log = logging.getLogger(__name__)


def _entry(raw: Any, ts: datetime) -> LogEntry | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("msg"), str):
        return None
    level = raw.get("level", "info")
    level = level.lower() if isinstance(level, str) else "info"
    return LogEntry(
        ts=ts,
        source=str(raw.get("source", "unknown"))[:128],
        level=level if level in LOG_LEVELS else "info",
        message=raw["msg"][:4000],
    )


class LogRecorder:
    """Subscribes to `logs` and stores each entry, at most 100 a message."""

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
