"""The database writer's limit on how long a submitted write may wait to start: past it
the write is refused (`WriterBusy`) and never runs, so a caller told "busy" is told the truth;
and a burst of fire-and-forget writes shares transactions without one bad write losing the rest."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, select

from app.db.models import Setting
from app.db.writer import DbWriter, WriterBusy, is_busy


def slow_write(session) -> None:
    time.sleep(0.5)  # a write stuck on the SD card, or waiting for another program's lock
    session.add(Setting(name="slow", value=1))


@pytest.mark.gen_test
async def test_a_submitted_write_that_cannot_start_in_time_is_refused_and_never_runs(sessions):
    writer = DbWriter(sessions, submit_wait_s=0.2)
    writer.start()
    try:
        writer.enqueue("slow", slow_write)
        with pytest.raises(WriterBusy) as refused:
            await writer.submit("late", lambda session: session.add(Setting(name="late", value=2)))
        assert is_busy(refused.value)
        # once the queue moves again, a submitted write runs
        await writer.submit("prompt", lambda session: session.add(Setting(name="prompt", value=3)))
        with sessions() as session:
            assert set(session.scalars(select(Setting.name))) == {"slow", "prompt"}
    finally:
        await writer.stop()


@pytest.mark.gen_test
async def test_drain_waits_however_long_the_queue_takes(sessions):
    writer = DbWriter(sessions, submit_wait_s=0.1)
    writer.start()
    try:
        writer.enqueue("slow", slow_write)
        await writer.drain()  # not refused: it only marks where the queue was
        with sessions() as session:
            assert session.scalar(select(Setting.name)) == "slow"
    finally:
        await writer.stop()


@pytest.mark.gen_test
async def test_a_burst_of_writes_shares_commits_and_a_bad_one_loses_none_of_the_others(db_engine, sessions):
    commits = []
    event.listen(db_engine, "commit", lambda connection: commits.append(1))
    failures, done = [], []
    writer = DbWriter(sessions, on_failure=lambda kind, error: failures.append(kind))
    writer.start()
    try:
        writer.enqueue("slow", slow_write)  # the burst queues up behind it
        for n in range(300):
            name = "slow" if n == 150 else f"log{n}"  # n 150: a duplicate key, refused by the database
            work = lambda session, name=name, n=n: session.add(Setting(name=name, value=n))  # noqa: E731
            writer.enqueue(f"w{n}", work, then=done.append)
        await writer.drain()
        with sessions() as session:
            stored = dict(session.execute(select(Setting.name, Setting.value)).all())
        assert stored == {"slow": 1, **{f"log{n}": n for n in range(300) if n != 150}}
        assert failures == ["w150"]
        assert done == [None] * 299  # each landed write's `then` ran, the refused one's not
        # one commit for the slow write, a few for the 300: in batches, the one with the bad
        # write split in halves down to it
        assert len(commits) <= 1 + 2 * 10, len(commits)
    finally:
        await writer.stop()
