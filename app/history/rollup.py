"""Roll-ups into time frames: 1 min, 15 min, 1 h and 1 day (UTC), each with the count, min,
max, mean and last value of the samples in it.

Incremental: writing a sample marks its minute in `rollup_pending` (store.py, same
transaction). A batch takes pending minutes, recomputes each one's 1-minute frame from its
samples, then the 15-minute, hour and day frames that contain them, each from the frames
one level down (exact: counts add, min of mins, max of maxes, means weighted by count, last
of the latest), and deletes the minutes it did, all in one transaction. So a late sample
re-opens exactly the frames it falls in, a run after downtime resumes with what is still
pending, and running again with nothing pending changes nothing.

The mean is sample-weighted: the mean of the samples' values in the frame. A recorded
sample is already the mean of its interval's ticks, and every interval has about as many
ticks, so weighting samples equally is the same to within a tick; a time-weighted mean
would need a rule for where one sample ends, which a gap makes up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.orm import Session

from ..db.models import FRAMES_S, Rollup, RollupPending, Sample
from ..db.writer import DbWriter, is_busy
from ..periodic import Periodic
from .store import floor_to, iso, upsert

log = logging.getLogger(__name__)

PERIOD_S = 60.0
FIRST_RUN_S = 5.0  # soon after start: catch up with what was pending when it stopped
BATCH_MINUTES = 1000  # pending minutes per transaction: about 0.1 s of the writer's time
MERGE_GAP = 15  # frames between two wanted ones still read in the same query
DELETE_CHUNK = 500  # keys per IN (...): well under any SQLite's variable limit


@dataclass
class Agg:
    """What a frame holds, while it is being summed."""

    count: int
    total: float
    min: float
    max: float
    last: float
    last_at: int

    def add(self, other: Agg) -> None:
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        if other.last_at >= self.last_at:
            self.last, self.last_at = other.last, other.last_at

    def row(self, series_id: int, frame: int, start: int) -> dict[str, Any]:
        return {
            "series_id": series_id,
            "frame": frame,
            "start": start,
            "count": self.count,
            "min": self.min,
            "max": self.max,
            "mean": self.total / self.count,
            "last": self.last,
        }


@dataclass(frozen=True)
class Batch:
    minutes: int  # pending minutes rolled up
    frames: int  # frames written or removed
    left: int  # minutes still pending after it
    oldest_left: int | None  # the oldest of them (epoch ms)


def _runs(starts: Sequence[int], step_ms: int) -> list[tuple[int, int]]:
    """Sorted frame starts as [from, to) ranges to read, one query each: neighbours and
    frames up to MERGE_GAP apart share one (a query costs more than the few rows between)."""
    runs: list[tuple[int, int]] = []
    for start in starts:
        if runs and start - runs[-1][1] <= MERGE_GAP * step_ms:
            runs[-1] = (runs[-1][0], start + step_ms)
        else:
            runs.append((start, start + step_ms))
    return runs


# Built once: a roll-up runs thousands of these, and building a statement costs more than
# SQLite takes to run it.
_SAMPLES = (
    select(Sample.ts, Sample.value, Sample.min, Sample.max)
    .where(
        Sample.series_id == bindparam("series_id"),
        Sample.ts >= bindparam("low"),
        Sample.ts < bindparam("high"),
        Sample.value.is_not(None),
    )
    .order_by(Sample.ts)
)
_FRAMES = (
    select(Rollup.start, Rollup.count, Rollup.min, Rollup.max, Rollup.mean, Rollup.last)
    .where(
        Rollup.series_id == bindparam("series_id"),
        Rollup.frame == bindparam("frame"),
        Rollup.start >= bindparam("low"),
        Rollup.start < bindparam("high"),
    )
    .order_by(Rollup.start)
)
_DELETE_FRAMES = delete(Rollup).where(
    Rollup.series_id == bindparam("series_id"),
    Rollup.frame == bindparam("frame"),
    Rollup.start.in_(bindparam("starts", expanding=True)),
)
_DELETE_PENDING = delete(RollupPending).where(
    RollupPending.series_id == bindparam("series_id"),
    RollupPending.start.in_(bindparam("starts", expanding=True)),
)
_PENDING = (
    select(RollupPending.series_id, RollupPending.start)
    .order_by(RollupPending.series_id, RollupPending.start)
    .limit(bindparam("limit"))
)
_LEFT = select(func.count(), func.min(RollupPending.start))


def _merge(found: dict[int, Agg], key: int, one: Agg) -> None:
    if key in found:
        found[key].add(one)
    else:
        found[key] = one


def _minutes_from_samples(connection: Connection, series_id: int, minutes: Sequence[int]) -> dict[int, Agg]:
    found: dict[int, Agg] = {}
    wanted = set(minutes)
    for low, high in _runs(minutes, 60_000):
        rows = connection.execute(_SAMPLES, {"series_id": series_id, "low": low, "high": high})
        for ts, value, low_value, high_value in rows:
            start = floor_to(ts, 60_000)
            if start in wanted:  # else read on the way between two wanted minutes
                low_value = value if low_value is None else low_value
                high_value = value if high_value is None else high_value
                _merge(found, start, Agg(1, value, low_value, high_value, value, ts))
    return found


def _frames_from_finer(
    connection: Connection, series_id: int, finer: int, frame: int, starts: Sequence[int]
) -> dict[int, Agg]:
    found: dict[int, Agg] = {}
    step_ms = frame * 1000
    wanted = set(starts)
    for low, high in _runs(starts, step_ms):
        rows = connection.execute(_FRAMES, {"series_id": series_id, "frame": finer, "low": low, "high": high})
        for start, count, low_value, high_value, mean, last in rows:
            key = floor_to(start, step_ms)
            if key in wanted:
                _merge(found, key, Agg(count, mean * count, low_value, high_value, last, start))
    return found


def _store(
    connection: Connection, series_id: int, frame: int, starts: Iterable[int], found: dict[int, Agg]
) -> int:
    """Write the frames found; delete those of `starts` that hold no sample any more."""
    rows = [agg.row(series_id, frame, start) for start, agg in sorted(found.items())]
    upsert(
        connection,
        Rollup.__table__,
        rows,
        ("series_id", "frame", "start"),
        ("count", "min", "max", "mean", "last"),
    )
    empty = sorted(set(starts) - set(found))
    for chunk in range(0, len(empty), DELETE_CHUNK):
        params = {"series_id": series_id, "frame": frame, "starts": empty[chunk : chunk + DELETE_CHUNK]}
        connection.execute(_DELETE_FRAMES, params)
    return len(rows) + len(empty)


def roll_up_series(connection: Connection, series_id: int, minutes: Sequence[int]) -> int:
    """Recompute every frame that holds one of `minutes` (sorted minute starts, epoch ms)."""
    frames = _store(connection, series_id, 60, minutes, _minutes_from_samples(connection, series_id, minutes))
    starts = list(minutes)
    for finer, frame in zip(FRAMES_S, FRAMES_S[1:], strict=False):
        starts = sorted({floor_to(start, frame * 1000) for start in starts})
        found = _frames_from_finer(connection, series_id, finer, frame, starts)
        frames += _store(connection, series_id, frame, starts, found)
    return frames


def roll_up_batch(session: Session, limit: int = BATCH_MINUTES) -> Batch:
    """Roll up at most `limit` pending minutes, oldest series first, in the open transaction."""
    connection = session.connection()
    pending = connection.execute(_PENDING, {"limit": limit}).all()
    frames = 0
    for series_id, rows in groupby(pending, key=lambda row: row[0]):
        minutes = [start for _, start in rows]
        frames += roll_up_series(connection, series_id, minutes)
        for chunk in range(0, len(minutes), DELETE_CHUNK):
            connection.execute(
                _DELETE_PENDING, {"series_id": series_id, "starts": minutes[chunk : chunk + DELETE_CHUNK]}
            )
    left, oldest = connection.execute(_LEFT).one()
    return Batch(len(pending), frames, int(left), oldest)


class RollupTask:
    """The periodic roll-up: every `period_s`, batches through the one database writer until
    nothing is pending, so the tick's and the API's writes go in between two batches."""

    def __init__(
        self,
        writer: DbWriter,
        *,
        period_s: float = PERIOD_S,
        first_run_s: float = FIRST_RUN_S,
        batch_minutes: int = BATCH_MINUTES,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._writer = writer
        self.batch_minutes = batch_minutes
        self._wall = wall
        self._periodic = Periodic(
            "rolling up history", self._roll_up, period_s=period_s, first_run_s=first_run_s, wall=wall
        )
        self.frames_done = 0  # since start
        self.minutes_done = 0
        self.pending_minutes: int | None = None  # as the last batch left them
        self.oldest_pending: int | None = None

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def run_once(self) -> int:
        """Roll up everything pending now; the frames written or removed."""
        return await self._periodic.run()

    async def _roll_up(self) -> int:
        frames = 0
        while True:
            try:
                batch = await self._writer.submit(
                    "rollup", lambda session: roll_up_batch(session, self.batch_minutes)
                )
            except Exception as error:
                if not is_busy(error):
                    raise
                log.info(
                    "roll-up waits for the database (locked by another program); next run in %.0f s",
                    self._periodic.period_s,
                )
                return frames
            frames += batch.frames
            self.frames_done += batch.frames
            self.minutes_done += batch.minutes
            self.pending_minutes, self.oldest_pending = batch.left, batch.oldest_left
            if batch.minutes < self.batch_minutes or not batch.left:
                return frames
            await asyncio.sleep(0)  # let the loop queue its writes between two batches

    def status(self) -> dict[str, Any]:
        """The task's state for `GET /api/status`."""
        periodic = self._periodic
        lag_s = None
        if self.pending_minutes is not None:
            lag_s = (
                0.0
                if self.oldest_pending is None
                else max(0.0, round(self._wall() - self.oldest_pending / 1000, 1))
            )
        return {
            "state": "running" if periodic.running else "stopped",
            "period_s": periodic.period_s,
            "last_run": None if periodic.last_run_at is None else iso(int(periodic.last_run_at * 1000)),
            "last_error": periodic.last_error,
            "lag_s": lag_s,
            "pending_minutes": self.pending_minutes,
            "frames_done": self.frames_done,
            "minutes_done": self.minutes_done,
        }
