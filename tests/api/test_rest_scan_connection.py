"""A board's connection on `controller/<id>/connection`, and its hardware scan
(`/api/controllers/<id>/scan`): what it found, the devices on it, live readings of the
sensors no device uses yet, read in free board slots only while the scan is looked at."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import pytest

import app.control.loop as loop
from devices.simulator.probes import rom_for
from tests.helpers import WsClient, connect, http

ROMS = [rom_for("beer"), rom_for("fridge"), rom_for("room")]


async def create(server, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, reply = await http(server, "POST", path, body)
    assert status == 201, reply
    return reply


async def connection_until(client: WsClient, controller_id: int, state: str) -> dict[str, Any]:
    for _ in range(50):
        message = await client.recv(timeout=5)
        if (
            message["channel"] == f"controller/{controller_id}/connection"
            and message["data"]["state"] == state
        ):
            return message["data"]
    raise AssertionError(f"controller {controller_id} never {state}")


async def scan_until(server, controller_id: int, done, timeout_s: float = 8.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        status, scan = await http(server, "GET", f"/api/controllers/{controller_id}/scan")
        assert status == 200, scan
        if done(scan):
            return scan
        assert time.monotonic() < deadline, scan
        await asyncio.sleep(0.3)


def age_s(iso: str) -> float:
    return time.time() - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def board_slots(server, controller_id: int) -> dict[int, Any]:
    """What the simulated board itself has configured (its EEPROM)."""
    transport = server.control.controllers[controller_id].driver._transport
    return dict(transport.board.firmware.slots)


@pytest.mark.gen_test(timeout=30)
async def test_a_board_is_announced_online_then_lost_with_its_last_seen_stored(server):
    client = await connect(server, auth=False)
    controller = await create(server, "/api/controllers", {"name": "Cellar", "kind": "simulator"})
    cid = controller["id"]
    reply = await client.request({"action": "subscribe", "channel": f"controller/{cid}/connection", "id": 1})
    assert reply["id"] == 1, reply
    retained = (reply["result"] or {}).get("retained")
    online = (
        retained
        if retained and retained["state"] == "online"
        else await connection_until(client, cid, "online")
    )
    assert online["board"] == "sim" and online["firmware"] == "1.0.0" and online["reason"] is None
    assert age_s(online["last_seen"]) < 3 and age_s(online["since"]) < 5
    assert (await http(server, "GET", f"/api/controllers/{cid}"))[1]["last_seen"] is None  # stored when lost

    server.control.controllers[cid].driver._link_lost("cable pulled")
    offline = await connection_until(client, cid, "offline")
    assert offline["reason"] == "cable pulled" and offline["board"] is None
    assert age_s(offline["last_seen"]) < 3
    await asyncio.sleep(0.3)  # the stored last seen is written in the background
    stored = (await http(server, "GET", f"/api/controllers/{cid}"))[1]["last_seen"]
    assert stored is not None and abs(age_s(stored) - age_s(offline["last_seen"])) < 0.01
    assert (await connection_until(client, cid, "online"))["reason"] is None  # reconnected with backoff

    status, _ = await http(server, "PATCH", f"/api/controllers/{cid}", {"enabled": False})
    assert status == 200
    assert (await connection_until(client, cid, "disabled"))["last_seen"] is not None
    status, reply = await http(server, "POST", f"/api/controllers/{cid}/scan")
    assert status == 409 and reply["error"]["code"] == "offline", reply
    client.close()


@pytest.mark.gen_test(timeout=30)
async def test_a_scan_finds_the_boards_sensors_and_pins_and_reads_the_unused_sensors(server, monkeypatch):
    controller = await create(server, "/api/controllers", {"name": "Cellar", "kind": "simulator"})
    cid = controller["id"]
    assert (await http(server, "GET", f"/api/controllers/{cid}/scan"))[0] == 404  # never scanned
    assert (await http(server, "POST", "/api/controllers/999/scan"))[0] == 404
    chamber = await create(server, "/api/chambers", {"controller_id": cid, "name": "FV1"})
    heater = await create(
        server,
        "/api/devices",
        {
            "chamber_id": chamber["id"],
            "name": "Heater",
            "function": "heat",
            "hardware": "pin",
            "address": "6",
            "slot": 4,
        },
    )
    deadline = time.monotonic() + 5
    while True:
        status, scan = await http(server, "POST", f"/api/controllers/{cid}/scan")
        if status == 200 or time.monotonic() > deadline:
            break
        assert status == 409, scan  # the simulated board is still connecting
        await asyncio.sleep(0.2)
    assert status == 200, scan
    assert [sensor["address"] for sensor in scan["onewire"]] == ROMS
    assert [pin["pin"] for pin in scan["pins"]] == [2, 3, 4, 5, 6, 7, 8, 9]
    by_pin = {pin["pin"]: pin["devices"] for pin in scan["pins"]}
    assert by_pin[6] == [
        {"id": heater["id"], "chamber_id": chamber["id"], "name": "Heater", "function": "heat"}
    ]
    assert by_pin[5] == []
    assert all(sensor["devices"] == [] for sensor in scan["onewire"])
    # unused sensors go into the free slots 1-3 (4 is the heater's); the next ticks read them
    assert [sensor["slot"] for sensor in scan["onewire"]] == [1, 2, 3]
    scan = await scan_until(server, cid, lambda s: all(x["reading"] is not None for x in s["onewire"]))
    for sensor in scan["onewire"]:
        assert 0 < sensor["reading"] < 40, sensor
    assert age_s(scan["read_at"]) < 3

    # a device on one sensor: it is read in the device's slot, the others move to free ones
    beer = await create(
        server,
        "/api/devices",
        {
            "chamber_id": chamber["id"],
            "name": "Beer",
            "function": "beer_temp",
            "hardware": "onewire",
            "address": ROMS[0],
            "slot": 2,
        },
    )
    scan = await scan_until(server, cid, lambda s: s["onewire"][0]["devices"] != [])
    assert scan["onewire"][0]["devices"] == [
        {"id": beer["id"], "chamber_id": chamber["id"], "name": "Beer", "function": "beer_temp"}
    ]
    assert [sensor["slot"] for sensor in scan["onewire"]] == [2, 1, 3]
    await scan_until(server, cid, lambda s: all(x["reading"] is not None for x in s["onewire"]))

    # nobody looks any more: the probe slots are freed on the board, the device's stay
    monkeypatch.setattr(loop, "READ_WINDOW_S", 0.0)
    await http(server, "GET", f"/api/controllers/{cid}/scan")
    deadline = time.monotonic() + 5
    while set(board_slots(server, cid)) != {2, 4}:
        assert time.monotonic() < deadline, board_slots(server, cid)
        await asyncio.sleep(0.2)
    status, scan = await http(server, "GET", f"/api/controllers/{cid}/scan")
    assert [sensor["slot"] for sensor in scan["onewire"]] == [2, None, None]
    assert scan["onewire"][1]["reading"] is None
