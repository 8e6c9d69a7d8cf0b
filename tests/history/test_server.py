"""History in the running server with the simulated chamber: the recorded series match the
published ticks, a clean stop writes what was queued, another program holding SQLite's
write lock never delays a tick, and a kill -9 during a burst of writes loses at most the
unflushed interval and leaves the database intact (a real `python maelstrom.py`)."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.request
from collections import defaultdict
from datetime import datetime

import pytest
from sqlalchemy import text

from app.config import build_config
from app.db.engine import make_engine
from app.history.recorder import CHAMBER_FIELDS, FLUSH_S
from app.history.store import iso
from app.server import Maelstrom
from tests.api.test_openapi import _make_token
from tests.api.test_rest_writes_off_loop import Locker
from tests.control.test_spine import largest_gap, simulated_chamber, tick_times
from tests.helpers import ServerProcess, chamber_record, connect, http


def ms_of(record: dict) -> int:
    return int(datetime.fromisoformat(record["ts"]).timestamp() * 1000)


def value_of(record: dict, field: str) -> float | None:
    value = record.get(field)
    return float(value) if isinstance(value, bool | int | float) else None


async def set_interval(server, seconds: float) -> None:
    status, reply = await http(server, "PUT", "/api/settings/history_interval_s", {"value": seconds})
    assert status == 200, reply


async def raw_points(server, chamber_id: int, since_ms: int) -> dict[str, dict[int, list[float]]]:
    """field -> {ts: [mean, min, max]} of the chamber's series stored since `since_ms`."""
    _, listed = await http(server, "GET", "/api/series")
    names = ",".join(s["name"] for s in listed if s["name"].startswith(f"chamber/{chamber_id}/"))
    status, body = await http(server, "GET", f"/api/history?series={names}&points=10000&from={iso(since_ms)}")
    assert status == 200, body
    found = {}
    for series in body["series"]:
        assert series["resolution"] == "raw"
        found[series["name"].rsplit("/", 1)[1]] = {p[0]: p[1:] for p in series["points"]}
    return found


