"""An ingested sample is stored as history, not only published; one the history would not
keep is refused to its sender (`ERR` over TCP, 400 over HTTP) and published nowhere."""

import time

import pytest

from tests.helpers import assert_error, connect, http, line_client

DAY_S = 86_400


async def watching(server, pattern: str = "ingest/#"):
    client = await connect(server)
    reply = await client.request({"action": "subscribe", "channel": pattern, "id": 1})
    assert "result" in reply, reply
    return client


async def stored_series(server) -> dict[str, dict]:
    server.history.recorder.flush()
    await server.db_writer.drain()
    status, series = await http(server, "GET", "/api/series")
    assert status == 200
    return {s["name"]: s for s in series}


@pytest.mark.gen_test
async def test_a_fed_sample_is_kept_as_a_series_with_its_unit(server):
    status, reply = await http(server, "POST", "/api/feeds/cellar/room", {"value": 12.5, "unit": "°C"})
    assert status == 200, reply
    room = (await stored_series(server))["cellar/room"]
    assert room["count"] == 1 and room["unit"] == "°C"


@pytest.mark.gen_test
async def test_a_line_the_history_would_not_keep_gets_err_and_is_not_published(server):
    watcher = await watching(server)
    client = await line_client(server)
    old = time.time() - 40 * DAY_S  # the ingest takes it (after 2000); history keeps 30 days
    reply = await client.ask(f"cellar/room 12.5 @{old:.0f}")
    assert reply.startswith("ERR cellar/room not kept: ts is more than 30 days ago"), reply
    # a text the ingest takes (no control character) but history cannot hold (not printable)
    reply = await client.ask('notes "dry\u200bhopped"')
    assert reply.startswith("ERR notes not kept: text must be"), reply
    assert await client.ask("cellar/room 12.75") == "OK"  # the connection goes on
    published = await watcher.recv()
    assert published["channel"] == "ingest/cellar/room" and published["data"]["value"] == 12.75
    assert await watcher.nothing_within(0.3)
    series = await stored_series(server)
    assert set(series) == {"cellar/room"} and series["cellar/room"]["count"] == 1
    # a longer raw history takes it
    status, reply = await http(server, "PATCH", "/api/settings/history_raw_days", {"value": 60})
    assert status == 200, reply
    assert await client.ask(f"cellar/room 12.5 @{old:.0f}") == "OK"
    assert (await watcher.recv())["data"]["value"] == 12.5
    assert (await stored_series(server))["cellar/room"]["count"] == 2


@pytest.mark.gen_test
async def test_a_feed_the_history_would_not_keep_is_400_and_not_published(server):
    watcher = await watching(server)
    old = time.time() - 40 * DAY_S
    status, reply = await http(server, "POST", "/api/feeds/cellar/room", {"value": 12.5, "ts": old})
    error = assert_error(status, reply, 400, "validation")
    assert error["field"] == "ts" and "30 days" in error["message"], error
    status, reply = await http(server, "POST", "/api/feeds/cellar/room", {"value": 13.0})
    assert status == 200, reply
    assert (await watcher.recv())["data"]["value"] == 13.0  # only the one accepted
    assert await watcher.nothing_within(0.3)
    assert (await stored_series(server))["cellar/room"]["count"] == 1
