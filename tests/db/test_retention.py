"""Bounded database growth: old or surplus log entries and archived alarms are deleted by
the retention task, through the one writer, in short batches; an alarm still active or not
yet acknowledged never is. Through the real server, its settings API and a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.control.alarms import Finding
from app.db.models import Alarm, LogEntry, utcnow
from app.db.retention import Retention
from app.db.writer import DbWriter
from app.runtime_settings import SPECS
from tests.helpers import assert_error, http

DAY = timedelta(days=1)


async def get(server, path: str) -> Any:
    status, reply = await http(server, "GET", path)
    assert status == 200, reply
    return reply


async def put_setting(server, name: str, value: Any) -> None:
    status, reply = await http(server, "PUT", f"/api/settings/{name}", {"value": value})
    assert status == 200, reply


def seed_logs(sessions, *messages_and_ts: tuple[str, datetime]) -> None:
    """Rows as an appliance that has run for months would hold them."""
    with sessions.begin() as session:
        session.add_all(
            LogEntry(ts=ts, source="seed", level="info", message=message) for message, ts in messages_and_ts
        )


def seed_alarm(
    sessions, code: str, raised: datetime, acked: datetime | None, cleared: datetime | None
) -> None:
    with sessions.begin() as session:
        session.add(
            Alarm(
                source="seed",
                code=code,
                message=f"alarm {code}",
                raised_at=raised,
                acknowledged_at=acked,
                cleared_at=cleared,
            )
        )


async def logged_messages(server) -> list[str]:
    return [entry["message"] for entry in await get(server, "/api/logs?limit=1000")]


async def alarm_codes(server) -> list[str]:
    return [alarm["code"] for alarm in await get(server, "/api/alarms?state=all&limit=1000")]


@pytest.mark.gen_test(timeout=30)
async def test_log_entries_older_than_log_keep_days_are_deleted_and_newer_ones_kept(server, caplog):
    now = utcnow()
    seed_logs(
        server.sessions,
        ("two months old", now - 60 * DAY),
        ("just over 30 days", now - 30 * DAY - timedelta(minutes=1)),
        ("just under 30 days", now - 30 * DAY + timedelta(minutes=1)),
        ("yesterday", now - DAY),
    )
    status, reply = await http(
        server, "POST", "/api/channels/logs", {"entries": [{"source": "script", "msg": "published now"}]}
    )
    assert status == 200, reply
    await server.db_writer.drain()

    with caplog.at_level(logging.INFO, logger="app.db.retention"):
        pruned = await server.retention.run_once(now)
    assert (pruned.log_entries, pruned.alarms) == (2, 0)
    assert await logged_messages(server) == ["published now", "yesterday", "just under 30 days"]
    assert "pruned 2 log entries (kept: 30 days, at most 100000)" in caplog.text

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="app.db.retention"):
        assert not await server.retention.run_once(now)  # nothing left to prune: nothing logged
    assert "pruned" not in caplog.text


@pytest.mark.gen_test(timeout=30)
async def test_the_row_cap_keeps_the_newest_and_a_setting_changed_by_rest_applies_at_the_next_run(server):
    now = utcnow()
    seed_logs(
        server.sessions, *((f"entry {index}", now - timedelta(seconds=300 - index)) for index in range(250))
    )
    server.retention.batch_rows = 40  # several transactions per rule

    assert not await server.retention.run_once()  # the default cap (100000) keeps all of them
    assert len(await logged_messages(server)) == 250

    await put_setting(server, "log_keep_rows", 100)
    pruned = await server.retention.run_once()
    assert pruned.log_entries == 150
    assert await logged_messages(server) == [f"entry {index}" for index in range(249, 149, -1)]

    await put_setting(server, "log_keep_days", 1)
    assert (await server.retention.run_once(now + DAY)).log_entries == 100  # all older than a day now
    assert await logged_messages(server) == []


@pytest.mark.gen_test(timeout=30)
async def test_only_archived_alarms_are_ever_pruned_by_age(server):
    # through the real paths: an outside alarm is latched (cleared, unacknowledged) until
    # acknowledged; a chamber's rule keeps its alarm active until the condition goes away
    async def raise_outside(code: str) -> None:
        body = {"alarms": [{"source": "debugger", "code": code, "msg": code}]}
        status, reply = await http(server, "POST", "/api/channels/alarms", body)
        assert status == 200, reply

    await raise_outside("latched")
    await raise_outside("archived")
    server.alarms.apply("chamber/9", {"active_acked": Finding("active_acked", "warning", "too warm")})
    server.alarms.apply("chamber/9", {"active": Finding("active", "warning", "too cold")})
    await asyncio.sleep(0.1)  # the outside raises are handled on the loop, then stored
    await server.db_writer.drain()
    by_code = {alarm["code"]: alarm["id"] for alarm in await get(server, "/api/alarms?state=all")}
    status, reply = await http(
        server, "POST", "/api/alarms/ack", {"ids": [by_code["archived"], by_code["active_acked"]]}
    )
    assert status == 200, reply

    pruned = await server.retention.run_once(utcnow() + 364 * DAY)
    assert pruned.alarms == 0  # archived less than alarm_keep_days (365) ago
    pruned = await server.retention.run_once(utcnow() + 366 * DAY)
    assert pruned.alarms == 1
    assert sorted(await alarm_codes(server)) == ["active", "active_acked", "latched"]
    assert sorted(a["code"] for a in await get(server, "/api/alarms")) == [
        "active",
        "active_acked",
        "latched",
    ]


@pytest.mark.gen_test(timeout=30)
async def test_the_alarm_cap_keeps_the_newest_archived_and_every_open_alarm(server):
    long_ago = utcnow() - 1000 * DAY
    seed_alarm(server.sessions, "old-active", long_ago, None, None)
    seed_alarm(server.sessions, "old-latched", long_ago, None, long_ago)
    seed_alarm(server.sessions, "old-acked-active", long_ago, long_ago, None)
    seed_alarm(server.sessions, "archived-long-ago", long_ago, long_ago, long_ago)
    recent = utcnow() - DAY
    # kept alarm_keep_days after it was archived, however long ago it was raised
    seed_alarm(server.sessions, "raised-long-ago-archived-recently", long_ago, recent, recent)
    for index in range(15):
        seed_alarm(server.sessions, f"archived-{index}", recent, recent, recent)
    seed_alarm(server.sessions, "new-active", recent, None, None)
    for index in range(12):  # more open alarms than the cap: none of them counts toward it
        seed_alarm(server.sessions, f"open-{index}", recent, None, recent)

    await put_setting(server, "alarm_keep_rows", 10)
    pruned = await server.retention.run_once()
    assert (pruned.log_entries, pruned.alarms) == (0, 1 + 6)  # one by age, six beyond the newest 10
    codes = await alarm_codes(server)
    assert [code for code in codes if code.startswith("archived-")] == [
        f"archived-{i}" for i in range(14, 4, -1)
    ]
    assert {"old-active", "old-latched", "old-acked-active", "new-active"} <= set(codes)
    assert len(codes) == 4 + 10 + 12

    await put_setting(server, "alarm_keep_rows", 1000)
    seed_alarm(server.sessions, "raised-long-ago-archived-recently", long_ago, recent, recent)
    assert (await server.retention.run_once()).alarms == 0
    assert "raised-long-ago-archived-recently" in await alarm_codes(server)


BAD_VALUES = [
    ("log_keep_days", 0),
    ("log_keep_days", 3651),
    ("log_keep_days", 1.5),
    ("log_keep_days", "30"),
    ("log_keep_rows", 99),
    ("log_keep_rows", True),
    ("alarm_keep_days", -1),
    ("alarm_keep_rows", 9),
    ("alarm_keep_rows", None),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
@pytest.mark.gen_test(timeout=30)
async def test_retention_settings_are_validated(server, name, value):
    status, reply = await http(server, "PUT", f"/api/settings/{name}", {"value": value})
    assert assert_error(status, reply, 400, "validation")["field"] == name
    assert (await get(server, f"/api/settings/{name}"))["value"] == SPECS[name].default


# -- the task on a real writer and SQLite file, without the server ------------------------------------


class CountingWriter(DbWriter):
    """The real writer, recording what each of its transactions returned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.results: list[Any] = []

    def submit(self, kind, work):
        def counted(session):
            result = work(session)
            self.results.append(result)
            return result

        return super().submit(kind, counted)


