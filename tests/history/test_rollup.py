"""Roll-ups into 1 min, 15 min, 1 h and 1 day frames: correct against a brute-force
computation on random data with late samples (hypothesis), exactly the frames a late sample
falls in re-opened, nothing changed by a second run, and a catch-up after downtime."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db.engine import make_engine, make_sessionmaker, migrate
from app.db.writer import DbWriter, WriterBusy
from app.history.rollup import RollupTask, roll_up_batch
from app.history.store import NewSample
from tests.conftest import BACKENDS
from tests.history.common import (
    assert_frames_equal,
    brute_force,
    pending_count,
    roll_up_all,
    stored_rollups,
    stored_samples,
    write,
)

DAY_MS = 86_400_000
BASE = 1_763_856_000_000  # 2025-11-23T00:00:00Z: frames start on round numbers from here


@pytest.fixture(scope="module", params=BACKENDS)
def module_sessions(request, tmp_path_factory):
    """One database for the module's examples (each uses its own series), on each backend."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_cluster").create_database()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('rollup') / 'db'}"
    engine = make_engine(url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


NAMES = (f"prop/{n}" for n in itertools.count())  # a fresh series for each example

sample = st.tuples(
    st.integers(0, 3 * 1440 - 1),  # minute within three days
    st.one_of(st.sampled_from([0, 59_999, 30_000]), st.integers(0, 59_999)),  # ms in the minute
    st.floats(-100, 100, allow_nan=False, allow_infinity=False),
    st.one_of(st.none(), st.floats(0, 5, allow_nan=False)),  # spread of a recorded mean
)
operation = st.one_of(
    st.lists(sample, min_size=1, max_size=30).map(lambda batch: ("write", batch)),
    st.integers(1, 50).map(lambda limit: ("roll", limit)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operation, min_size=1, max_size=12))
def test_rollups_match_a_brute_force_computation_with_late_samples(module_sessions, operations):
    sessions = module_sessions
    name = next(NAMES)
    model: dict[int, tuple[float, float | None, float | None]] = {}  # what should be stored
    for kind, argument in operations:
        if kind == "roll":  # partial runs in between: later writes are late samples
            with sessions.begin() as session:
                roll_up_batch(session, argument)
            continue
        batch = []
        for minute, offset, value, spread in argument:
            ts = BASE + minute * 60_000 + offset
            low, high = (None, None) if spread is None else (value - spread, value + spread)
            batch.append(NewSample(name, ts, value, low, high))
            model[ts] = (value, low, high)  # the later of two at one time replaces the first
        write(sessions, batch)
    roll_up_all(sessions, limit=7)
    stored = stored_samples(sessions, name)
    assert set(stored) == set(model)
    for ts, (value, low, high) in model.items():  # min and max kept only where they differ
        assert stored[ts] == (value, None if low == value else low, None if high == value else high)
    assert_frames_equal(stored_rollups(sessions, name), brute_force(model))
    # running again changes nothing
    before = stored_rollups(sessions, name)
    with sessions.begin() as session:
        assert roll_up_batch(session).minutes == 0
    assert stored_rollups(sessions, name) == before


def test_a_late_sample_reopens_exactly_the_frames_it_falls_in(module_sessions):
    sessions = module_sessions
    name = "late/one"
    samples = [NewSample(name, BASE + i * 10_000, float(i % 17)) for i in range(3 * 8640)]  # 3 days of 10 s
    write(sessions, samples)
    roll_up_all(sessions)
    before = stored_rollups(sessions, name)
    late_ts = BASE + DAY_MS + 5 * 3_600_000 + 17 * 60_000 + 3_000  # day 2, 05:17:03
    write(sessions, [NewSample(name, late_ts, 1000.0)])
    with sessions.begin() as session:
        batch = roll_up_batch(session)
    assert batch.minutes == 1 and batch.frames == 4
    after = stored_rollups(sessions, name)
    changed = {key for key in after if after[key] != before.get(key)}
    assert changed == {
        (60, BASE + DAY_MS + 5 * 3_600_000 + 17 * 60_000),
        (900, BASE + DAY_MS + 5 * 3_600_000 + 15 * 60_000),
        (3600, BASE + DAY_MS + 5 * 3_600_000),
        (86400, BASE + DAY_MS),
    }
    assert after[(86400, BASE + DAY_MS)][2] == 1000.0  # the day's max is the late sample
    model = {s.ts: (s.value, None, None) for s in samples} | {late_ts: (1000.0, None, None)}
    assert_frames_equal(after, brute_force(model))


@pytest.mark.gen_test(timeout=60)
async def test_the_task_catches_up_after_downtime_in_batches_through_the_writer(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    name = "gap/beer"
    before_gap = [NewSample(name, BASE + i * 10_000, 20 + (i % 7) / 10) for i in range(2000)]
    write(sessions, before_gap)  # recorded, then the server stopped before rolling them up
    engine.dispose()

    engine = make_engine(db_url)  # the next start, six hours later
    sessions = make_sessionmaker(engine)
    after_gap = [NewSample(name, BASE + 6 * 3_600_000 + i * 10_000, 18.0 + i % 3) for i in range(500)]
    write(sessions, after_gap)
    writer = DbWriter(sessions)
    writer.start()
    try:
        task = RollupTask(writer, batch_minutes=50, wall=lambda: (BASE + 8 * 3_600_000) / 1000)
        assert task.status()["state"] == "stopped" and task.status()["lag_s"] is None
        frames = await task.run_once()
        assert pending_count(sessions) == 0 and frames > 0
        status = task.status()
        assert status["lag_s"] == 0 and status["pending_minutes"] == 0
        assert status["minutes_done"] == len({s.ts // 60_000 for s in before_gap + after_gap})
        assert status["last_run"].endswith("Z") and status["frames_done"] == frames
        model = {s.ts: (s.value, None, None) for s in before_gap + after_gap}
        assert_frames_equal(stored_rollups(sessions, name), brute_force(model))
        # the gap stays a gap: no frame between the two stretches
        starts = sorted(start for frame, start in stored_rollups(sessions, name) if frame == 60)
        assert not [s for s in starts if before_gap[-1].ts < s < BASE + 6 * 3_600_000 - 60_000]
        assert await task.run_once() == 0  # nothing pending: nothing done
    finally:
        await writer.stop()
        engine.dispose()


class BusyAfter:
    """A writer that hands on `n` submits, then finds the database locked by another program."""

    def __init__(self, writer: DbWriter, n: int) -> None:
        self.writer, self.n = writer, n

    def submit(self, kind, work):
        self.n -= 1
        if self.n < 0:
            raise WriterBusy("rollup write waited 5.0 s for the database")
        return self.writer.submit(kind, work)


@pytest.mark.gen_test(timeout=30)
async def test_the_task_starts_stops_and_reports_its_lag(sessions):
    write(sessions, [NewSample("lag/x", BASE + i * 60_000, 1.0) for i in range(30)])
    writer = DbWriter(sessions)
    writer.start()
    now = (BASE + 3_600_000) / 1000
    try:
        # locked after the first batch: the run stops, 20 minutes still pending, the oldest at 10 min
        task = RollupTask(BusyAfter(writer, 1), batch_minutes=10, wall=lambda: now)
        await task.run_once()
        status = task.status()
        assert status["pending_minutes"] == 20 and status["lag_s"] == 50 * 60
        assert status["state"] == "stopped" and status["last_error"] is None

        task = RollupTask(writer, batch_minutes=10, first_run_s=0.01, period_s=0.05, wall=lambda: now)
        task.start()
        assert task.status()["state"] == "running"
        for _ in range(100):
            if task.status()["pending_minutes"] == 0:
                break
            await asyncio.sleep(0.02)
        assert task.status()["lag_s"] == 0 and task.status()["minutes_done"] == 20
        await task.stop()
        assert task.status()["state"] == "stopped"
        write(sessions, [NewSample("lag/x", BASE + 40 * 60_000, 1.0)])
        await asyncio.sleep(0.1)
        assert pending_count(sessions) == 1  # stopped: nothing rolls up
    finally:
        await writer.stop()
