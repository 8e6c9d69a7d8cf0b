"""What the history tests share: a migrated SQLite file, samples written as the writer
writes them, the roll-up run to the end, and the brute-force frames to check it against."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from app.db.models import FRAMES_S, Rollup, RollupPending, Sample, Series
from app.history.rollup import roll_up_batch
from app.history.store import NewSample, Written, write_samples

Point = tuple[int, float, float | None, float | None]  # ts, value, min, max


def write(sessions, samples: list[NewSample]) -> Written:
    with sessions.begin() as session:
        return write_samples(session, samples)


def roll_up_all(sessions, limit: int = 1000) -> int:
    """Batches until nothing is pending; the number of batches."""
    batches = 0
    while True:
        with sessions.begin() as session:
            batch = roll_up_batch(session, limit)
        batches += 1
        if not batch.left:
            return batches


def series_id(sessions, name: str) -> int:
    with sessions() as session:
        return session.scalar(select(Series.id).where(Series.name == name))


def stored_rollups(sessions, name: str) -> dict[tuple[int, int], tuple[Any, ...]]:
    with sessions() as session:
        rows = session.execute(
            select(Rollup.frame, Rollup.start, Rollup.count, Rollup.min, Rollup.max, Rollup.mean, Rollup.last)
            .join(Series, Series.id == Rollup.series_id)
            .where(Series.name == name)
        )
        return {(frame, start): rest for frame, start, *rest in rows}


def stored_samples(sessions, name: str) -> dict[int, tuple[Any, ...]]:
    with sessions() as session:
        rows = session.execute(
            select(Sample.ts, Sample.value, Sample.min, Sample.max)
            .join(Series, Series.id == Sample.series_id)
            .where(Series.name == name)
        )
        return {ts: (value, low, high) for ts, value, low, high in rows}


def counted_and_stored(sessions, name: str) -> tuple[int, int]:
    """(the series' kept sample count, its rows counted now): the two must always agree."""
    with sessions() as session:
        found = session.execute(select(Series.id, Series.samples).where(Series.name == name)).one_or_none()
        if found is None:
            return 0, 0
        series_id, counted = found
        stored = session.scalar(select(func.count()).select_from(Sample).where(Sample.series_id == series_id))
        return counted, stored


def pending_count(sessions) -> int:
    with sessions() as session:
        return len(session.execute(select(RollupPending.start)).all())


def brute_force(samples: dict[int, tuple[float, float | None, float | None]]) -> dict[tuple[int, int], tuple]:
    """Every frame straight from the samples: (frame, start) -> (count, min, max, mean, last)."""
    frames: dict[tuple[int, int], list[tuple[int, float, float, float]]] = defaultdict(list)
    for ts, (value, low, high) in samples.items():
        for frame in FRAMES_S:
            start = ts - ts % (frame * 1000)
            frames[(frame, start)].append(
                (ts, value, value if low is None else low, value if high is None else high)
            )
    result = {}
    for key, rows in frames.items():
        rows.sort()
        values = [value for _, value, _, _ in rows]
        result[key] = (
            len(rows),
            min(low for _, _, low, _ in rows),
            max(high for _, _, _, high in rows),
            math.fsum(values) / len(values),
            rows[-1][1],
        )
    return result


def assert_frames_equal(stored: dict, expected: dict) -> None:
    assert set(stored) == set(expected), (sorted(set(stored) ^ set(expected)))[:5]
    for key, (count, low, high, mean, last) in expected.items():
        got = stored[key]
        assert got[0] == count and got[1] == low and got[2] == high and got[4] == last, (
            key,
            got,
            expected[key],
        )
        assert math.isclose(got[3], mean, rel_tol=1e-9, abs_tol=1e-9), (key, got[3], mean)
