"""History retention: raw samples older than `history_raw_days` are deleted once every frame
they belong to is rolled up; roll-ups and text samples (events, states) older than
`history_rollup_days` (never fewer than the raw days) go too. Then SQLite's incremental
vacuum gives the freed pages back to the file system, a few hundred at a time, so the file
stops growing once the data kept stops growing.

"Rolled up" is exact: a sample's minute is pending roll-up (`rollup_pending`) until the
transaction that recomputed all four of its frames, so a series is pruned only below both
the cutoff and its oldest pending minute. The cutoff is moved to a minute boundary, so no
minute is ever half pruned, and becomes the series' `raw_from`: a sample older than that
arriving later is refused, never rolled up into a minute whose other samples are gone.

Every delete goes through the one database writer in batches of `batch_rows`, each its own
short transaction, as app/db/retention.py does for logs and alarms.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from ..db.models import FRAMES_S, Rollup, RollupPending, Sample, Series
from ..db.writer import is_busy
from ..periodic import Periodic
from .store import MINUTE_MS, count_samples, floor_to, iso

log = logging.getLogger(__name__)

PERIOD_S = 3600.0
FIRST_RUN_S = 120.0  # after start, and after the roll-up's first catch-up
BATCH_ROWS = 5000
VACUUM_PAGES = 256  # 1 MiB of 4 KiB pages per transaction
VACUUM_STEPS = 1000  # at most this many per run; the next run goes on
DAY_MS = 86_400_000


@dataclass
class HistoryPruned:
    samples: int = 0  # raw values
    texts: int = 0  # events and states
    rollups: int = 0
    pages_freed: int = 0
    transactions: int = 0
    series_held: int = 0  # kept back past the cutoff: minutes still pending roll-up

    @property
    def deleted(self) -> int:
        return self.samples + self.texts + self.rollups


def raw_cutoffs(session: Session, cutoff: int) -> dict[int, int]:
    """Per series, where raw pruning stops: the cutoff, or its oldest minute still pending
    roll-up if that is older; stored as the series' `raw_from` (it never moves back)."""
    oldest = dict(
        session.execute(
            select(RollupPending.series_id, func.min(RollupPending.start)).group_by(RollupPending.series_id)
        ).all()
    )
    found = {}
    for series_id, raw_from in session.execute(select(Series.id, Series.raw_from)).all():
        held = min(cutoff, oldest.get(series_id, cutoff))
        found[series_id] = max(raw_from, held)
        if found[series_id] > raw_from:
            session.execute(update(Series).where(Series.id == series_id).values(raw_from=found[series_id]))
    return found


def _delete_below(
    model: Any,
    where: list[ColumnElement[bool]],
    column: Any,
    below: int,
    limit: int,
    series_id: int | None = None,
) -> Callable[[Session], int]:
    """Work for the writer: delete at most `limit` rows matching `where` with `column` <
    `below`, the oldest first (the batch ends at the time of the next row left). Raw
    samples of `series_id` are taken off its sample count in the same transaction."""

    def work(session: Session) -> int:
        condition = [*where, column < below]
        upto = session.scalar(select(column).where(*condition).order_by(column).offset(limit).limit(1))
        if upto is not None:
            condition = [*where, column < upto]
        result = session.execute(
            delete(model).where(*condition), execution_options={"synchronize_session": False}
        )
        deleted = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if series_id is not None:
            count_samples(session.connection(), {series_id: -deleted})
        return deleted

    return work


