"""The TCP line listener on a real server, with raw sockets as `nc` and `socat` use them:
one OK or ERR per line, bad lines change nothing, cut-offs end with a last ERR."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from pathlib import Path

import pytest

from app.config import build_config
from app.ingest.tcp import TokenBucket
from app.server import Maelstrom
from tests.helpers import ServerProcess, connect, line_client


async def subscribed(server, pattern: str = "ingest/#"):
    client = await connect(server)
    reply = await client.request({"action": "subscribe", "channel": pattern, "id": 1})
    assert "result" in reply, reply
    return client


@pytest.mark.gen_test
async def test_every_form_is_answered_ok_recorded_and_published(server, sink, fixed_times_kept):
    watcher = await subscribed(server)
    client = await line_client(server)
    lines = [
        "beer_temp 19.5",
        "airlock +1",
        'note "dry hopped 50 g \\"Citra\\""',
        "pump =on",
        "beer_temp 19.25 @1763891000.5",
        "beer_temp 19 @2025-11-23T09:00:00+01:00",
    ]
    for line in lines:
        assert await client.ask(line) == "OK", line
    published = [(await watcher.recv())["data"] for _ in lines]
    assert published[0] == {
        "series": "beer_temp",
        "ts": published[0]["ts"],
        "kind": "measurement",
        "value": 19.5,
        "unit": None,
    }
    assert published[1]["kind"] == "counter" and published[1]["value"] == 1
    assert published[2] == {
        "series": "note",
        "ts": published[2]["ts"],
        "kind": "event",
        "text": 'dry hopped 50 g "Citra"',
    }
    assert published[3]["kind"] == "state" and published[3]["text"] == "on"
    assert published[4]["ts"] == "2025-11-23T09:43:20.500Z"
    assert published[5]["ts"] == "2025-11-23T08:00:00.000Z"
    assert [s.series for s in sink.samples] == [
        "beer_temp",
        "airlock",
        "note",
        "pump",
        "beer_temp",
        "beer_temp",
    ]
    assert sink.samples[4].ts_ms == 1_763_891_000_500
    client.close()


@pytest.mark.gen_test
async def test_each_channel_is_ingest_slash_series(server, sink):
    watcher = await subscribed(server, "ingest/cellar/room")
    client = await line_client(server)
    assert await client.ask("cellar/room 12.5") == "OK"
    message = await watcher.recv()
    assert message["channel"] == "ingest/cellar/room" and message["data"]["value"] == 12.5


BAD_LINES = [
    ("", "empty line"),
    ("beer_temp", "value is missing"),
    ("whatever happens", "not a number"),
    ("Beer 1", "bad series name"),
    ("chamber/1/beer_temp 99", "server's own"),
    ("beer_temp nan", "not a number"),
    ("beer_temp 1e400", "finite"),
    ("beer_temp 19.5 @1999-01-01T00:00:00Z", "before 2000"),
    ("beer_temp 19.5 @4102444800", "in the future"),
    ("beer_temp 19.5 @2025-11-23T09:00:00", "needs a zone"),
    ('note "open', "no closing quote"),
    ("pump =", "state"),
    ("AUTH", "needs a token"),
]


@pytest.mark.gen_test
async def test_every_bad_line_gets_err_changes_nothing_and_the_connection_stays_usable(server, sink):
    watcher = await subscribed(server)
    client = await line_client(server)
    for line, words in BAD_LINES:
        reply = await client.ask(line)
        assert reply.startswith("ERR ") and words in reply, (line, reply)
        assert await client.ask("ok_series 1") == "OK"  # still usable
    assert [s.series for s in sink.samples] == ["ok_series"] * len(BAD_LINES)
    for _ in BAD_LINES:
        assert (await watcher.recv())["data"]["series"] == "ok_series"
    assert await watcher.nothing_within(0.2)
    assert "chamber/1/beer_temp" not in server.hub.channels


@pytest.mark.gen_test
async def test_not_utf8_is_refused(server, sink):
    client = await line_client(server)
    client.send(b"beer_temp \xff\n")
    assert "not UTF-8" in await client.line()
    assert sink.samples == []


@pytest.mark.gen_test
async def test_lines_before_auth_and_with_a_bad_token_are_refused(server, sink):
    client = await line_client(server, auth=False)
    assert await client.ask("beer_temp 19.5") == "ERR not authenticated: send AUTH <token> first"
    assert await client.ask("AUTH not-a-token") == "ERR unknown or revoked API token"
    assert await client.ask("beer_temp 19.5") == "ERR not authenticated: send AUTH <token> first"
    assert await client.ask(f"AUTH {server.test_token}") == "OK"
    assert await client.ask("beer_temp 19.5") == "OK"
    assert len(sink.samples) == 1


@pytest.mark.gen_test
async def test_three_failed_auths_cut_the_connection_off(server, sink):
    client = await line_client(server, auth=False)
    assert (await client.ask("AUTH guess1")).startswith("ERR")
    assert (await client.ask("AUTH guess2")).startswith("ERR")
    client.send("AUTH guess3\n")
    assert await client.line() == "ERR unknown or revoked API token (3 failed AUTH); closing\n"
    assert await client.closed() == b""


@pytest.mark.gen_test
async def test_a_revoked_token_ends_the_connection_at_its_next_line(server, sink):
    token_id, token = await server.auth.issue_token("logger")
    client = await line_client(server, auth=False)
    assert await client.ask(f"AUTH {token}") == "OK"
    assert await client.ask("beer_temp 1") == "OK"
    await server.auth.revoke_token(token_id)
    client.send("beer_temp 2\n")
    assert await client.line() == "ERR the API token was revoked; closing\n"
    assert await client.closed() == b""
    assert [s.value for s in sink.samples] == [1.0]


@pytest.mark.gen_test
async def test_crlf_and_lf_pipelined_and_split_lines_each_get_one_answer_in_order(server, sink):
    client = await line_client(server)
    client.send("a 1\r\nb 2\nnonsense\r\nc")  # three lines and the start of a fourth in one write
    assert [await client.line() for _ in range(3)] == [
        "OK\r\n",
        "OK\n",
        "ERR series nonsense: "
        + (
            'the value is missing; send <series> <number>, <series> +<number>, <series> "<text>", '
            "<series> =<state> or AUTH <token>\r\n"
        ),
    ]
    client.send(" 3\n")  # ... and its end
    assert await client.line() == "OK\n"
    assert [(s.series, s.value) for s in sink.samples] == [("a", 1.0), ("b", 2.0), ("c", 3.0)]


@pytest.mark.gen_test
async def test_a_line_of_exactly_max_bytes_is_taken(server, sink):
    client = await line_client(server)
    line = "n" * 64 + ' "' + "x" * 957 + '"'
    assert len(line) == 1024
    assert await client.ask(line) == "OK"
    assert await client.ask(line, end="\r\n") == "OK"  # the terminator does not count
    client.send(line + " \n")  # one byte more
    assert await client.line() == "ERR line longer than 1024 bytes; closing\n"
    assert len(sink.samples) == 2


@pytest.mark.gen_test
async def test_an_over_long_line_gets_a_last_err_and_is_cut_off(server, sink):
    client = await line_client(server)
    assert await client.ask("before 1") == "OK"
    client.send("x 1 " + "9" * 2000 + "\nafter 1\n")
    assert await client.line() == "ERR line longer than 1024 bytes; closing\n"
    assert await client.closed() == b""
    assert [s.series for s in sink.samples] == ["before"]


@pytest.mark.gen_test
async def test_a_line_that_never_ends_is_cut_off_once_past_the_limit(server, sink):
    client = await line_client(server)
    client.send("x" * 1100)  # no newline yet: cut off without waiting for one
    assert await client.line() == "ERR line longer than 1024 bytes; closing\n"
    assert await client.closed() == b""
    assert sink.samples == []


@pytest.fixture
def small_bucket(server_config):
    server_config["ingest"].update(rate_per_s=0.001, burst=3)


@pytest.mark.gen_test
async def test_a_client_over_its_rate_limit_gets_a_last_err_and_is_cut_off(small_bucket, server, sink):
    client = await line_client(server)  # AUTH is the first of the three
    client.send("a 1\nb 2\nc 3\nd 4\n")
    assert [await client.line() for _ in range(3)] == [
        "OK\n",
        "OK\n",
        "ERR over the rate limit (0.001 lines/s, burst 3); closing\n",
    ]
    assert await client.closed() == b""
    assert [s.series for s in sink.samples] == ["a", "b"]
    other = await line_client(server)  # the bucket is per connection
    assert await other.ask("e 5") == "OK"


def test_token_bucket_refills_at_its_rate_up_to_its_burst():
    bucket = TokenBucket(rate_per_s=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.499) is False  # 0.998 of a token
    assert bucket.take(0.5) is True
    assert bucket.take(100.0) and bucket.take(100.0) and bucket.take(100.0)
    assert bucket.take(100.0) is False  # never more than the burst


@pytest.fixture
def no_token(server_config):
    server_config["ingest"]["require_token"] = False


@pytest.mark.gen_test
async def test_without_require_token_lines_need_no_auth_but_auth_is_still_checked(no_token, server, sink):
    client = await line_client(server, auth=False)
    assert await client.ask("beer_temp 19.5") == "OK"
    assert await client.ask("AUTH wrong") == "ERR unknown or revoked API token"
    assert await client.ask(f"AUTH {server.test_token}") == "OK"
    assert len(sink.samples) == 1


@pytest.fixture
def one_connection(server_config):
    server_config["ingest"]["max_connections"] = 1


@pytest.mark.gen_test
async def test_connections_beyond_the_limit_are_refused_with_err(one_connection, server, sink):
    first = await line_client(server)
    second = await line_client(server, auth=False)
    assert await second.line() == "ERR too many connections (max 1)\n"
    assert await second.closed() == b""
    assert await first.ask("a 1") == "OK"
    first.close()
    for _ in range(50):  # the slot frees once the server sees the close
        if server.ingest_listener.connections == 0:
            break
        await asyncio.sleep(0.02)
    third = await line_client(server)
    assert await third.ask("b 2") == "OK"


@pytest.fixture
def few_series(server_config):
    server_config["ingest"]["max_series"] = 2


@pytest.mark.gen_test
async def test_new_series_beyond_max_series_are_refused(few_series, server, sink):
    client = await line_client(server)
    assert await client.ask("a 1") == "OK"
    assert await client.ask("b 1") == "OK"
    assert "ingest.max_series is 2" in await client.ask("c 1")
    assert await client.ask("a 2") == "OK"  # existing series go on
    assert "ingest/c" not in server.hub.channels


def nc(port: int, payload: bytes) -> bytes:
    """What `printf ... | nc -N host port` does: send, shut down writing, read to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.gen_test
