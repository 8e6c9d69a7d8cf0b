"""Revoking a token or changing the password ends the WebSockets authenticated with it,
with 4001 as a bad token would; other connections, and those that never authenticated,
carry on (design.md "Security model", docs/pubsub.md "Close codes")."""

from __future__ import annotations

from typing import Any

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from tests.helpers import WsClient, connect, cookie_header, cookies_of, http, login, password_of, raw

CLOSE_UNAUTHENTICATED = 4001


async def new_token(server, name: str) -> dict[str, Any]:
    status, reply = await http(server, "POST", "/api/tokens", {"name": name})
    assert status == 201, reply
    return reply


async def with_bearer(server, token: str) -> WsClient:
    return await connect(server, auth=False, headers={"Authorization": f"Bearer {token}"})


async def with_auth_action(server, token: str) -> WsClient:
    client = await connect(server, auth=False)
    reply = await client.request({"action": "auth", "token": token, "id": "auth"})
    assert reply == {"id": "auth", "result": {"authenticated": reply["result"]["authenticated"]}}, reply
    return client


async def with_cookie(server, jar: dict[str, str]) -> WsClient:
    return WsClient(await websocket_connect(HTTPRequest(server.ws_url, headers=cookie_header(jar))))


async def publishes(client: WsClient, request_id: int) -> bool:
    reply = await client.request(
        {"action": "publish", "channel": "brewhouse/notes", "data": request_id, "id": request_id}
    )
    assert reply["id"] == request_id, reply
    return "result" in reply


async def reader(server) -> WsClient:
    """A wall tablet: never authenticated, reading by public_read."""
    client = await connect(server, auth=False)
    reply = await client.request({"action": "subscribe", "channel": "brewhouse/notes", "id": 0})
    assert "result" in reply, reply
    return client


@pytest.mark.gen_test(timeout=30)
async def test_revoking_a_token_closes_its_websockets_and_only_those(server):
    a, b = await new_token(server, "cellar script"), await new_token(server, "tilt bridge")
    a_at_handshake = await with_bearer(server, a["token"])
    a_by_action = await with_auth_action(server, a["token"])
    b_client = await with_bearer(server, b["token"])
    tablet = await reader(server)
    assert await publishes(a_at_handshake, 1) and await publishes(a_by_action, 2)
    assert [(await tablet.recv())["data"] for _ in range(2)] == [1, 2]

    status, _ = await http(server, "DELETE", f"/api/tokens/{a['id']}")
    assert status == 204
    assert await a_at_handshake.closed() == CLOSE_UNAUTHENTICATED
    assert await a_by_action.closed() == CLOSE_UNAUTHENTICATED
    assert "revoked" in (a_at_handshake.conn.close_reason or "")

    # B is untouched: it still publishes, and the tablet that never logged in still reads
    assert await publishes(b_client, 3)
    assert (await tablet.recv())["data"] == 3
    # and A is refused from now on
    assert await (await with_bearer(server, a["token"])).closed() == CLOSE_UNAUTHENTICATED


@pytest.mark.gen_test(timeout=30)
async def test_a_password_change_closes_the_websockets_of_old_session_cookies(server):
    jar, xsrf = await login(server)
    other_jar, _ = await login(server)  # a second tablet, logged in with the same password
    mine, other = await with_cookie(server, jar), await with_cookie(server, other_jar)
    token_client = await connect(server)  # the test token: a password change does not end it
    tablet = await reader(server)
    assert await publishes(mine, 1) and await publishes(other, 2)
    assert [(await tablet.recv())["data"] for _ in range(2)] == [1, 2]

    response = await raw(
        server,
        "POST",
        "/api/password",
        {"old": password_of(server), "new": "hop forward 2024"},
        {**cookie_header(jar), "X-XSRFToken": xsrf},
    )
    assert response.code == 200, response.body
    # both cookie sessions' sockets end, the changing one's too: its socket holds the old
    # cookie; the new cookie from the answer opens a new one
    assert await mine.closed() == CLOSE_UNAUTHENTICATED
    assert await other.closed() == CLOSE_UNAUTHENTICATED

    assert await publishes(token_client, 3)
    assert (await tablet.recv())["data"] == 3
    new_jar = cookies_of(response, jar)
    assert await publishes(await with_cookie(server, new_jar), 4)
    assert (await tablet.recv())["data"] == 4
    # an old cookie opens only a reading connection now: it may not publish
    stale = await with_cookie(server, other_jar)
    reply = await stale.request({"action": "publish", "channel": "brewhouse/notes", "data": 5, "id": 5})
    assert reply["error"]["code"] == "unauthorized", reply


@pytest.mark.gen_test(timeout=30)
async def test_a_refused_password_change_or_unknown_token_closes_nothing(server):
    jar, xsrf = await login(server)
    mine = await with_cookie(server, jar)
    token_client = await connect(server)
    response = await raw(
        server,
        "POST",
        "/api/password",
        {"old": "not the password", "new": "hop forward 2024"},
        {**cookie_header(jar), "X-XSRFToken": xsrf},
    )
    assert response.code == 403
    status, _ = await http(server, "DELETE", "/api/tokens/999")
    assert status == 404
    assert await publishes(mine, 1) and await publishes(token_client, 2)
