"""The hub's limits through the real server: what clients subscribe to cannot make the
server's own publications fail, and the messages held stay within the byte budget."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error, connect, http


@pytest.fixture
def small_hub(server_config):
    server_config["pubsub"].update(max_channels=16, max_empty_channels=40, max_hub_bytes=64 * 1024)


@pytest.mark.gen_test(timeout=30)
async def test_a_public_read_client_subscribing_to_many_channels_cannot_stop_the_servers_publications(
    small_hub, server
):
    listener = await connect(server)
    # a pattern creates no channel: `_settings` gets its first message below
    assert "result" in await listener.request({"action": "subscribe", "channel": "_settings/#"})
    anonymous = await connect(server, auth=False)  # public_read: subscribing needs no login
    refused = []
    for index in range(16 + 100):
        reply = await anonymous.request({"action": "subscribe", "channel": f"made-up/{index}", "id": index})
        if "error" in reply:
            refused.append(reply)
    # the client's own cap: the documented error reply, and the connection stays open
    assert refused and len(refused) < 116
    assert {(r["error"]["code"], r["error"]["field"]) for r in refused} == {("too_many_channels", "channel")}
    assert "no message yet" in refused[0]["error"]["message"]
    assert "result" in await anonymous.request({"action": "subscribe", "channel": "made-up/0"})

    # the server publishes on a channel nobody published on before: a settings change event
    status, reply = await http(server, "PUT", "/api/settings/theme", {"value": "light"})
    assert status == 200, reply
    event = await listener.recv()
    assert event["channel"] == "_settings" and event["data"]["setting"] == {"name": "theme", "value": "light"}
    status, reply = await http(server, "POST", "/api/controllers", {"name": "Cellar", "kind": "simulator"})
    assert status == 201, reply
    assert server.hub.channels["_controllers"].seq == 1
    # and a script still has all of max_channels to publish on
    for index in range(10):
        status, reply = await http(server, "POST", f"/api/channels/script/{index}", {"n": index})
        assert status == 200, reply


@pytest.mark.gen_test(timeout=30)
async def test_large_publications_stay_within_the_byte_budget_and_each_channels_newest_is_kept(
    small_hub, server
):
    blob = "b" * 2000
    for round_ in range(5):
        for index in range(12):
            status, reply = await http(
                server, "POST", "/publish", {"channel": f"big/{index}", "data": {"r": round_, "blob": blob}}
            )
            assert status == 200, reply
            assert server.hub.held_bytes <= 64 * 1024
    client = await connect(server, auth=False)
    for index in range(12):
        reply = await client.request({"action": "subscribe", "channel": f"big/{index}"})
        assert reply["result"]["retained"] == {"r": 4, "blob": blob}

    # the last values alone may not take the budget: an outside publication that would is refused
    status, reply = await http(server, "POST", "/api/channels/huge", {"blob": "h" * 60_000})
    assert assert_error(status, reply, 409, "hub_full")["field"] == "data"
    assert "huge" not in server.hub.channels