def vacuum_step(session: Session, pages: int) -> int:
    """Give up to `pages` free pages back to the file system; the free pages left."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return 0  # PostgreSQL's autovacuum does this itself
    # sqlite3 steps a PRAGMA once per execute(), freeing one page; executescript runs it out
    connection.connection.driver_connection.executescript(f"PRAGMA incremental_vacuum({int(pages)})")  # type: ignore[union-attr]
    return int(connection.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)


def free_pages(session: Session) -> int:
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return 0
    if connection.exec_driver_sql("PRAGMA auto_vacuum").scalar() != 2:
        return 0  # not INCREMENTAL (the one-time VACUUM failed): pages are reused, not freed
    return int(connection.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)


class HistoryRetention:
    def __init__(
        self,
        writer: Any,
        setting: Callable[[str], Any],
        *,
        period_s: float = PERIOD_S,
        first_run_s: float = FIRST_RUN_S,
        batch_rows: int = BATCH_ROWS,
        vacuum_pages: int = VACUUM_PAGES,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`writer` is the `DbWriter`; `setting(name)` reads `history_raw_days` and
        `history_rollup_days` at each run."""
        self._writer = writer
        self._setting = setting
        self.batch_rows = batch_rows
        self.vacuum_pages = vacuum_pages
        self._wall = wall
        self._periodic = Periodic(
            "pruning history", self._prune, period_s=period_s, first_run_s=first_run_s, wall=wall
        )
        self.last: HistoryPruned | None = None

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def run_once(self, now_s: float | None = None) -> HistoryPruned:
        """Prune as of `now_s` (epoch seconds; default the wall clock)."""
        return await self._periodic.run(lambda: self._prune(now_s))

    async def _prune(self, now_s: float | None = None) -> HistoryPruned:
        pruned = HistoryPruned()
        try:
            await self._prune_into(pruned, now_s)
        except Exception as error:
            if not is_busy(error):
                raise
            log.info("history pruning waits for the database (locked by another program); next run goes on")
        self.last = pruned
        return pruned

    async def _prune_into(self, pruned: HistoryPruned, now_s: float | None) -> None:
        now_ms = int((self._wall() if now_s is None else now_s) * 1000)
        raw_days = self._setting("history_raw_days")
        rollup_days = max(self._setting("history_rollup_days"), raw_days)
        raw_cut = floor_to(now_ms - raw_days * DAY_MS, MINUTE_MS)
        rollup_cut = floor_to(now_ms - rollup_days * DAY_MS, DAY_MS)  # whole days: no frame split
        started = time.monotonic()
        cutoffs = await self._writer.submit(
            "history retention", lambda session: raw_cutoffs(session, raw_cut)
        )
        pruned.transactions += 1
        for series_id, below in cutoffs.items():
            pruned.series_held += below < raw_cut
            where = [Sample.series_id == series_id, Sample.text.is_(None)]
            pruned.samples += await self._batches(Sample, where, Sample.ts, below, pruned, series_id)
            texts = [Sample.series_id == series_id, Sample.text.is_not(None)]
            pruned.texts += await self._batches(Sample, texts, Sample.ts, rollup_cut, pruned, series_id)
            for frame in FRAMES_S:
                frames = [Rollup.series_id == series_id, Rollup.frame == frame]
                pruned.rollups += await self._batches(Rollup, frames, Rollup.start, rollup_cut, pruned)
        if pruned.deleted:
            await self._vacuum(pruned)
        if pruned.deleted or pruned.pages_freed:
            log.info(
                "history pruned: %d raw samples before %s, %d events/states and %d roll-ups before %s; "
                "%d pages freed; %d transactions, %.2f s",
                pruned.samples,
                iso(raw_cut),
                pruned.texts,
                pruned.rollups,
                iso(rollup_cut),
                pruned.pages_freed,
                pruned.transactions,
                time.monotonic() - started,
            )
        if pruned.series_held:
            log.info("raw history of %d series kept past the cutoff: not rolled up yet", pruned.series_held)

    async def _batches(
        self,
        model: Any,
        where: list[Any],
        column: Any,
        below: int,
        pruned: HistoryPruned,
        series_id: int | None = None,
    ) -> int:
        deleted = 0
        while True:
            batch = await self._writer.submit(
                "history retention", _delete_below(model, where, column, below, self.batch_rows, series_id)
            )
            pruned.transactions += 1
            deleted += batch
            if batch < self.batch_rows:
                return deleted

    async def _vacuum(self, pruned: HistoryPruned) -> None:
        free = await self._writer.submit("history vacuum", free_pages)
        for _ in range(VACUUM_STEPS):
            if not free:
                return
            left = await self._writer.submit(
                "history vacuum", lambda session: vacuum_step(session, self.vacuum_pages)
            )
            pruned.transactions += 1
            pruned.pages_freed += free - left
            free = left

    def status(self) -> dict[str, Any]:
        periodic, last = self._periodic, self.last
        return {
            "state": "running" if periodic.running else "stopped",
            "last_run": None if periodic.last_run_at is None else iso(int(periodic.last_run_at * 1000)),
            "last_error": periodic.last_error,
            "last_deleted": None
            if last is None
            else {
                "samples": last.samples,
                "texts": last.texts,
                "rollups": last.rollups,
                "pages_freed": last.pages_freed,
            },
        }
