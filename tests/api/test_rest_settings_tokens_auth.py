"""Settings, API tokens, the UI login (session cookie + XSRF), password change, login
throttling, public_read, and the WebSocket's auth and origin checks (design.md "Security
model", protocol.md §2 and §4)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from app.db.models import Setting
from tests.helpers import (
    WsClient,
    assert_error,
    connect,
    cookie_header,
    cookies_of,
    http,
    login,
    parsed,
    password_of,
    raw,
)

DEFAULTS = {
    "units": "C",
    "theme": "dark",
    "logo": "",
    "brewery_name": "My brewery",
    "tick_period_s": 1.0,
    "public_read": True,
    "log_keep_days": 30,
    "log_keep_rows": 100_000,
    "alarm_keep_days": 365,
    "alarm_keep_rows": 10_000,
    "history_interval_s": 10.0,
    "history_raw_days": 30,
    "history_rollup_days": 3650,
}
CONTROLLER = {"name": "Cellar", "kind": "simulator"}


async def get(server, path: str) -> Any:
    status, reply = await http(server, "GET", path)
    assert status == 200, reply
    return reply


# ---------------------------------------------------------------------------------------------
# settings


@pytest.mark.gen_test
async def test_settings_defaults_read_one_and_help(server):
    assert await get(server, "/api/settings") == DEFAULTS
    for name, value in DEFAULTS.items():
        one = await get(server, f"/api/settings/{name}")
        assert one["name"] == name and one["value"] == value
        assert isinstance(one["help"], str) and one["help"]
    # anonymous readers see them too (public_read is on by default)
    status, reply = await http(server, "GET", "/api/settings", auth=False)
    assert status == 200 and reply == DEFAULTS


@pytest.mark.gen_test
async def test_put_and_patch_one_setting(server):
    status, reply = await http(server, "PUT", "/api/settings/units", {"value": "F"})
    assert status == 200, reply
    assert reply["name"] == "units" and reply["value"] == "F"
    assert (await get(server, "/api/settings/units"))["value"] == "F"
    status, reply = await http(server, "PATCH", "/api/settings/tick_period_s", {"value": 2.5})
    assert status == 200 and reply["value"] == 2.5, reply
    status, reply = await http(server, "PATCH", "/api/settings/tick_period_s", {"value": 2})
    assert status == 200 and reply["value"] == 2, reply
    assert await get(server, "/api/settings") == {**DEFAULTS, "units": "F", "tick_period_s": 2}


@pytest.mark.gen_test
async def test_patch_many_settings_and_reset_one(server):
    status, reply = await http(
        server,
        "PATCH",
        "/api/settings",
        {"theme": "light", "brewery_name": "Cellar Door", "public_read": False},
    )
    assert status == 200, reply
    expected = {**DEFAULTS, "theme": "light", "brewery_name": "Cellar Door", "public_read": False}
    assert reply == expected
    assert await get(server, "/api/settings") == expected
    # a setting outlives a restart: it is in the database
    with server.sessions() as session:
        stored = dict(session.execute(select(Setting.name, Setting.value)).all())
    assert stored["theme"] == "light"

    status, reply = await http(server, "DELETE", "/api/settings/theme")
    assert status == 200, reply
    assert reply["name"] == "theme" and reply["value"] == "dark"
    assert await get(server, "/api/settings") == {**expected, "theme": "dark"}


BAD_SETTINGS = [
    ("/api/settings/units", {"value": "K"}, 400, "units"),
    ("/api/settings/units", {"value": None}, 400, "units"),
    ("/api/settings/public_read", {"value": "yes"}, 400, "public_read"),
    ("/api/settings/public_read", {"value": 1}, 400, "public_read"),
    ("/api/settings/tick_period_s", {"value": 0.1}, 400, "tick_period_s"),
    ("/api/settings/tick_period_s", {"value": 61}, 400, "tick_period_s"),
    ("/api/settings/tick_period_s", {"value": "fast"}, 400, "tick_period_s"),
    ("/api/settings/tick_period_s", {"value": True}, 400, "tick_period_s"),
    ("/api/settings/tick_period_s", {"value": "2"}, 400, "tick_period_s"),
    ("/api/settings/theme", {"value": "pink"}, 400, "theme"),
    ("/api/settings/brewery_name", {"value": "b" * 65}, 400, "brewery_name"),
    ("/api/settings/logo", {"value": "x" * (64 * 1024 + 1)}, 400, "logo"),
    ("/api/settings/units", {"val": "F"}, 400, "value"),
    ("/api/settings/units", {"value": "F", "extra": 1}, 400, "value"),
    ("/api/settings/units", ["F"], 400, "value"),
    ("/api/settings", {"units": "F", "bogus": 1}, 400, "bogus"),
    ("/api/settings", {"units": "F", "tick_period_s": 0.1}, 400, "tick_period_s"),
    ("/api/settings", {"_ui_password": "hacked"}, 400, "_ui_password"),
    ("/api/settings", {}, 400, None),
    ("/api/settings", ["units"], 400, None),
    ("/api/settings/nonsense", {"value": 1}, 404, None),
    ("/api/settings/_ui_password", {"value": "hacked"}, 404, None),
]


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    BAD_SETTINGS,
    ids=[
        f"{index}-{path.rsplit('/', 1)[-1]}-{re.sub(r'[^A-Za-z0-9_.]', '', str(body))[:24]}"
        for index, (path, body, _, _) in enumerate(BAD_SETTINGS)
    ],
)
@pytest.mark.gen_test
async def test_bad_setting_changes_are_refused_and_change_nothing(server, path, body, status, field):
    method = "PATCH" if path == "/api/settings" else "PUT"
    got, reply = await http(server, method, path, body)
    error = assert_error(got, reply, status)
    if field is not None:
        assert error["field"] == field, error
    assert await get(server, "/api/settings") == DEFAULTS


@pytest.mark.gen_test
async def test_unknown_setting_is_404_and_the_password_hash_never_leaves(server):
    for method in ("GET", "DELETE"):
        for name in ("nonsense", "_ui_password"):
            got, reply = await http(server, method, f"/api/settings/{name}")
            assert_error(got, reply, 404, "not_found")
    assert "_ui_password" not in await get(server, "/api/settings")
    assert await get(server, "/api/settings") == DEFAULTS


# ---------------------------------------------------------------------------------------------
# tokens


@pytest.mark.gen_test
async def test_token_is_shown_once_stored_hashed_works_and_can_be_revoked(server):
    status, created = await http(server, "POST", "/api/tokens", {"name": "fermenter script"})
    assert status == 201, created
    assert set(created) == {"id", "name", "token"}
    assert created["name"] == "fermenter script"
    token = created["token"]
    assert isinstance(token, str) and len(token) >= 32

    listed = await get(server, "/api/tokens")
    assert token not in json.dumps(listed)
    mine = [row for row in listed if row["id"] == created["id"]]
    assert len(mine) == 1 and set(mine[0]) == {"id", "name", "created_at", "last_used_at"}
    one = await get(server, f"/api/tokens/{created['id']}")
    assert token not in json.dumps(one) and one["name"] == "fermenter script"

    # the database has a hash, never the token
    with server.sessions() as session:
        rows = session.execute(text("SELECT * FROM api_token")).all()
    dump = repr(rows)
    assert token not in dump
    assert len(rows) == len(listed)

    # it works as a bearer token
    bearer = {"Authorization": f"Bearer {token}"}
    status, reply = await http(server, "POST", "/api/controllers", CONTROLLER, bearer, auth=False)
    assert status == 201, reply
    # and its use is recorded
    assert (await get(server, f"/api/tokens/{created['id']}"))["last_used_at"] is not None

    status, _ = await http(server, "DELETE", f"/api/tokens/{created['id']}")
    assert status == 204
    got, reply = await http(
        server, "POST", "/api/controllers", {**CONTROLLER, "name": "X"}, bearer, auth=False
    )
    assert_error(got, reply, 401, "unauthorized")
    got, reply = await http(server, "GET", "/api/controllers", None, bearer, auth=False)
    assert_error(got, reply, 401, "unauthorized")
    got, reply = await http(server, "GET", f"/api/tokens/{created['id']}")
    assert_error(got, reply, 404)
    assert [c["name"] for c in await get(server, "/api/controllers")] == ["Cellar"]


@pytest.mark.gen_test
async def test_token_names_are_unique_and_validated(server):
    status, _ = await http(server, "POST", "/api/tokens", {"name": "script"})
    assert status == 201
    before = await get(server, "/api/tokens")
    for body, code in (
        ({"name": "script"}, 409),
        ({"name": ""}, 400),
        ({"name": 5}, 400),
        ({}, 400),
        ({"name": "x", "token": "mine"}, 400),
    ):
        got, reply = await http(server, "POST", "/api/tokens", body)
        assert_error(got, reply, code)
    assert await get(server, "/api/tokens") == before


@pytest.mark.gen_test
async def test_bad_authorization_headers_are_401(server):
    for header in ("Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz", server.test_token):
        got, reply = await http(
            server, "GET", "/api/controllers", None, {"Authorization": header}, auth=False
        )
        assert_error(got, reply, 401, "unauthorized")


# ---------------------------------------------------------------------------------------------
# login, sessions and XSRF


@pytest.mark.gen_test
async def test_first_start_writes_the_initial_password_readable_by_owner_only(server):
    path = Path(server.config.storage.data_dir) / "initial-password"
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(password_of(server)) >= 8
    # the password is not stored in plain text
    with server.sessions() as session:
        dump = repr(session.execute(text("SELECT * FROM setting")).all())
    assert password_of(server) not in dump


@pytest.mark.gen_test
async def test_wrong_password_is_401_and_sets_no_session(server):
    response = await raw(server, "POST", "/api/login", {"password": "not the password"})
    assert_error(response.code, parsed(response), 401, "unauthorized")
    assert "maelstrom_session" not in cookies_of(response)
    for body in ({"password": ""}, {}, {"password": 5}, {"password": "x", "user": "admin"}):
        response = await raw(server, "POST", "/api/login", body)
        assert_error(response.code, parsed(response), 400)
        assert "maelstrom_session" not in cookies_of(response)


@pytest.mark.gen_test
async def test_session_changes_need_the_xsrf_header(server):
    jar, xsrf = await login(server)
    session = cookie_header(jar)
    # reads work with the cookie alone
    response = await raw(server, "GET", "/api/controllers", headers=session)
    assert response.code == 200
    # a change without the header is refused, and changes nothing
    response = await raw(server, "POST", "/api/controllers", CONTROLLER, session)
    assert_error(response.code, parsed(response), 403, "xsrf")
    response = await raw(server, "POST", "/api/controllers", CONTROLLER, {**session, "X-XSRFToken": "wrong"})
    assert_error(response.code, parsed(response), 403, "xsrf")
    assert await get(server, "/api/controllers") == []
    # with the header from the login answer
    response = await raw(server, "POST", "/api/controllers", CONTROLLER, {**session, "X-XSRFToken": xsrf})
    assert response.code == 201, response.body
    # or from the _xsrf cookie
    response = await raw(
        server,
        "POST",
        "/api/controllers",
        {**CONTROLLER, "name": "Garage"},
        {**session, "X-XSRFToken": jar["_xsrf"]},
    )
    assert response.code == 201, response.body
    assert [c["name"] for c in await get(server, "/api/controllers")] == ["Cellar", "Garage"]


@pytest.mark.gen_test
async def test_logout_ends_the_session(server):
    jar, xsrf = await login(server)
    response = await raw(server, "POST", "/api/logout", {}, {**cookie_header(jar), "X-XSRFToken": xsrf})
    assert response.code == 200
    jar = cookies_of(response, jar)
    response = await raw(
        server, "POST", "/api/controllers", CONTROLLER, {**cookie_header(jar), "X-XSRFToken": xsrf}
    )
    assert_error(response.code, parsed(response), 401, "unauthorized")
    assert await get(server, "/api/controllers") == []


@pytest.mark.gen_test
async def test_password_change(server):
    data_dir = Path(server.config.storage.data_dir)
    old = password_of(server)
    jar, xsrf = await login(server)
    other_jar, other_xsrf = await login(server)  # a second tablet
    headers = {**cookie_header(jar), "X-XSRFToken": xsrf}

    response = await raw(
        server, "POST", "/api/password", {"old": "wrong password", "new": "a new password"}, headers
    )
    assert_error(response.code, parsed(response), 403)
    response = await raw(server, "POST", "/api/password", {"old": old, "new": "short"}, headers)
    error = assert_error(response.code, parsed(response), 400)
    assert error["field"] == "new"
    # neither changed it
    response = await raw(server, "POST", "/api/login", {"password": old})
    assert response.code == 200
    assert (data_dir / "initial-password").exists()

    response = await raw(server, "POST", "/api/password", {"old": old, "new": "hop forward 2024"}, headers)
    assert response.code == 200, response.body
    assert not (data_dir / "initial-password").exists()

    # the old password no longer logs in; the new one does
    response = await raw(server, "POST", "/api/login", {"password": old})
    assert_error(response.code, parsed(response), 401)
    await login(server, "hop forward 2024")

    # the other tablet's session is void
    other = {**cookie_header(other_jar), "X-XSRFToken": other_xsrf}
    response = await raw(server, "POST", "/api/controllers", CONTROLLER, other)
    assert_error(response.code, parsed(response), 401, "unauthorized")
    assert await get(server, "/api/controllers") == []


@pytest.mark.gen_test
async def test_password_change_keeps_the_changing_session_and_voids_its_old_cookie(server):
    old = password_of(server)
    jar, xsrf = await login(server)
    response = await raw(
        server,
        "POST",
        "/api/password",
        {"old": old, "new": "mash paddle 99"},
        {**cookie_header(jar), "X-XSRFToken": xsrf},
    )
    assert response.code == 200, response.body
    new_jar = cookies_of(response, jar)
    assert new_jar["maelstrom_session"] != jar["maelstrom_session"]
    response = await raw(
        server, "POST", "/api/controllers", CONTROLLER, {**cookie_header(jar), "X-XSRFToken": xsrf}
    )
    assert_error(response.code, parsed(response), 401, "unauthorized")
    response = await raw(
        server, "POST", "/api/controllers", CONTROLLER, {**cookie_header(new_jar), "X-XSRFToken": xsrf}
    )
    assert response.code == 201, response.body


@pytest.mark.gen_test
async def test_password_change_needs_authentication(server):
    old = password_of(server)
    response = await raw(server, "POST", "/api/password", {"old": old, "new": "anonymous change"})
    assert_error(response.code, parsed(response), 401, "unauthorized")
    response = await raw(server, "POST", "/api/login", {"password": old})
    assert response.code == 200


@pytest.mark.gen_test(timeout=30)
async def test_repeated_failed_logins_are_slowed_down(server):
    timings = []
    for _ in range(3):
        started = time.monotonic()
        response = await raw(server, "POST", "/api/login", {"password": "guess"})
        timings.append(time.monotonic() - started)
        assert response.code == 401
    started = time.monotonic()
    response = await raw(server, "POST", "/api/login", {"password": "guess"})
    slowed = time.monotonic() - started
    assert response.code == 401
    assert slowed >= 0.4, (timings, slowed)


@pytest.mark.gen_test(timeout=30)
async def test_login_throttle_cannot_be_dodged_by_claiming_other_addresses(server):
    # The appliance serves the LAN directly: a client-supplied X-Forwarded-For / X-Real-Ip
    # must not make each guess look like a new client.
    for index in range(3):
        response = await raw(
            server, "POST", "/api/login", {"password": "guess"}, {"X-Forwarded-For": f"10.9.9.{index + 1}"}
        )
        assert response.code == 401
    started = time.monotonic()
    response = await raw(server, "POST", "/api/login", {"password": "guess"}, {"X-Real-Ip": "10.9.9.99"})
    slowed = time.monotonic() - started
    assert response.code == 401
    assert slowed >= 0.4, slowed


@pytest.mark.gen_test(timeout=30)
async def test_concurrent_failed_logins_are_slowed_down_too(server):
    for _ in range(3):
        response = await raw(server, "POST", "/api/login", {"password": "guess"})
        assert response.code == 401

    async def timed_guess() -> float:
        started = time.monotonic()
        response = await raw(server, "POST", "/api/login", {"password": "guess"})
        assert response.code == 401
        return time.monotonic() - started

    # three guesses at once must not all pass with the delay of the first one:
    # one after another they would wait 0.5, 1 and 2 s
    timings = await asyncio.gather(*(timed_guess() for _ in range(3)))
    assert max(timings) >= 1.5, timings


# ---------------------------------------------------------------------------------------------
# public_read, anonymous writes


@pytest.mark.gen_test
async def test_public_read_off_needs_a_login_or_token_to_read(server):
    status, _ = await http(server, "PUT", "/api/settings/public_read", {"value": False})
    assert status == 200
    for path in ("/api/controllers", "/api/settings", "/api/status", "/api/logs"):
        got, reply = await http(server, "GET", path, auth=False)
        assert_error(got, reply, 401, "unauthorized")
    # token holders still read
    status, reply = await http(server, "GET", "/api/controllers")
    assert status == 200 and reply == []
    # and a session
    jar, _ = await login(server)
    response = await raw(server, "GET", "/api/controllers", headers=cookie_header(jar))
    assert response.code == 200

    anonymous = await connect(server, auth=False)
    reply = await anonymous.request({"action": "subscribe", "channel": "_controllers", "id": 1})
    assert reply["id"] == 1 and reply["error"]["code"] == "unauthorized", reply
    reader = await connect(server)
    reply = await reader.request({"action": "subscribe", "channel": "_controllers", "id": 2})
    assert reply["id"] == 2 and reply["result"]["channel"] == "_controllers", reply
    await http(server, "POST", "/api/controllers", CONTROLLER)
    assert (await reader.recv())["data"]["eventType"] == "create"
    assert await anonymous.nothing_within(0.3)


@pytest.mark.gen_test
async def test_public_read_on_lets_anonymous_read_but_not_write(server):
    status, reply = await http(server, "GET", "/api/controllers", auth=False)
    assert status == 200 and reply == []
    for method, path, body in (
        ("POST", "/api/controllers", CONTROLLER),
        ("PATCH", "/api/settings", {"units": "F"}),
        ("PUT", "/api/settings/units", {"value": "F"}),
        ("DELETE", "/api/settings/units", None),
        ("POST", "/api/tokens", {"name": "mine"}),
        ("POST", "/publish", {"channel": "test", "data": 1}),
        ("POST", "/api/channels/test", {"x": 1}),
    ):
        got, reply = await http(server, method, path, body, auth=False)
        assert_error(got, reply, 401, "unauthorized")
    got, reply = await http(server, "GET", "/api/tokens", auth=False)
    assert got == 401 or (got == 200 and all("token" not in row for row in reply)), reply
    assert await get(server, "/api/controllers") == []
    assert await get(server, "/api/settings") == DEFAULTS


@pytest.mark.gen_test
async def test_anonymous_form_publish_is_401(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "alarms"})
    got, reply = await http(
        server,
        "POST",
        "/publish",
        "channel=alarms&data=%7B%7D",
        {"Content-Type": "application/x-www-form-urlencoded"},
        auth=False,
    )
    assert_error(got, reply, 401, "unauthorized")
    assert await client.nothing_within(0.3)


# ---------------------------------------------------------------------------------------------
# WebSocket auth and origin


@pytest.mark.gen_test
async def test_websocket_bad_token_closes_with_4001(server):
    client = await connect(server, auth=False)
    client.send({"action": "auth", "token": "bad"})
    assert await client.closed() == 4001


@pytest.mark.gen_test
async def test_websocket_bad_bearer_at_handshake_closes_with_4001(server):
    client = await connect(server, auth=False, headers={"Authorization": "Bearer bad"})
    assert await client.closed() == 4001


@pytest.mark.gen_test
async def test_websocket_auth_action_lets_the_connection_publish(server):
    watcher = await connect(server)
    await watcher.request({"action": "subscribe", "channel": "brewhouse/notes"})
    client = await connect(server, auth=False)
    reply = await client.request({"action": "publish", "channel": "brewhouse/notes", "data": 1, "id": 1})
    assert reply["id"] == 1 and reply["error"]["code"] == "unauthorized", reply
    assert await watcher.nothing_within(0.2)
    reply = await client.request({"action": "auth", "token": server.test_token, "id": 2})
    assert reply["id"] == 2 and "result" in reply, reply
    reply = await client.request(
        {"action": "publish", "channel": "brewhouse/notes", "data": {"t": 2}, "id": 3}
    )
    assert reply["id"] == 3 and reply["result"]["channel"] == "brewhouse/notes", reply
    assert (await watcher.recv())["data"] == {"t": 2}


@pytest.mark.gen_test
async def test_websocket_session_cookie_authenticates(server):
    jar, _ = await login(server)
    conn = await websocket_connect(HTTPRequest(server.ws_url, headers=cookie_header(jar)))
    client = WsClient(conn)
    reply = await client.request({"action": "publish", "channel": "test", "data": 1, "id": 1})
    assert reply["id"] == 1 and "result" in reply, reply


@pytest.mark.gen_test
async def test_websocket_with_a_foreign_origin_is_refused(server):
    with pytest.raises(HTTPClientError) as info:
        await websocket_connect(HTTPRequest(server.ws_url, headers={"Origin": "http://evil.example"}))
    assert info.value.code == 403
    # even with a valid token
    with pytest.raises(HTTPClientError) as info:
        await websocket_connect(
            HTTPRequest(
                server.ws_url,
                headers={"Origin": "http://evil.example", "Authorization": f"Bearer {server.test_token}"},
            )
        )
    assert info.value.code == 403
    # the server's own origin is fine
    port = server.ports[0]
    conn = await websocket_connect(HTTPRequest(server.ws_url, headers={"Origin": f"http://127.0.0.1:{port}"}))
    reply = await WsClient(conn).request({"action": "ping", "id": 1})
    assert reply["id"] == 1
