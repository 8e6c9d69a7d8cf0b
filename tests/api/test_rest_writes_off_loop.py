"""REST writes go through the one database writer thread and scrypt runs on its own
thread, so neither another program holding SQLite's write lock nor a burst of logins
stalls the IOLoop: reads and WebSocket pings keep answering meanwhile."""

from __future__ import annotations

import asyncio
import gc
import sys
import time

import pytest

from tests.helpers import WsClient, assert_error, connect, http, password_of

# Another program (a backup, a sqlite3 shell) holding the write lock of the server's database.
LOCKER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
print("released", flush=True)
"""
# The same on PostgreSQL: every table locked against writes (reads go on) by a transaction
PG_LOCKER = """
import psycopg, sqlalchemy, sys, time
url = sqlalchemy.make_url(sys.argv[1]).set(drivername="postgresql")
connection = psycopg.connect(url.render_as_string(hide_password=False))
tables = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
connection.execute("LOCK TABLE " + ", ".join(name for (name,) in tables) + " IN EXCLUSIVE MODE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.commit()
print("released", flush=True)
"""
FAST_S = 0.2


class Locker:
    """Another program in a subprocess holding the write lock of the server's database for
    `hold_s`: `BEGIN IMMEDIATE` on SQLite, `LOCK TABLE ... IN EXCLUSIVE MODE` on PostgreSQL."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.released_at: float | None = None

    @classmethod
    async def hold(cls, server, hold_s: float) -> Locker:
        if server.engine.dialect.name == "postgresql":
            script, target = PG_LOCKER, server.db_url
        else:
            script, target = LOCKER, server.db_path
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, target, str(hold_s), stdout=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 10) == b"locked\n"
        return cls(process)

    async def released(self) -> float:
        assert self.process.stdout is not None
        if self.released_at is None:
            assert await asyncio.wait_for(self.process.stdout.readline(), 30) == b"released\n"
            self.released_at = time.monotonic()
            await self.process.wait()
        return self.released_at


async def ping_s(client: WsClient, request_id: int) -> float:
    started = time.monotonic()
    reply = await client.request({"action": "ping", "id": request_id}, timeout=10)
    assert reply["id"] == request_id, reply
    return time.monotonic() - started


async def status_s(server) -> float:
    started = time.monotonic()
    status, reply = await http(server, "GET", "/api/status")
    assert status == 200, reply
    return time.monotonic() - started


@pytest.mark.gen_test(timeout=30)
async def test_a_write_waits_for_another_programs_lock_while_reads_and_pings_answer(server):
    client = await connect(server)
    await ping_s(client, 0)
    await status_s(server)  # the token's last use is recorded now, not behind the lock
    locker = await Locker.hold(server, 3.0)
    started = time.monotonic()
    write = asyncio.ensure_future(
        http(server, "PATCH", "/api/settings/brewery_name", {"value": "Locked Out Brewing"})
    )
    timings = []
    for request_id in range(1, 6):  # about 2 s of the 3 s the lock is held
        await asyncio.sleep(0.3)
        timings.append((await ping_s(client, request_id), await status_s(server)))
        assert not write.done(), "the write answered while the database was locked"
    assert max(max(pair) for pair in timings) < FAST_S, timings

    released_at = await locker.released()
    status, reply = await write
    assert status == 200, reply
    assert reply == {"name": "brewery_name", "value": "Locked Out Brewing", "help": reply["help"]}
    assert time.monotonic() >= released_at and released_at - started >= 2.5
    _, settings = await http(server, "GET", "/api/settings")
    assert settings["brewery_name"] == "Locked Out Brewing"


@pytest.mark.gen_test(timeout=40)
async def test_a_write_locked_out_past_the_busy_timeout_is_503_and_changes_nothing(server):
    await status_s(server)
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "_controllers"})
    locker = await Locker.hold(server, 8.0)
    started = time.monotonic()
    status, reply = await http(server, "POST", "/api/controllers", {"name": "Cellar", "kind": "simulator"})
    waited = time.monotonic() - started
    assert_error(status, reply, 503, "busy")
    # SQLite's busy timeout and PostgreSQL's lock_timeout are 5 s; the lock is held 8
    assert 4.5 <= waited < 7.5, waited
    await locker.released()
    _, controllers = await http(server, "GET", "/api/controllers")
    assert controllers == []
    assert await client.nothing_within(0.3)  # no change event for a change that did not happen


@pytest.mark.gen_test(timeout=30)
async def test_logins_do_not_delay_a_websocket_ping(server):
    # maelstrom.py freezes what the start made, so a collection never walks it; here the
    # server shares the test session's heap, whose full collection took 0.8 s late in a run
    gc.collect()
    gc.freeze()
    try:
        await _logins_do_not_delay_a_websocket_ping(server)
    finally:
        gc.unfreeze()


async def _logins_do_not_delay_a_websocket_ping(server):
    client = await connect(server)
    normal = min([await ping_s(client, request_id) for request_id in range(3)])
    password = password_of(server)
    logins = [
        asyncio.ensure_future(http(server, "POST", "/api/login", {"password": password}, auth=False))
        for _ in range(5)
    ]
    timings = []
    request_id = 10
    while not all(login.done() for login in logins):
        request_id += 1
        timings.append(await ping_s(client, request_id))
    for login in logins:
        status, reply = login.result()
        assert status == 200 and reply["ok"] is True, reply
    assert len(timings) >= 5, timings
    assert max(timings) < 0.1, (normal, timings)
