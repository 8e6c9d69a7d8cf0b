"""Nothing in one chamber stops another and nothing stalls the loop: a hung board, a
failing side effect, a chamber whose control raises, another process holding SQLite's
write lock. Real server, real simulated boards, real WebSocket clients."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import datetime

import pytest

from app.control.tick import deadman_timeout_s
from devices.simulator.probes import rom_for
from tests.api.test_rest_writes_off_loop import Locker
from tests.helpers import chamber_record, connect, http

DEVICES = [
    ("beer", "beer_temp", "onewire", rom_for("beer"), 1, 0, 0),
    ("air", "fridge_temp", "onewire", rom_for("fridge"), 2, 0, 0),
    ("compressor", "cool", "pin", "5", 4, 180, 300),
    ("heater", "heat", "pin", "6", 5, 0, 0),
]


async def simulated_chamber(server, name: str) -> dict:
    _, controller = await http(
        server,
        "POST",
        "/api/controllers",
        {"name": name, "kind": "simulator", "address": "plant=fridge speed=1"},
    )
    status, chamber = await http(
        server,
        "POST",
        "/api/chambers",
        {"controller_id": controller["id"], "name": f"{name} FV", "mode": "beer", "beer_setpoint": 18.0},
    )
    assert status == 201, chamber
    for device, function, hardware, address, slot, min_on_s, min_off_s in DEVICES:
        body = {
            "chamber_id": chamber["id"],
            "name": device,
            "function": function,
            "hardware": hardware,
            "address": address,
            "slot": slot,
            "min_on_s": min_on_s,
            "min_off_s": min_off_s,
        }
        status, reply = await http(server, "POST", "/api/devices", body)
        assert status == 201, reply
    return chamber


async def tick_times(client, chamber_id: int, seconds: float) -> list[float]:
    """Arrival times (monotonic) of `chamber/<id>/data` records over `seconds`."""
    arrivals = []
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        message = await client.recv(timeout=10)
        if message["channel"] == f"chamber/{chamber_id}/data":
            arrivals.append(time.monotonic())
    return arrivals


def largest_gap(times: list[float]) -> float:
    return max(b - a for a, b in zip(times, times[1:], strict=False))


async def open_alarms(server, code: str) -> list[dict]:
    _, alarms = await http(server, "GET", "/api/alarms")
    return [alarm for alarm in alarms if alarm["code"] == code and alarm["state"].startswith("active")]


def controller_of(server, chamber_id: int):
    return next(c for c in server.control.controllers.values() if chamber_id in c.chambers)


def test_the_dead_man_follows_the_tick_period():
    # at least three ticks and at least 20 s, at most the board's 600 s
    assert deadman_timeout_s(0.5) == 20
    assert deadman_timeout_s(1.0) == 20
    assert deadman_timeout_s(10.0) == 30
    assert deadman_timeout_s(60.0) == 180
    assert all(deadman_timeout_s(p / 10) >= 3 * p / 10 for p in range(5, 601))


@pytest.mark.gen_test(timeout=90)
async def test_a_hung_board_never_delays_another_controllers_ticks(server):
    hung, healthy = await simulated_chamber(server, "A"), await simulated_chamber(server, "B")
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "chamber/+/data"})
    for chamber in (hung, healthy):
        await chamber_record(client, chamber["id"], lambda r: r["beer"] is not None)
    # board A stops answering mid-conversation: every request waits out its timeout
    transport = controller_of(server, hung["id"]).driver._transport
    transport.write = lambda data: None
    arrivals = await tick_times(client, healthy["id"], 6.0)
    # waiting on A's 1 s request timeout would make B's gaps 2 s; half of that is slack
    # for a loaded machine, not a blocked tick
    assert len(arrivals) >= 5 and largest_gap(arrivals) < 1.0 + 0.5


@pytest.mark.gen_test(timeout=90)
async def test_a_failing_side_effect_raises_internal_error_and_control_goes_on(server):
    chamber = await simulated_chamber(server, "A")
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "data"})
    controller = controller_of(server, chamber["id"])
    ports = controller.tick.ports

    def broken_publish(channel, data):
        if channel.startswith("chamber/"):
            raise RuntimeError("disk on fire")
        ports.publish(channel, data)

    controller.tick.ports = dataclasses.replace(ports, publish=broken_publish)
    for _ in range(40):
        if await open_alarms(server, "internal_error"):
            break
        await asyncio.sleep(0.25)
    [alarm] = await open_alarms(server, "internal_error")
    assert alarm["source"] == f"controller/{controller.id}" and "publish" in alarm["message"]
    # control went on: the snapshot still carries fresh ticks of the chamber
    seen = []
    while len(seen) < 3:
        message = await client.recv(timeout=10)
        if message["channel"] == "data":
            seen.append(message["data"]["chambers"][0])
    assert seen[-1]["beer"] is not None
    controller.tick.ports = ports
    for _ in range(40):
        if not await open_alarms(server, "internal_error"):
            break
        await asyncio.sleep(0.25)
    assert not await open_alarms(server, "internal_error")


@pytest.mark.gen_test(timeout=90)
async def test_a_chamber_whose_control_raises_is_switched_off_and_the_others_go_on(server):
    broken, fine = await simulated_chamber(server, "A"), await simulated_chamber(server, "B")
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "chamber/+/data"})
    await chamber_record(client, broken["id"], lambda r: r["beer"] is not None)
    runtime = controller_of(server, broken["id"]).chambers[broken["id"]]

    def explode(*args, **kwargs):
        raise ZeroDivisionError("a bad value")

    runtime.control.tick = explode
    failed = await chamber_record(client, broken["id"], lambda r: r["state"] == "control_failed")
    assert not failed["heat"] and not failed["cool"]
    after = await chamber_record(client, fine["id"], lambda r: r["ts"] > failed["ts"])
    assert after["state"] != "control_failed" and after["beer"] is not None
    for _ in range(20):
        alarms = await open_alarms(server, "control_failed")
        if alarms:
            break
        await asyncio.sleep(0.25)
    assert [a["source"] for a in alarms] == [f"chamber/{broken['id']}"]
    assert "a bad value" in alarms[0]["message"]


@pytest.mark.gen_test(timeout=120)
async def test_ticks_stay_on_time_while_another_process_holds_the_write_lock(server):
    chamber = await simulated_chamber(server, "A")
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    await chamber_record(client, chamber["id"], lambda r: r["beer"] is not None)
    locker = await Locker.hold(server, 5.0)
    started = time.monotonic()
    status, _ = await http(
        server,
        "POST",
        "/api/channels/logs",
        {"entries": [{"source": "script", "level": "info", "msg": "one"}]},
    )
    answered_s = time.monotonic() - started
    assert status == 200 and answered_s < 0.2  # it was 4.05 s with the log written on the loop
    await http(
        server,
        "POST",
        "/api/channels/logs",
        {"entries": [{"source": "script", "level": "info", "msg": "two"}]},
    )
    arrivals = await tick_times(client, chamber["id"], 3.5)
    assert time.monotonic() < await locker.released()  # all of it while the lock was held
    assert largest_gap(arrivals) < 1.0 + 0.1  # tick lateness under 100 ms
    _, entries = await http(server, "GET", "/api/logs?source=script")
    assert [e["message"] for e in entries] == ["two", "one"]  # landed afterwards, in order
    stamps = [datetime.fromisoformat(e["ts"].replace("Z", "+00:00")) for e in entries]
    assert stamps[0] >= stamps[1]
