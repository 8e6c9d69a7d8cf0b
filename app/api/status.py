"""`GET /api/status`: version, uptime, database size, counts per resource, channels."""

from __future__ import annotations

import os
import time

from sqlalchemy import func, select

from .. import __version__
from ..db.models import Alarm, ApiToken, Chamber, Controller, Device, LogEntry, Profile
from ..web.handler import JsonHandler

COUNTED = {
    "controllers": Controller,
    "chambers": Chamber,
    "devices": Device,
    "profiles": Profile,
    "alarms": Alarm,
    "logs": LogEntry,
    "tokens": ApiToken,
}


class StatusHandler(JsonHandler):
    def get(self) -> None:
        maelstrom = self.maelstrom
        with maelstrom.sessions() as session:
            counts = {
                name: session.scalar(select(func.count()).select_from(model))
                for name, model in COUNTED.items()
            }
        self.send_json(
            {
                "version": __version__,
                "uptime_s": round(time.time() - maelstrom.started_at, 1),
                "database": {"url": maelstrom.db_url_for_display, "size_bytes": _database_size(maelstrom)},
                "counts": counts,
                "channels": {"count": len(maelstrom.hub.channels), "epoch": maelstrom.hub.epoch},
                "connections": len(maelstrom.registry.connections),
                "history": maelstrom.history.status(),
            }
        )


def _database_size(maelstrom) -> int | None:  # noqa: ANN001
    path = maelstrom.db_path
    if path is None:
        return None
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal", f"{path}-shm") if os.path.exists(p))
