"""`GET /api/status` on a real server fed by real clients: the series' sample counts and the
database's size grow as samples come in by TCP lines and HTTP feeds, the channels' counts
and rates follow a burst, and the database is read on a reader thread, not the IOLoop."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from app.api import status as status_module
from app.api.schemas import StatusOut
from tests.helpers import http, line_client


async def status_of(server) -> dict:
    code, body = await http(server, "GET", "/api/status")
    assert code == 200, body
    StatusOut.model_validate(body)  # as the OpenAPI document says
    return body


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def written(server) -> None:
    """What the recorder holds, committed (it flushes every 2 s by itself)."""
    server.history.recorder.flush()
    await server.db_writer.drain()


@pytest.mark.gen_test(timeout=30)
async def test_series_counts_and_the_database_size_grow_as_samples_come_in(server, monkeypatch):
    threads = []

    def stored(session):
        threads.append(threading.current_thread().name)
        return read(session)

    read = status_module.stored
    monkeypatch.setattr(status_module, "stored", stored)
    before = await status_of(server)
    assert before["series"] == {"count": 0, "samples": 0, "listed": []}
    assert before["database"]["dialect"] == server.engine.dialect.name
    assert before["database"]["size_bytes"] > 0
    if server.engine.dialect.name == "sqlite":  # PostgreSQL's WAL is the cluster's, not counted
        assert 0 <= before["database"]["wal_bytes"] <= before["database"]["size_bytes"]

    start = int(time.time()) - 200  # whole seconds: the times below are exact in ms
    lines = [f"probe/a {20 + i / 100} @{start + i}" for i in range(100)]
    lines += [f'notes "{"x" * 900} {i}" @{start + i}' for i in range(50)]  # ~45 KB of text
    client = await line_client(server)
    client.send("".join(line + "\n" for line in lines))  # pipelined, within the burst of 200
    assert [await client.line() for _ in lines] == ["OK\n"] * len(lines)
    code, reply = await http(server, "POST", "/api/feeds/cellar/room", {"value": 12.5, "unit": "°C"})
    assert code == 200, reply
    await written(server)

    after = await status_of(server)
    totals = after["series"]
    assert (totals["count"], totals["samples"]) == (3, 151)
    assert [s["name"] for s in totals["listed"]] == ["probe/a", "notes", "cellar/room"]  # most first
    probe, notes, room = totals["listed"]
    assert (probe["samples"], notes["samples"], room["samples"]) == (100, 50, 1)
    assert (probe["first"], probe["last"]) == (iso(start), iso(start + 99))
    assert (notes["kind"], room["unit"]) == ("event", "°C")
    assert after["database"]["size_bytes"] > before["database"]["size_bytes"]
    channels = {c["name"]: c for c in after["channels"]["busiest"]}
    assert channels["ingest/probe/a"]["published"] == 100
    assert channels["ingest/notes"]["published"] == 50

    # rolled up: the numeric samples are in the day frames; events are not rolled up
    assert probe["rolled_up"] == 0
    await server.history.rollup.run_once()
    rolled = {s["name"]: s for s in (await status_of(server))["series"]["listed"]}
    assert (rolled["probe/a"]["rolled_up"], rolled["notes"]["rolled_up"]) == (100, 0)
    assert (await status_of(server))["history"]["rollup"]["lag_s"] == 0

    # more of the same series: the counts go on, the size does not shrink
    client.send("".join(f"probe/a 1 @{start + 100 + i}\n" for i in range(20)))
    assert [await client.line() for _ in range(20)] == ["OK\n"] * 20
    await written(server)
    later = await status_of(server)
    assert later["series"]["samples"] == 171 and later["series"]["listed"][0]["samples"] == 120
    assert later["database"]["size_bytes"] >= after["database"]["size_bytes"]
    assert threads and all(name.startswith("history-read") for name in threads), threads


@pytest.mark.gen_test
async def test_channel_counts_and_rate_follow_a_burst(server):
    before = (await status_of(server))["channels"]
    assert "burst" not in {c["name"] for c in before["busiest"]}
    for n in range(30):
        code, reply = await http(server, "POST", "/api/channels/burst", {"n": n})
        assert code == 200, reply
    after = (await status_of(server))["channels"]
    burst = next(c for c in after["busiest"] if c["name"] == "burst")
    assert burst["published"] == 30 and burst["rate_per_s"] > 0
    assert burst["subscribers"] == 0
    assert after["published"] >= before["published"] + 30
    assert after["rate_per_s"] >= burst["rate_per_s"] > 0
    assert 0 < after["window_s"] <= 60
    assert after["count"] >= 1 and after["epoch"] == before["epoch"]