async def test_a_blocking_client_that_half_closes_gets_every_answer(server, sink):
    payload = f"AUTH {server.test_token}\nbeer_temp 19.5\nnope\nlast 1".encode()  # no final newline
    result: list[bytes] = []
    thread = threading.Thread(target=lambda: result.append(nc(server.ingest_ports[0], payload)))
    thread.start()
    while thread.is_alive():
        await asyncio.sleep(0.01)
    replies = result[0].decode().splitlines()
    assert replies[:2] == ["OK", "OK"] and replies[2].startswith("ERR")
    # the last line, ended by EOF, is taken though it cannot be answered
    assert [s.series for s in sink.samples] == ["beer_temp", "last"]


def own_server(server_config, **ingest) -> Maelstrom:
    """A server of the test's own, for tests that start or stop it themselves."""
    server_config["ingest"].update(ingest)
    return Maelstrom(build_config(server_config))


@pytest.mark.gen_test(timeout=20)
async def test_stop_closes_the_listener_and_its_connections(server_config):
    maelstrom = own_server(server_config, port=0, require_token=False)
    await maelstrom.start()
    port = maelstrom.ingest_ports[0]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"a 1\n")
    assert await reader.readline() == b"OK\n"
    await maelstrom.stop()
    assert await asyncio.wait_for(reader.read(), 3) == b""
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


@pytest.mark.gen_test(timeout=20)
async def test_disabled_means_no_listener(server_config):
    maelstrom = own_server(server_config, enabled=False)
    await maelstrom.start()
    try:
        assert maelstrom.ingest_listener is None and maelstrom.ingest_ports == []
    finally:
        await maelstrom.stop()


@pytest.mark.gen_test(timeout=20)
async def test_a_port_in_use_stops_the_start_naming_the_key(server_config):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        maelstrom = own_server(server_config, port=port)
        with pytest.raises(OSError, match=r"ingest line protocol on 127\.0\.0\.1:\d+: .*ingest\.port"):
            await maelstrom.start()
        await maelstrom.stop()


def test_the_startup_log_says_where_the_line_protocol_listens(tmp_path: Path):
    server = ServerProcess(tmp_path)
    try:
        server.wait_serving()
        found = re.search(
            r"ingest: TCP line protocol on 127\.0\.0\.1:(\d+) \(AUTH <token> required\)", server.log()
        )
        assert found, server.log()
        reply = nc(int(found.group(1)), b"beer_temp 19.5\n")
        assert reply == b"ERR not authenticated: send AUTH <token> first\n"
    finally:
        server.stop()
