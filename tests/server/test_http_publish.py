"""HTTP publishing (protocol.md §3) against a real server."""

import urllib.parse

import pytest

from tests.helpers import connect, http

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form(**fields):
    return urllib.parse.urlencode(fields)


@pytest.mark.gen_test
async def test_original_form_publish_reaches_subscribers(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "alarms"})
    ack = form(channel="alarms", data='{"acknowledge":true}')
    status, body = await http(server, "POST", "/publish", ack, FORM)
    assert status == 200, body
    assert body == {"channel": "alarms", "seq": 1, "epoch": server.hub.epoch}
    assert (await client.recv())["data"] == {"acknowledge": True}


@pytest.mark.gen_test
async def test_json_body_publish_and_channel_route(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "brewhouse/notes"})
    assert (await http(server, "POST", "/publish", {"channel": "brewhouse/notes", "data": [1, 2]}))[0] == 200
    assert (await http(server, "POST", "/api/channels/brewhouse/notes", {"text": "mash in"}))[0] == 200
    assert [(await client.recv())["data"] for _ in range(2)] == [[1, 2], {"text": "mash in"}]


@pytest.mark.gen_test
async def test_legacy_envelope_publishes_its_payload(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "alarms"})
    envelope = '{"channel":"alarms","payload":{"acknowledge":true}}'
    await http(server, "POST", "/publish", form(channel="alarms", data=envelope), FORM)
    assert (await client.recv())["data"] == {"acknowledge": True}
    # a different channel inside is not an envelope: published as it is
    await client.request({"action": "subscribe", "channel": "notes"})
    other = {"channel": "logs", "payload": 1}
    await http(server, "POST", "/publish", {"channel": "notes", "data": other})
    assert (await client.recv())["data"] == other


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        (form(channel="bad name", data="1"), FORM, 400, "channel"),
        (form(channel="test", data="{oops"), FORM, 400, "data"),
        (form(channel="test", data="NaN"), FORM, 400, "data"),
        (form(data="1"), FORM, 400, "channel"),
        (form(channel="test"), FORM, 400, "data"),
        (form(channel="_settings", data="{}"), FORM, 403, "channel"),
        ('{"channel":"test"', {"Content-Type": "application/json"}, 400, "body"),
        ('{"channel":"test"}', {"Content-Type": "application/json"}, 400, "data"),
        ('{"channel":"test","data":1,"x":2}', {"Content-Type": "application/json"}, 400, "x"),
        ('["test",1]', {"Content-Type": "application/json"}, 400, "body"),
        ('{"channel":5,"data":1}', {"Content-Type": "application/json"}, 400, "channel"),
    ],
)
@pytest.mark.gen_test
async def test_bad_publish_requests_are_refused_and_change_nothing(server, body, headers, status, field):
    code, reply = await http(server, "POST", "/publish", body, headers)
    assert code == status
    assert reply["error"]["field"] == field and reply["error"]["message"]
    assert all(channel["published"] == 0 for channel in server.hub.stats())


@pytest.mark.gen_test
async def test_non_json_body_on_channel_route_is_415(server):
    code, reply = await http(server, "POST", "/api/channels/test", "hello", {"Content-Type": "text/plain"})
    assert code == 415 and reply["error"]["code"] == "unsupported_media_type"


@pytest.mark.gen_test
async def test_bodies_over_256_kib_are_refused_with_413(server):
    big = '{"channel":"test","data":"' + "x" * (256 * 1024) + '"}'
    code, reply = await http(server, "POST", "/publish", big, {"Content-Type": "application/json"})
    assert code == 413 and reply["error"]["code"] == "too_large"
    code, _ = await http(
        server,
        "POST",
        "/api/channels/test",
        "[" + "1," * 140_000 + "1]",
        {"Content-Type": "application/json"},
    )
    assert code == 413
    assert all(channel["published"] == 0 for channel in server.hub.stats())


@pytest.mark.gen_test
async def test_channel_list_shows_subscribers_counts_and_last_seq(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "data"})
    for _ in range(3):
        await http(server, "POST", "/api/channels/data", {"beer": 19})
    status, body = await http(server, "GET", "/api/channels")
    assert status == 200
    (data,) = [channel for channel in body["channels"] if channel["name"] == "data"]
    assert (data["name"], data["subscribers"], data["published"], data["seq"]) == ("data", 1, 3, 3)
    assert "rate_per_s" in data


@pytest.mark.gen_test
async def test_unknown_route_and_wrong_method_use_the_json_error_shape(server):
    code, reply = await http(server, "GET", "/api/nothing-here")
    assert code == 404 and reply["error"]["code"] == "not_found"
    code, reply = await http(server, "GET", "/publish")
    assert code == 405 and reply["error"]["code"] == "method_not_allowed"


@pytest.mark.gen_test
async def test_index_page_is_served(server):
    code, page = await http(server, "GET", "/")
    assert code == 200 and "<title>Maelstrom</title>" in page
