"""Change events of the REST API (protocol.md §4): every committed change is announced on
its `_` channel, after the commit; a refused change announces nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import WsClient, connect, http

CHANNELS = ("_controllers", "_chambers", "_devices", "_profiles", "_settings")


async def subscriber(server, *channels: str) -> WsClient:
    client = await connect(server, auth=False)  # reads are public by default
    for index, channel in enumerate(channels or CHANNELS):
        reply = await client.request({"action": "subscribe", "channel": channel, "id": index})
        assert reply["id"] == index and reply["result"]["channel"] == channel, reply
    return client


async def event(client: WsClient, channel: str) -> dict[str, Any]:
    message = await client.recv()
    assert message["channel"] == channel, message
    assert isinstance(message["seq"], int) and message["epoch"] and message["ts"], message
    return message["data"]


async def get(server, path: str) -> Any:
    status, reply = await http(server, "GET", path)
    assert status == 200, reply
    return reply


async def change(server, method: str, path: str, body: Any = None, expected: int = 200) -> Any:
    status, reply = await http(server, method, path, body)
    assert status == expected, reply
    return reply


@pytest.mark.gen_test
async def test_controller_events_follow_each_committed_change(server):
    client = await subscriber(server)
    created = await change(server, "POST", "/api/controllers", {"name": "Cellar", "kind": "simulator"}, 201)
    data = await event(client, "_controllers")
    assert data == {"eventType": "create", "controller": created}
    # already committed when the event arrives
    assert await get(server, f"/api/controllers/{data['controller']['id']}") == {**created, "chambers": []}

    patched = await change(server, "PATCH", f"/api/controllers/{created['id']}", {"enabled": False})
    data = await event(client, "_controllers")
    assert data == {"eventType": "update", "controller": patched}
    assert (await get(server, f"/api/controllers/{created['id']}"))["enabled"] is False

    await change(server, "DELETE", f"/api/controllers/{created['id']}", expected=204)
    data = await event(client, "_controllers")
    assert data == {"eventType": "delete", "id": created["id"]}
    status, _ = await http(server, "GET", f"/api/controllers/{created['id']}")
    assert status == 404
    assert await client.nothing_within(0.3)


@pytest.mark.gen_test
async def test_chamber_device_and_profile_events(server):
    client = await subscriber(server)
    controller = await change(
        server, "POST", "/api/controllers", {"name": "Cellar", "kind": "simulator"}, 201
    )
    assert (await event(client, "_controllers"))["eventType"] == "create"

    profile = await change(
        server,
        "POST",
        "/api/profiles",
        {"name": "Ale", "points": [{"offset_days": 0, "temperature": 19}]},
        201,
    )
    data = await event(client, "_profiles")
    assert data == {"eventType": "create", "profile": profile}
    assert await get(server, f"/api/profiles/{profile['id']}") == profile

    chamber = await change(
        server, "POST", "/api/chambers", {"controller_id": controller["id"], "name": "FV1"}, 201
    )
    data = await event(client, "_chambers")
    assert data == {"eventType": "create", "chamber": chamber}
    assert (await get(server, f"/api/chambers/{chamber['id']}"))["name"] == "FV1"

    # a command: mode and setpoint
    patched = await change(
        server, "PATCH", f"/api/chambers/{chamber['id']}", {"mode": "beer", "beer_setpoint": 18.5}
    )
    data = await event(client, "_chambers")
    assert data == {"eventType": "update", "chamber": patched}
    assert data["chamber"]["mode"] == "beer" and data["chamber"]["beer_setpoint"] == 18.5
    now = await get(server, f"/api/chambers/{chamber['id']}")
    assert now["mode"] == "beer" and now["beer_setpoint"] == 18.5

    device = await change(
        server,
        "POST",
        "/api/devices",
        {
            "chamber_id": chamber["id"],
            "name": "Heater",
            "function": "heat",
            "hardware": "pin",
            "address": "4",
        },
        201,
    )
    data = await event(client, "_devices")
    assert data == {"eventType": "create", "device": device}
    assert await get(server, f"/api/devices/{device['id']}") == device

    patched = await change(server, "PATCH", f"/api/devices/{device['id']}", {"invert": True})
    data = await event(client, "_devices")
    assert data == {"eventType": "update", "device": patched}
    assert (await get(server, f"/api/devices/{device['id']}"))["invert"] is True

    patched = await change(server, "PATCH", f"/api/profiles/{profile['id']}", {"notes": "US-05"})
    data = await event(client, "_profiles")
    assert data == {"eventType": "update", "profile": patched}
    assert (await get(server, f"/api/profiles/{profile['id']}"))["notes"] == "US-05"

    await change(server, "DELETE", f"/api/devices/{device['id']}", expected=204)
    assert await event(client, "_devices") == {"eventType": "delete", "id": device["id"]}
    assert await get(server, "/api/devices") == []

    await change(server, "DELETE", f"/api/chambers/{chamber['id']}", expected=204)
    assert await event(client, "_chambers") == {"eventType": "delete", "id": chamber["id"]}
    assert await get(server, "/api/chambers") == []

    await change(server, "DELETE", f"/api/profiles/{profile['id']}", expected=204)
    assert await event(client, "_profiles") == {"eventType": "delete", "id": profile["id"]}
    assert await get(server, "/api/profiles") == []
    assert await client.nothing_within(0.3)


@pytest.mark.gen_test
async def test_settings_events(server):
    client = await subscriber(server, "_settings")
    await change(server, "PUT", "/api/settings/units", {"value": "F"})
    assert await event(client, "_settings") == {
        "eventType": "update",
        "setting": {"name": "units", "value": "F"},
    }
    assert (await get(server, "/api/settings/units"))["value"] == "F"

    await change(server, "PATCH", "/api/settings", {"theme": "light", "brewery_name": "Cellar Door"})
    seen = [await event(client, "_settings") for _ in range(2)]
    assert sorted(seen, key=lambda data: data["setting"]["name"]) == [
        {"eventType": "update", "setting": {"name": "brewery_name", "value": "Cellar Door"}},
        {"eventType": "update", "setting": {"name": "theme", "value": "light"}},
    ]
    settings = await get(server, "/api/settings")
    assert settings["theme"] == "light" and settings["brewery_name"] == "Cellar Door"

    await change(server, "DELETE", "/api/settings/units")
    assert await event(client, "_settings") == {
        "eventType": "update",
        "setting": {"name": "units", "value": "C"},
    }
    assert (await get(server, "/api/settings/units"))["value"] == "C"
    assert await client.nothing_within(0.3)


@pytest.mark.gen_test
async def test_refused_changes_publish_nothing(server):
    controller = await change(
        server, "POST", "/api/controllers", {"name": "Cellar", "kind": "simulator"}, 201
    )
    chamber = await change(
        server, "POST", "/api/chambers", {"controller_id": controller["id"], "name": "FV1"}, 201
    )
    profile = await change(server, "POST", "/api/profiles", {"name": "Ale"}, 201)
    await change(
        server,
        "POST",
        "/api/devices",
        {"chamber_id": chamber["id"], "name": "Fan", "function": "fan", "hardware": "pin", "address": "2"},
        201,
    )
    await change(server, "PATCH", f"/api/chambers/{chamber['id']}", {"profile_id": profile["id"]})
    client = await subscriber(server)
    refusals = [
        ("POST", "/api/controllers", {"name": "Cellar", "kind": "simulator"}, 409),
        ("POST", "/api/controllers", {"name": "X", "kind": "arduino"}, 400),
        ("PATCH", f"/api/controllers/{controller['id']}", {"kind": "arduino"}, 400),
        ("DELETE", f"/api/controllers/{controller['id']}", None, 409),
        ("POST", "/api/chambers", {"controller_id": 999, "name": "FV2"}, 404),
        (
            "POST",
            "/api/chambers",
            {"controller_id": controller["id"], "name": "FV2", "beer_setpoint": 111},
            400,
        ),
        ("PATCH", f"/api/chambers/{chamber['id']}", {"beer_setpoint": -6}, 400),
        ("DELETE", f"/api/chambers/{chamber['id']}", None, 409),
        (
            "POST",
            "/api/devices",
            {
                "chamber_id": chamber["id"],
                "name": "Fan",
                "function": "fan",
                "hardware": "pin",
                "address": "3",
            },
            409,
        ),
        (
            "POST",
            "/api/devices",
            {
                "chamber_id": chamber["id"],
                "name": "P",
                "function": "beer_temp",
                "hardware": "onewire",
                "address": "xyz",
            },
            400,
        ),
        ("POST", "/api/profiles", {"name": "Ale"}, 409),
        ("PATCH", f"/api/profiles/{profile['id']}", {"kind": "lager"}, 400),
        ("DELETE", f"/api/profiles/{profile['id']}", None, 409),
        ("PUT", "/api/settings/units", {"value": "K"}, 400),
        ("PATCH", "/api/settings", {"units": "F", "tick_period_s": 0.1}, 400),
        ("PATCH", "/api/settings", {"theme": "light", "nonsense": 1}, 400),
        ("DELETE", "/api/settings/nonsense", None, 404),
    ]
    for method, path, body, status in refusals:
        got, reply = await http(server, method, path, body)
        assert got == status, (method, path, reply)
    assert await client.nothing_within(0.5)
    assert (await get(server, "/api/settings"))["units"] == "C"


@pytest.mark.gen_test
async def test_cascade_delete_announces_the_children_too(server):
    controller = await change(
        server, "POST", "/api/controllers", {"name": "Cellar", "kind": "simulator"}, 201
    )
    chambers = [
        await change(server, "POST", "/api/chambers", {"controller_id": controller["id"], "name": name}, 201)
        for name in ("FV1", "FV2")
    ]
    devices = [
        await change(
            server,
            "POST",
            "/api/devices",
            {
                "chamber_id": chamber["id"],
                "name": name,
                "function": "heat",
                "hardware": "pin",
                "address": pin,
            },
            201,
        )
        for chamber in chambers
        for name, pin in (("Heater", "1"), ("Cooler", "2"))
    ]
    client = await subscriber(server)
    await change(server, "DELETE", f"/api/controllers/{controller['id']}?cascade=true", expected=204)
    received: dict[str, set[int]] = {}
    for _ in range(len(devices) + len(chambers) + 1):
        message = await client.recv()
        assert message["data"]["eventType"] == "delete", message
        received.setdefault(message["channel"], set()).add(message["data"]["id"])
    assert received == {
        "_devices": {device["id"] for device in devices},
        "_chambers": {chamber["id"] for chamber in chambers},
        "_controllers": {controller["id"]},
    }
    assert await client.nothing_within(0.3)
    for path in ("/api/controllers", "/api/chambers", "/api/devices"):
        assert await get(server, path) == []


@pytest.mark.gen_test
async def test_chamber_cascade_delete_announces_its_devices(server):
    controller = await change(
        server, "POST", "/api/controllers", {"name": "Cellar", "kind": "simulator"}, 201
    )
    chamber = await change(
        server, "POST", "/api/chambers", {"controller_id": controller["id"], "name": "FV"}, 201
    )
    device = await change(
        server,
        "POST",
        "/api/devices",
        {"chamber_id": chamber["id"], "name": "Fan", "function": "fan", "hardware": "pin", "address": "9"},
        201,
    )
    client = await subscriber(server, "_chambers", "_devices")
    await change(server, "DELETE", f"/api/chambers/{chamber['id']}?cascade=true", expected=204)
    messages = [await client.recv() for _ in range(2)]
    assert {(m["channel"], m["data"]["eventType"], m["data"]["id"]) for m in messages} == {
        ("_devices", "delete", device["id"]),
        ("_chambers", "delete", chamber["id"]),
    }
    assert await get(server, "/api/devices") == []
    assert await client.nothing_within(0.3)


@pytest.mark.gen_test
async def test_server_owned_channels_cannot_be_published_from_outside(server):
    client = await subscriber(server, "_controllers")
    status, reply = await http(server, "POST", "/api/channels/_controllers", {"eventType": "delete", "id": 1})
    assert status == 403, reply
    publisher = await connect(server)
    reply = await publisher.request(
        {"action": "publish", "channel": "_controllers", "data": {"eventType": "delete", "id": 1}, "id": 7}
    )
    assert reply["id"] == 7 and reply["error"]["code"] == "forbidden", reply
    assert await client.nothing_within(0.3)