@pytest.mark.gen_test(timeout=90)
async def test_a_chambers_recorded_series_match_its_published_ticks(server):
    await set_interval(server, 2.0)
    chamber = await simulated_chamber(server, "A")
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    await chamber_record(client, chamber["id"], lambda r: r["beer"] is not None)
    records = []
    ends = time.monotonic() + 9.0
    while time.monotonic() < ends:
        records.append(await chamber_record(client, chamber["id"], lambda r: True))
    server.history.recorder.close_ended()
    server.history.recorder.flush()
    await server.db_writer.drain()

    intervals: dict[int, list[dict]] = defaultdict(list)
    for record in records:
        intervals[ms_of(record) // 2000].append(record)
    first, last = min(intervals), max(intervals)
    complete = {index: ticks for index, ticks in intervals.items() if first < index < last}
    assert len(complete) >= 3
    stored = await raw_points(server, chamber["id"], ms_of(records[0]) - 5000)
    compared = 0
    for ticks in complete.values():
        ts = ms_of(ticks[0])  # a sample is stamped with its interval's first tick
        for field in CHAMBER_FIELDS:
            values = [v for r in ticks if (v := value_of(r, field)) is not None]
            if not values:
                assert ts not in stored.get(field, {}), field  # nothing read: no sample
                continue
            mean, low, high = stored[field][ts]
            assert mean == pytest.approx(sum(values) / len(values), abs=1e-9), field
            assert (low, high) == (min(values), max(values)), field
            compared += 1
    assert compared >= 3 * 8  # beer, fridge, setpoints, duties, relays (no room sensor)


def maelstrom_of(server_config) -> Maelstrom:
    return Maelstrom(build_config(server_config))


@pytest.mark.gen_test(timeout=90)
async def test_a_clean_stop_writes_the_queued_samples_and_the_open_interval(server_config):
    maelstrom = maelstrom_of(server_config)
    await maelstrom.start()
    try:
        _, maelstrom.test_token = await maelstrom.auth.issue_token("tests")
        maelstrom.base_url = f"http://127.0.0.1:{maelstrom.ports[0]}"
        maelstrom.ws_url = f"ws://127.0.0.1:{maelstrom.ports[0]}/socket"
        await set_interval(maelstrom, 3600.0)  # an hour: nothing closes before the stop
        chamber = await simulated_chamber(maelstrom, "A")
        client = await connect(maelstrom)
        await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
        records = [await chamber_record(client, chamber["id"], lambda r: r["beer"] is not None)]
        for _ in range(3):
            records.append(await chamber_record(client, chamber["id"], lambda r: True))
        assert maelstrom.history.recorder.queued == 0  # all of it still in the open interval
        client.close()
    finally:
        await maelstrom.stop()
    engine = make_engine(maelstrom.db_url)
    with engine.connect() as db:
        rows = db.execute(
            text(
                "SELECT ts, value, min, max FROM sample JOIN series ON series.id = series_id"
                " WHERE name = :name"
            ),
            {"name": f"chamber/{chamber['id']}/beer"},
        ).all()
    engine.dispose()
    assert len(rows) == 1
    ts, mean, low, high = rows[0]
    beers = [r["beer"] for r in records if r["beer"] is not None]
    assert ts <= ms_of(records[0])
    assert (low if low is not None else mean) <= min(beers) and (high if high is not None else mean) >= max(
        beers
    )


@pytest.mark.gen_test(timeout=120)
async def test_ticks_stay_on_time_while_another_process_holds_the_write_lock(server):
    await set_interval(server, 1.0)
    chamber = await simulated_chamber(server, "A")
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    await chamber_record(client, chamber["id"], lambda r: r["beer"] is not None)
    locker = await Locker.hold(server, 5.0)
    locked_at = time.time()
    arrivals = await tick_times(client, chamber["id"], 4.0)
    assert time.monotonic() < await locker.released()  # all of it while the lock was held
    assert largest_gap(arrivals) < 1.0 + 0.1  # tick lateness under 100 ms
    server.history.recorder.flush()
    await server.db_writer.drain()  # after the release, what waited is written
    stored = await raw_points(server, chamber["id"], int(locked_at * 1000))
    during = [ts for ts in stored["beer"] if locked_at * 1000 <= ts <= (locked_at + 4) * 1000]
    assert len(during) >= 3  # one sample a second, written once the lock was gone


def _post_logs(base: str, token: str, stop: threading.Event, sent: list[int]) -> None:
    """A burst of writes: log entries, each stored through the writer."""
    body = json.dumps({"entries": [{"source": "burst", "level": "info", "msg": "x" * 200}]}).encode()
    while not stop.is_set():
        request = urllib.request.Request(
            base + "/api/channels/logs",
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        try:
            urllib.request.urlopen(request, timeout=2).read()
            sent[0] += 1
        except OSError:
            return  # the server is gone


def _put_setting(base: str, token: str, name: str, value) -> None:
    request = urllib.request.Request(
        f"{base}/api/settings/{name}",
        json.dumps({"value": value}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="PUT",
    )
    urllib.request.urlopen(request, timeout=5).read()


def _latest_beer(db_url: str) -> tuple[str, int | None]:
    """SQLite's integrity check ("ok", else what is wrong; PostgreSQL, whose WAL replay at
    start is its own check, gives "ok" once it serves the query) and the last beer sample."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as db:
            integrity = "ok"
            if engine.dialect.name == "sqlite":
                integrity = db.exec_driver_sql("PRAGMA integrity_check").scalar()
            latest = db.execute(
                text(
                    "SELECT max(ts) FROM sample JOIN series ON series.id = series_id"
                    " WHERE name = 'chamber/1/beer'"
                )
            ).scalar()
    finally:
        engine.dispose()
    return integrity, latest


def test_kill_9_during_a_burst_of_writes_loses_at_most_the_unflushed_interval(tmp_path, db_url):
    pg_url = None if db_url.startswith("sqlite") else db_url
    # with the sample chamber, as a user starts it
    server = ServerProcess(tmp_path, log_level="WARNING", db_url=pg_url)
    try:
        server.wait_serving()
        token = _make_token(server.data_dir, server.base_url)
        _put_setting(server.base_url, token, "history_interval_s", 1.0)
        stop, sent = threading.Event(), [0]
        burst = [
            threading.Thread(target=_post_logs, args=(server.base_url, token, stop, sent)) for _ in range(4)
        ]
        for thread in burst:
            thread.start()
        time.sleep(5.0)
        killed_ms = int(time.time() * 1000)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        stop.set()
        for thread in burst:
            thread.join(5)
        assert sent[0] > 20, sent
    finally:
        server.stop()
    integrity, latest = _latest_beer(db_url)
    assert integrity == "ok"
    # lost at most: the open interval (1 s), what waited for the next flush, a tick, and slack
    assert latest is not None and killed_ms - latest <= 1000 + FLUSH_S * 1000 + 1000 + 1500, (
        killed_ms - latest
    )

    again = ServerProcess(tmp_path, log_level="WARNING", db_url=pg_url)  # the same data, started again
    try:
        again.wait_serving()
        with urllib.request.urlopen(again.base_url + "/api/series", timeout=5) as response:
            names = {s["name"] for s in json.load(response)}
        assert "chamber/1/beer" in names
    finally:
        again.stop()
    assert "Traceback" not in again.log(), again.log()[-3000:]
