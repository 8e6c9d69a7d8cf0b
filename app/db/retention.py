"""Bounded database growth: stored log entries and archived alarms (acknowledged and
cleared) are deleted once older than their `*_keep_days` setting or beyond the newest
`*_keep_rows`; every hour and once shortly after start. An alarm that is still active or
not yet acknowledged is never deleted, however old.

Every delete goes through the one database writer in batches of `batch_rows`, each its own
short transaction: SQLite's write lock is never held long, and the writes the tick and the
API queue meanwhile go in between two batches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, select
from sqlalchemy.orm import Session

from ..periodic import Periodic
from .models import Alarm, LogEntry, utcnow
from .writer import DbWriter

log = logging.getLogger(__name__)

PERIOD_S = 3600.0
FIRST_RUN_S = 60.0  # after start: not in the rush of restoring chambers and connecting boards
BATCH_ROWS = 5000


@dataclass(frozen=True)
class Pruned:
    """What one run deleted."""

    log_entries: int = 0
    alarms: int = 0
    transactions: int = 0

    def __bool__(self) -> bool:
        return bool(self.log_entries or self.alarms)


def _archived() -> ColumnElement[bool]:
    return and_(Alarm.acknowledged_at.is_not(None), Alarm.cleared_at.is_not(None))


def _old_logs(cutoff: datetime) -> Callable[[Session], Select[Any] | None]:
    return lambda session: select(LogEntry.id).where(LogEntry.ts < cutoff)


def _old_alarms(cutoff: datetime) -> Callable[[Session], Select[Any] | None]:
    # both the clear and the acknowledgement are older: kept `alarm_keep_days` after archiving
    return lambda session: select(Alarm.id).where(
        _archived(), Alarm.acknowledged_at < cutoff, Alarm.cleared_at < cutoff
    )


def _logs_beyond(keep: int) -> Callable[[Session], Select[Any] | None]:
    def ids(session: Session) -> Select[Any] | None:
        oldest_kept = session.scalar(
            select(LogEntry.id).order_by(LogEntry.id.desc()).offset(keep - 1).limit(1)
        )
        return None if oldest_kept is None else select(LogEntry.id).where(LogEntry.id < oldest_kept)

    return ids


def _alarms_beyond(keep: int) -> Callable[[Session], Select[Any] | None]:
    def ids(session: Session) -> Select[Any] | None:
        oldest_kept = session.scalar(
            select(Alarm.id).where(_archived()).order_by(Alarm.id.desc()).offset(keep - 1).limit(1)
        )
        if oldest_kept is None:
            return None
        return select(Alarm.id).where(_archived(), Alarm.id < oldest_kept)

    return ids


def _delete_batch(model: type[Any], ids: Callable[[Session], Select[Any] | None], limit: int) -> Any:
    """Work for the writer: delete at most `limit` rows of `model` whose ids `ids` selects."""

    def work(session: Session) -> int:
        chosen = ids(session)
        if chosen is None:
            return 0
        statement = delete(model).where(model.id.in_(chosen.limit(limit)))
        result = session.execute(statement, execution_options={"synchronize_session": False})
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return work


class Retention:
    """The periodic pruning task; `run_once` is also what a test or an operator calls."""

    def __init__(
        self,
        writer: DbWriter,
        setting: Callable[[str], Any],
        *,
        period_s: float = PERIOD_S,
        first_run_s: float = FIRST_RUN_S,
        batch_rows: int = BATCH_ROWS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`setting(name)` reads a runtime setting's current value at each run."""
        self._writer = writer
        self._setting = setting
        self.batch_rows = batch_rows
        self._clock = clock
        self._periodic = Periodic(
            "pruning the database", self._prune, period_s=period_s, first_run_s=first_run_s
        )

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        """Cancel the timer; a batch already handed to the writer still commits."""
        await self._periodic.stop()

    async def run_once(self, now: datetime | None = None) -> Pruned:
        """Delete what the settings no longer keep, as of `now` (default: the clock)."""
        return await self._periodic.run(lambda: self._prune(now))

    async def _prune(self, now: datetime | None = None) -> Pruned:
        now = now or self._clock()
        log_days, log_rows = self._setting("log_keep_days"), self._setting("log_keep_rows")
        alarm_days, alarm_rows = self._setting("alarm_keep_days"), self._setting("alarm_keep_rows")
        started = time.monotonic()
        transactions = 0
        counts = []
        for model, rules in (
            (LogEntry, (_old_logs(now - timedelta(days=log_days)), _logs_beyond(log_rows))),
            (Alarm, (_old_alarms(now - timedelta(days=alarm_days)), _alarms_beyond(alarm_rows))),
        ):
            deleted = 0
            for ids in rules:
                while True:
                    batch = await self._writer.submit("retention", _delete_batch(model, ids, self.batch_rows))
                    transactions += 1
                    deleted += batch
                    if batch < self.batch_rows:
                        break
            counts.append(deleted)
        pruned = Pruned(counts[0], counts[1], transactions)
        if pruned:
            log.info(
                "pruned %d log entries (kept: %d days, at most %d) and %d archived alarms "
                "(kept: %d days, at most %d) in %d transactions, %.2f s",
                pruned.log_entries,
                log_days,
                log_rows,
                pruned.alarms,
                alarm_days,
                alarm_rows,
                transactions,
                time.monotonic() - started,
            )
        return pruned
