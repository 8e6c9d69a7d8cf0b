"""The database writer's limit on how long a submitted write may wait to start: past it
the write is refused (`WriterBusy`) and never runs, so a caller told "busy" is told the truth."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.db.engine import make_engine, make_sessionmaker, migrate
from app.db.models import Setting
from app.db.writer import DbWriter, WriterBusy, is_busy


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db'}")
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


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
