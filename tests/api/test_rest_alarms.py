"""Alarms through the real server: raised from outside on the `alarms` channel, stored,
listed at `/api/alarms`, acknowledged by REST or by publishing, bad input refused."""

import pytest

from tests.helpers import assert_error, connect, http


async def raise_outside(server, code="1001", source="debugger", msg="test alarm"):
    status, reply = await http(
        server, "POST", "/api/channels/alarms", {"alarms": [{"source": source, "code": code, "msg": msg}]}
    )
    assert status == 200, reply
    # the POST answers once published; the database writer stores the alarm right after,
    # behind any write queued before it (such as the token's last use)
    await server.db_writer.drain()


async def listed(server, state="open"):
    status, alarms = await http(server, "GET", f"/api/alarms?state={state}")
    assert status == 200
    return alarms


@pytest.mark.gen_test(timeout=30)
async def test_an_outside_alarm_is_stored_published_and_latched_until_acknowledged(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "alarms"})
    await raise_outside(server, code=1001)
    await client.recv(timeout=5)  # the publication itself
    broadcast = (await client.recv(timeout=5))["data"]["alarms"][0]
    assert broadcast["source"] == "debugger" and broadcast["code"] == "1001" and broadcast["id"] >= 1
    [alarm] = await listed(server)
    assert alarm["id"] == broadcast["id"] and alarm["state"] == "cleared_unacknowledged"
    status, reply = await http(server, "POST", "/api/alarms/ack", {"ids": [alarm["id"]]})
    assert status == 200 and reply == {"acknowledged": [alarm["id"]]}
    assert await listed(server) == []
    [archived] = await listed(server, "all")
    assert archived["state"] == "cleared" and archived["acknowledged_at"] is not None


@pytest.mark.gen_test(timeout=30)
async def test_publishing_acknowledge_true_acknowledges_every_listed_alarm(server):
    await raise_outside(server, code="a")
    await raise_outside(server, code="b")
    await listed(server)
    assert len(await listed(server)) == 2
    # the original clients' legacy envelope through POST /publish
    status, _ = await http(
        server,
        "POST",
        "/publish",
        {"channel": "alarms", "data": {"channel": "alarms", "payload": {"acknowledge": True}}},
    )
    assert status == 200
    await server.db_writer.drain()  # the acknowledgement is stored right after it is published
    assert await listed(server) == []


@pytest.mark.gen_test(timeout=30)
async def test_alarms_survive_a_restart_of_the_alarm_book(server):
    await raise_outside(server, code="kept")
    await listed(server)  # the raise is handled after the publication has been delivered
    server.alarms.stop()
    server.alarms.start()  # rebuilt from the database
    assert [a["code"] for a in await listed(server)] == ["kept"]
    assert [a.code for a in server.alarms.book.entries()] == ["kept"]


@pytest.mark.parametrize(
    "body",
    [
        {"alarms": "not a list"},
        {"alarms": [{"source": "", "code": 1, "msg": "x"}]},
        {"alarms": [{"source": "s", "code": True, "msg": "x"}]},
        {"acknowledge": [0]},
        {"acknowledge": "yes"},
        {"something": "else"},
        [1, 2],
    ],
)
@pytest.mark.gen_test(timeout=30)
async def test_a_bad_alarms_publication_is_refused_and_changes_nothing(server, body):
    await raise_outside(server, code="before")
    assert len(await listed(server)) == 1
    status, reply = await http(server, "POST", "/api/channels/alarms", body)
    assert_error(status, reply, 400)
    assert [a["code"] for a in await listed(server)] == ["before"]
    assert server.hub.channels["alarms"].seq == 2  # the first raise and its broadcast only


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": []}, {"ids": [1], "all": True}, {"ids": ["1"]}, {"ids": [0]}, {"all": False}, {"every": 1}],
)
@pytest.mark.gen_test(timeout=30)
async def test_a_bad_ack_body_is_refused(server, body):
    await raise_outside(server)
    assert len(await listed(server)) == 1
    status, reply = await http(server, "POST", "/api/alarms/ack", body)
    if body == {"ids": []}:
        assert status == 200 and reply == {"acknowledged": []}  # nothing named, nothing done
    else:
        assert_error(status, reply, 400)
    assert len(await listed(server)) == 1


@pytest.mark.gen_test(timeout=30)
async def test_alarm_list_query_is_validated(server):
    for query in ("state=bogus", "limit=0", "limit=x"):
        status, reply = await http(server, "GET", f"/api/alarms?{query}")
        assert_error(status, reply, 400)
