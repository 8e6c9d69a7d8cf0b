"""Channel pub/sub over a real WebSocket against a real server on a loopback port."""

import asyncio
import json
import socket

import pytest

from tests.helpers import RawWebSocket, close_code, connect, http


@pytest.mark.gen_test
async def test_subscriber_receives_publications_in_seq_order_with_epoch_and_ts(server):
    client = await connect(server)
    reply = await client.request({"action": "subscribe", "channel": "data", "id": 1})
    assert reply["id"] == 1
    assert reply["result"]["channel"] == "data" and reply["result"]["retained"] is None
    epoch = reply["result"]["epoch"]
    for value in range(5):
        await http(server, "POST", "/api/channels/data", {"n": value})
    received = [await client.recv() for _ in range(5)]
    assert [m["seq"] for m in received] == [1, 2, 3, 4, 5]
    assert [m["data"] for m in received] == [{"n": v} for v in range(5)]
    assert all(m["epoch"] == epoch and m["ts"].endswith("Z") for m in received)


@pytest.mark.gen_test
async def test_data_is_a_json_value_not_a_string(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "test"})
    await http(server, "POST", "/publish", {"channel": "test", "data": {"a": [1, 2]}})
    assert (await client.recv())["data"] == {"a": [1, 2]}


@pytest.mark.gen_test
async def test_wildcards_deliver_matching_channels_only(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "chamber/+/data"})
    await http(server, "POST", "/api/channels/chamber/1/log", {"skip": True})
    await http(server, "POST", "/api/channels/chamber/7/data", {"beer": 19.5})
    message = await client.recv()
    assert (message["channel"], message["data"]) == ("chamber/7/data", {"beer": 19.5})
    assert await client.nothing_within(0.2)


@pytest.mark.gen_test
async def test_subscribe_result_carries_the_retained_value(server):
    await http(server, "POST", "/api/channels/data", {"beer": 18.0})
    await http(server, "POST", "/api/channels/data", {"beer": 18.5})
    client = await connect(server)
    reply = await client.request({"action": "subscribe", "channel": "data", "id": "x"})
    assert reply == {
        "id": "x",
        "result": {
            "channel": "data",
            "seq": 2,
            "epoch": server.hub.epoch,
            "recovered": False,
            "retained": {"beer": 18.5},
        },
    }


@pytest.mark.gen_test
async def test_reconnect_with_since_gets_exactly_the_missed_messages(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "logs"})
    await http(server, "POST", "/api/channels/logs", {"n": 1})
    last = await client.recv()
    client.close()
    for n in (2, 3, 4):
        await http(server, "POST", "/api/channels/logs", {"n": n})
    again = await connect(server)
    since = {"seq": last["seq"], "epoch": last["epoch"]}
    reply = await again.request({"action": "subscribe", "channel": "logs", "since": since, "id": 2})
    assert reply["result"]["recovered"] is True and reply["result"]["seq"] == 4
    replayed = [await again.recv() for _ in range(3)]
    assert [m["data"]["n"] for m in replayed] == [2, 3, 4]
    await http(server, "POST", "/api/channels/logs", {"n": 5})
    assert (await again.recv())["seq"] == 5
    assert await again.nothing_within(0.1)


@pytest.mark.gen_test
async def test_gap_outside_the_ring_says_not_recovered_and_replays_nothing(server_config, server):
    for n in range(120):  # the default ring holds 100
        await http(server, "POST", "/api/channels/logs", {"n": n})
    client = await connect(server)
    reply = await client.request(
        {"action": "subscribe", "channel": "logs", "since": {"seq": 3, "epoch": server.hub.epoch}}
    )
    assert reply["result"]["recovered"] is False
    assert await client.nothing_within(0.2)
    other_epoch = await client.request(
        {"action": "subscribe", "channel": "x", "since": {"seq": 0, "epoch": "old-server"}}
    )
    assert other_epoch["result"]["recovered"] is False


@pytest.mark.gen_test
async def test_original_heartbeat_is_answered_with_pong(server):
    client = await connect(server)
    reply = await client.request({"action": "ping", "channel": "_heartbeat"})
    assert reply == {"channel": "_heartbeat", "data": {"action": "pong"}}


@pytest.mark.gen_test
async def test_websocket_publish_reaches_other_clients(server):
    listener, publisher = await connect(server), await connect(server)
    await listener.request({"action": "subscribe", "channel": "brewhouse/notes"})
    frame = {"action": "publish", "channel": "brewhouse/notes", "data": "hi", "id": 9}
    reply = await publisher.request(frame)
    assert reply["id"] == 9 and reply["result"]["seq"] == 1
    assert (await listener.recv())["data"] == "hi"


@pytest.mark.gen_test
async def test_unsubscribe_stops_delivery(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "a"})
    reply = await client.request({"action": "unsubscribe", "channel": "a", "id": 3})
    assert reply == {"id": 3, "result": {"channel": "a"}}
    await http(server, "POST", "/api/channels/a", 1)
    assert await client.nothing_within(0.2)
    again = await client.request({"action": "unsubscribe", "channel": "a", "id": 4})
    assert again["error"]["code"] == "not_subscribed"


