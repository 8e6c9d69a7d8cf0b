"""History retention: a raw sample is deleted only once every frame it belongs to is rolled
up (and never while its minute is pending), roll-ups and events go after
`history_rollup_days`, a sample older than what was pruned is refused, and with incremental
vacuum the SQLite file stops growing at steady state (many simulated days)."""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.db.engine import make_engine, make_sessionmaker, migrate
from app.db.models import RollupPending, Series
from app.db.writer import DbWriter
from app.history.recorder import Recorder
from app.history.retention import HistoryRetention
from app.history.rollup import RollupTask, roll_up_batch
from app.history.store import NewSample
from tests.history.common import (
    assert_frames_equal,
    brute_force,
    counted_and_stored,
    roll_up_all,
    stored_rollups,
    stored_samples,
    write,
)

BASE = 1_763_856_000_000  # 2025-11-23T00:00:00Z
MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000


class SyncWriter:
    """The writer's `submit`, run at once in a transaction of its own (no thread)."""

    def __init__(self, sessions) -> None:
        self.sessions = sessions

    async def submit(self, kind, work):
        with self.sessions.begin() as session:
            return work(session)


def prune(sessions, now_ms: int, raw_days: int = 30, rollup_days: int = 3650, **options):
    days = {"history_raw_days": raw_days, "history_rollup_days": rollup_days}
    retention = HistoryRetention(SyncWriter(sessions), days.__getitem__, **options)
    return asyncio.run(retention.run_once(now_ms / 1000))


def raw_from(sessions, name: str) -> int:
    with sessions() as session:
        return session.scalar(select(Series.raw_from).where(Series.name == name))


def test_a_sample_is_deleted_only_once_its_frames_are_rolled_up(sessions):
    # ten days of one sample a minute, the first five older than the 3 raw days kept
    now = BASE + 8 * DAY + 12 * HOUR
    samples = [NewSample("t", BASE + i * MINUTE, float(i % 50)) for i in range(10 * 1440)]
    write(sessions, samples)
    pruned = prune(sessions, now, raw_days=3)
    assert pruned.samples == 0 and pruned.series_held == 1  # nothing rolled up: nothing deleted
    assert len(stored_samples(sessions, "t")) == 10 * 1440
    assert raw_from(sessions, "t") == BASE  # held at its oldest pending minute

    with sessions.begin() as session:  # the roll-up has done the first two days only
        roll_up_batch(session, 2 * 1440)
    prune(sessions, now, raw_days=3)
    stored = stored_samples(sessions, "t")
    assert min(stored) == BASE + 2 * DAY and len(stored) == 8 * 1440
    with sessions() as session:
        oldest_pending = session.scalar(select(RollupPending.start).order_by(RollupPending.start).limit(1))
    assert oldest_pending == BASE + 2 * DAY == raw_from(sessions, "t")

    roll_up_all(sessions)
    pruned = prune(sessions, now, raw_days=3, batch_rows=500)  # several transactions
    cutoff = BASE + 5 * DAY + 12 * HOUR  # three days before now, on the minute
    assert raw_from(sessions, "t") == cutoff and min(stored_samples(sessions, "t")) == cutoff
    assert pruned.samples == cutoff // MINUTE - (BASE + 2 * DAY) // MINUTE and pruned.transactions > 5
    # the frames still hold every sample, pruned or not
    assert_frames_equal(
        stored_rollups(sessions, "t"), brute_force({s.ts: (s.value, None, None) for s in samples})
    )
    # a late sample where raw samples were pruned is refused: it would re-open a minute whose others are gone
    assert write(sessions, [NewSample("t", cutoff - 1, 99.0), NewSample("t", cutoff, 98.0)]).refused == 1
    assert prune(sessions, now, raw_days=3).deleted == 0  # again: nothing more


def test_rollups_and_events_go_after_the_rollup_days_and_never_before_the_raw_days(sessions):
    write(sessions, [NewSample("t", BASE + i * HOUR, 1.0) for i in range(10 * 24)])
    write(
        sessions, [NewSample("notes", BASE + d * DAY, None, text=f"day {d}", kind="event") for d in range(10)]
    )
    roll_up_all(sessions)
    now = BASE + 10 * DAY
    pruned = prune(sessions, now, raw_days=2, rollup_days=5)
    frames = stored_rollups(sessions, "t")
    assert min(start for _, start in frames) == BASE + 5 * DAY  # whole days: no frame split
    assert {frame for frame, _ in frames} == {60, 900, 3600, 86400}
    assert sorted(stored_samples(sessions, "notes")) == [
        BASE + d * DAY for d in range(5, 10)
    ]  # events: rollup days
    assert min(stored_samples(sessions, "t")) == BASE + 8 * DAY
    assert pruned.texts == 5 and pruned.rollups > 0
    assert counted_and_stored(sessions, "notes") == (5, 5)  # the counts follow the deletes
    assert counted_and_stored(sessions, "t") == (2 * 24, 2 * 24)
    # raw days above the rollup days: roll-ups are kept as long as raw samples
    prune(sessions, now + DAY, raw_days=5, rollup_days=1)
    assert min(start for _, start in stored_rollups(sessions, "t")) == BASE + 6 * DAY


