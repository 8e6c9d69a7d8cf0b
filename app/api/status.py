"""`GET /api/status`: version, uptime, the database's size, counts per resource, the
history's series and tasks, the pub/sub channels' traffic.

Everything read from the database (the counts, the series, the size) is read on a history
reader thread, never on the IOLoop. Nothing here counts samples: each series keeps its
count in `series.samples`, changed by the very transactions that write and delete
samples (app/history/store.py, retention.py), so the status costs the same on a database
of millions of samples as on an empty one, exact and with no cache to go stale. The
resource tables counted are small (configuration; logs and alarms are pruned by
app/db/retention.py). The channels' traffic is counted by the hub as it publishes."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import __version__
from ..db.engine import database_bytes
from ..db.models import Alarm, ApiToken, Chamber, Controller, Device, LogEntry, Profile
from ..history.query import series_status
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
SERIES_LISTED = 20  # the series with the most samples; GET /api/series lists them all
CHANNELS_LISTED = 10  # the busiest channels; the totals cover every channel


def stored(session: Session) -> dict[str, Any]:
    """What the status reads from the database (on a reader thread)."""
    size, wal = database_bytes(session)
    return {
        "size": size,
        "wal": wal,
        "counts": {
            name: session.scalar(select(func.count()).select_from(model)) for name, model in COUNTED.items()
        },
        "series": series_status(session, SERIES_LISTED),
    }


class StatusHandler(JsonHandler):
    async def get(self) -> None:
        maelstrom = self.maelstrom
        found = await maelstrom.history.read(stored)
        self.send_json(
            {
                "version": __version__,
                "uptime_s": round(time.time() - maelstrom.started_at, 1),
                "database": {
                    "url": maelstrom.db_url_for_display,
                    "dialect": maelstrom.engine.dialect.name,
                    "size_bytes": found["size"],
                    "wal_bytes": found["wal"],
                },
                "counts": found["counts"],
                "series": found["series"],
                "channels": maelstrom.hub.activity(CHANNELS_LISTED),
                "connections": len(maelstrom.registry.connections),
                "history": maelstrom.history.status(),
            }
        )