BAD_FRAMES = [
    ("{not json", "bad_json"),
    ("[1,2]", "bad_request"),
    ('{"action":"dance"}', "unknown_action"),
    ('{"channel":"data"}', "unknown_action"),
    ('{"action":"subscribe","channel":"bad name"}', "bad_channel"),
    ('{"action":"subscribe","channel":"#/x"}', "bad_channel"),
    ('{"action":"subscribe"}', "bad_request"),
    ('{"action":"subscribe","channel":"a","extra":1}', "bad_request"),
    ('{"action":"subscribe","channel":"a#","since":{"seq":1,"epoch":"e"}}', "bad_channel"),
    ('{"action":"subscribe","channel":"a/#","since":{"seq":1,"epoch":"e"}}', "bad_request"),
    ('{"action":"subscribe","channel":"a","since":{"seq":-1,"epoch":"e"}}', "bad_request"),
    ('{"action":"publish","channel":"_chambers","data":{}}', "forbidden"),
    ('{"action":"publish","channel":"test"}', "bad_request"),
    ('{"action":"publish","channel":"test","data":NaN}', "bad_json"),
    ("x" * (64 * 1024 + 1), "too_large"),
]


@pytest.mark.gen_test
@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES)
async def test_bad_frames_get_a_named_error_and_the_connection_stays_open(server, frame, code):
    client, bystander = await connect(server), await connect(server)
    await bystander.request({"action": "subscribe", "channel": "test"})
    reply = await client.request(frame)
    assert reply["error"]["code"] == code, reply
    assert reply["error"]["message"]
    # the same connection still works, and the other client noticed nothing
    assert (await client.request({"action": "ping", "channel": "_heartbeat"}))["data"] == {"action": "pong"}
    await http(server, "POST", "/api/channels/test", {"ok": True})
    assert (await bystander.recv())["data"] == {"ok": True}
    chambers = server.hub.channels.get("_chambers")  # the control loop listens there
    assert chambers is None or chambers.seq == 0  # but nothing was published


@pytest.mark.gen_test
async def test_binary_frames_are_refused_and_the_connection_stays_open(server):
    client = await connect(server)
    reply = await client.request(b"\x00\x01")
    assert reply["error"]["code"] == "binary_not_supported"
    assert (await client.request({"action": "ping"}))["data"]["action"] == "pong"


@pytest.mark.gen_test
async def test_request_id_is_echoed_on_errors(server):
    client = await connect(server)
    reply = await client.request({"action": "subscribe", "channel": "bad name", "id": 77})
    assert reply["id"] == 77 and reply["error"]["field"] == "channel"


@pytest.mark.gen_test
async def test_subscription_limit_closes_with_4009(server_config, server):
    client = await connect(server)
    for index in range(256):
        reply = await client.request({"action": "subscribe", "channel": f"c/{index}"})
        assert "result" in reply
    reply = await client.request({"action": "subscribe", "channel": "c/one-more"})
    assert reply["error"]["message"].startswith("at most 256")
    assert await client.closed() == 4009


@pytest.fixture
def fast_pings(server_config):
    server_config["pubsub"].update(ping_interval_s=0.1, silence_timeout_s=0.5)


@pytest.mark.gen_test(timeout=10)
async def test_silent_client_is_closed_with_4012_while_a_live_one_stays(fast_pings, server):
    live = await connect(server)  # Tornado's client answers pings
    silent = await asyncio.get_running_loop().run_in_executor(None, RawWebSocket, server.ports[0])
    await asyncio.sleep(1.0)
    frames = await asyncio.get_running_loop().run_in_executor(None, silent.read_frames, 3.0)
    assert 0x9 in [opcode for opcode, _ in frames]  # it was pinged
    assert close_code(frames) == 4012
    assert (await live.request({"action": "ping"}))["data"] == {"action": "pong"}
    silent.close()


@pytest.mark.gen_test(timeout=30)
async def test_slow_consumer_is_closed_with_4008_others_keep_receiving_memory_bounded(server):
    loop = asyncio.get_running_loop()
    healthy = await connect(server)
    await healthy.request({"action": "subscribe", "channel": "flood"})
    slow = await loop.run_in_executor(None, lambda: RawWebSocket(server.ports[0], rcvbuf=4096))
    slow.send_text(json.dumps({"action": "subscribe", "channel": "flood"}))
    await asyncio.sleep(0.2)
    slow_handler = max(server.registry.connections.values(), key=lambda c: c.connection_id)
    received = []

    async def read_all():
        while len(received) < 6000:
            received.append(await healthy.recv(timeout=10))

    reader = asyncio.ensure_future(read_all())
    payload = {"blob": "x" * 1024}
    highest_unsent = 0
    for n in range(6000):
        payload["n"] = n
        server.hub.publish("flood", payload)
        highest_unsent = max(highest_unsent, slow_handler.queue.unsent_bytes)
        while n - len(received) > 200:  # a healthy reader keeps up; the slow one never reads
            await asyncio.sleep(0.001)
    await reader
    assert [m["data"]["n"] for m in received] == list(range(6000))  # all of them, in order
    assert highest_unsent <= server.config.pubsub.max_queue_bytes
    assert slow_handler.queue.closed
    assert slow_handler not in server.hub.channels["flood"].subscribers
    frames = await loop.run_in_executor(None, slow.read_frames, 5.0)
    assert close_code(frames) == 4008
    slow.close()


@pytest.mark.gen_test
async def test_server_side_of_a_websocket_sends_without_nagle_delay(server):
    """Nagle's algorithm held each frame sent while the previous one was unacknowledged until
    the client's delayed ACK: 18 ms median latency at 5,000 deliveries/s."""
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "test", "id": 1})
    (connection,) = server.registry.connections.values()
    sock = connection.ws_connection.stream.socket
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