NAMES = (f"keep/{n}" for n in itertools.count())

operation = st.one_of(
    st.lists(
        st.tuples(st.integers(0, 6 * 1440 - 1), st.floats(-50, 50, allow_nan=False)), min_size=1, max_size=20
    ).map(lambda batch: ("write", batch)),
    st.integers(1, 40).map(lambda limit: ("roll", limit)),
    st.integers(0, 48).map(lambda hours: ("prune", hours)),  # the clock moves on this many hours
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operation, min_size=1, max_size=15))
def test_retention_never_loses_what_is_not_rolled_up(sessions, operations):
    name = next(NAMES)
    model: dict[int, tuple[float, None, None]] = {}
    now = BASE + 2 * DAY
    for kind, argument in operations:
        if kind == "write":
            floor = raw_from(sessions, name) or 0
            batch = [NewSample(name, BASE + minute * MINUTE + 7, value) for minute, value in argument]
            write(sessions, batch)
            model.update((s.ts, (s.value, None, None)) for s in batch if s.ts >= floor)
        elif kind == "roll":
            with sessions.begin() as session:
                roll_up_batch(session, argument)
        else:
            now += argument * HOUR
            prune(sessions, now, raw_days=1)
            with sessions() as session:
                series_id = session.scalar(select(Series.id).where(Series.name == name))
                pending = set(
                    session.scalars(select(RollupPending.start).where(RollupPending.series_id == series_id))
                )
            stored = stored_samples(sessions, name)
            lost = [ts for ts in model if ts not in stored and ts - ts % MINUTE in pending]
            assert not lost, lost  # a pending minute keeps every sample
        if kind != "roll":  # writes (replacing a sample is no new one) and deletes keep the count
            counted, stored_rows = counted_and_stored(sessions, name)
            assert counted == stored_rows, operations
    roll_up_all(sessions)
    assert_frames_equal(stored_rollups(sessions, name), brute_force(model))  # nothing lost from the frames


def checkpoint(session) -> None:
    session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def file_bytes(path) -> tuple[int, int]:
    """(the database file, with its WAL)."""
    return os.path.getsize(path), sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))


@pytest.mark.gen_test(timeout=240)
async def test_the_file_stops_growing_at_steady_state(tmp_path):
    """Recorder, roll-up and retention as the server runs them, through the one writer, on
    a virtual clock: 10 days of a chamber recorded every 5 minutes, one raw day and two days of
    roll-ups kept. Once both are full, deleted pages go back and the file stays put."""
    path = tmp_path / "db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    writer = DbWriter(sessions)
    writer.start()
    clock = {"ms": BASE}

    def wall() -> float:
        return clock["ms"] / 1000

    days = {"history_interval_s": 300.0, "history_raw_days": 1, "history_rollup_days": 2}
    recorder = Recorder(writer, days.__getitem__, wall=wall)
    rollup = RollupTask(writer, wall=wall)
    retention = HistoryRetention(writer, days.__getitem__, wall=wall)
    sizes = []
    try:
        for minute in range(0, 10 * 1440, 5):
            clock["ms"] = BASE + minute * MINUTE
            stamp = datetime.fromtimestamp(clock["ms"] / 1000, UTC).isoformat().replace("+00:00", "Z")
            record = {
                "beer": 18 + (minute % 97) / 100,
                "fridge": 10 + (minute % 13) / 10,
                "room": 20 + (minute % 720) / 360,
                "beer_set": 18.0,
                "fridge_set": 9 + (minute % 31) / 10,
                "heat": minute % 7 == 0,
                "cool": minute % 3 == 0,
                "heat_duty": (minute % 11) / 11,
                "cool_duty": (minute % 5) / 5,
                "ts": stamp,
            }
            recorder.chamber_record(1, record)
            if minute % 60 == 55:  # every simulated hour: write and roll up; prune every six
                recorder.flush()
                await rollup.run_once()
                if minute % 360 == 355:
                    await retention.run_once()
            if minute % 1440 == 1435:
                await writer.drain()
                total = file_bytes(path)[1]
                await writer.submit("check", checkpoint)  # the main file as it holds everything
                sizes.append((file_bytes(path)[0], total))
        pages = await writer.submit(
            "check", lambda s: s.connection().exec_driver_sql("PRAGMA freelist_count").scalar()
        )
        integrity = await writer.submit(
            "check", lambda s: s.connection().exec_driver_sql("PRAGMA integrity_check").scalar()
        )
    finally:
        await writer.stop()
        engine.dispose()
    assert integrity == "ok"
    database = [main for main, _ in sizes]
    assert database[0] < database[2]  # it grows while the kept days fill up ...
    for steady in (database[4:], [total for _, total in sizes[4:]]):  # ... then stays put, WAL or not
        assert max(steady) <= min(steady) * 1.05, sizes
    assert pages < 300  # freed pages went back to the file system (at most one vacuum step's worth left)
    assert recorder.stored == (10 * 288 - 1) * 9  # the last minute is still open