SETTINGS = {"log_keep_days": 30, "log_keep_rows": 100_000, "alarm_keep_days": 365, "alarm_keep_rows": 10_000}


@pytest.mark.gen_test(timeout=30)
async def test_deletes_run_in_batches_of_at_most_batch_rows_each_its_own_transaction(sessions):
    old = datetime(2020, 1, 1, tzinfo=UTC)
    seed_logs(sessions, *((f"old {index}", old) for index in range(12)))
    writer = CountingWriter(sessions)
    writer.start()
    try:
        pruned = await Retention(writer, SETTINGS.__getitem__, batch_rows=5).run_once()
    finally:
        await writer.stop()
    assert pruned.log_entries == 12
    assert writer.results[:3] == [5, 5, 2]  # then one empty batch per remaining rule
    assert max(writer.results) <= 5 and pruned.transactions == len(writer.results)
    with sessions() as session:
        assert session.query(LogEntry).count() == 0


@pytest.mark.gen_test(timeout=30)
async def test_the_task_runs_shortly_after_start_then_every_period_until_stopped(sessions):
    old = datetime(2020, 1, 1, tzinfo=UTC)
    writer = DbWriter(sessions)
    writer.start()
    retention = Retention(writer, SETTINGS.__getitem__, first_run_s=0.05, period_s=0.2)

    def stored() -> int:
        with sessions() as session:
            return session.query(LogEntry).count()

    async def until_empty() -> None:
        while stored():
            await asyncio.sleep(0.02)

    try:
        seed_logs(sessions, ("old", old))
        retention.start()
        await asyncio.wait_for(until_empty(), 2)  # the first run
        seed_logs(sessions, ("old again", old))
        await asyncio.wait_for(until_empty(), 2)  # the next period's run
        await retention.stop()
        seed_logs(sessions, ("after stop", old))
        await asyncio.sleep(0.4)
        assert stored() == 1
    finally:
        await retention.stop()
        await writer.stop()
