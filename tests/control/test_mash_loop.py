"""A mash tun in the real server on the in-process simulated kettle: a mash profile runs
its steps with hold-after-reach and a confirm step, and a restart of the control loop keeps
the step's hold progress."""

import asyncio
import functools

import pytest

from app.control.loop import ControlService
from devices.simulator.probes import rom_for
from tests.helpers import assert_error, chamber_record, connect, http


async def make_mash_tun(server):
    _, controller = await http(
        server,
        "POST",
        "/api/controllers",
        {"name": "Kettle", "kind": "simulator", "address": "plant=kettle speed=20 seed=2"},
    )
    status, profile = await http(
        server,
        "POST",
        "/api/profiles",
        {
            "name": "Quick mash",
            "kind": "mash",
            "steps": [
                {"name": "Warm", "temperature": 24.0, "hold_min": 30},
                {"name": "Dough in", "temperature": 24.0, "hold_min": 0, "confirm": True},
            ],
        },
    )
    assert status == 201, profile
    status, chamber = await http(
        server,
        "POST",
        "/api/chambers",
        {
            "controller_id": controller["id"],
            "name": "Mash tun",
            "kind": "mash",
            "mode": "off",
            "profile_id": profile["id"],
        },
    )
    assert status == 201, chamber
    for device in (
        {
            "name": "vessel",
            "function": "beer_temp",
            "hardware": "onewire",
            "address": rom_for("vessel"),
            "slot": 1,
        },
        {"name": "element", "function": "heat", "hardware": "pin", "address": "6", "slot": 2},
    ):
        status, reply = await http(server, "POST", "/api/devices", {"chamber_id": chamber["id"], **device})
        assert status == 201, reply
    return chamber


record_where = functools.partial(chamber_record, limit=600)  # a mash heats for a while


def phase(record):
    return (record["profile"] or {}).get("phase")


@pytest.mark.gen_test(timeout=150)
async def test_a_mash_step_holds_after_reaching_its_temperature_and_keeps_its_progress_over_a_restart(server):
    chamber = await make_mash_tun(server)
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    status, reply = await http(server, "PATCH", f"/api/chambers/{chamber['id']}", {"mode": "profile"})
    assert status == 200 and reply["profile_state"]["kind"] == "mash", reply
    # the vessel starts at the room's ~20 °C: the element heats and the hold has not started
    heating = await record_where(
        client, chamber["id"], lambda r: phase(r) == "heating" and r["beer"] is not None
    )
    assert heating["heat_duty"] > 0 and heating["profile"]["hold_remaining_s"] == 1800
    holding = await record_where(client, chamber["id"], lambda r: phase(r) == "holding")
    assert abs(holding["beer"] - 24.0) <= 0.5
    # the hold counts wall seconds (the simulated kettle runs faster; the mash clock does not)
    later = await record_where(client, chamber["id"], lambda r: r["profile"]["hold_remaining_s"] <= 1800 - 12)
    done_before = 1800 - later["profile"]["hold_remaining_s"]

    # the control loop restarts (as after a power cut): the step and its hold progress are kept
    await server.control.stop()
    server.control = ControlService(server.sessions, server.db_writer, server.hub, server.alarms)
    await server.control.start()
    resumed = await record_where(client, chamber["id"], lambda r: r["profile"] is not None)
    assert resumed["profile"]["step"] == "Warm"
    # progress since the last save (at most 10 s) may be lost; never more, and never gained
    assert done_before - 11 <= 1800 - resumed["profile"]["hold_remaining_s"] <= done_before + 1
    assert 1800 - resumed["profile"]["hold_remaining_s"] > 0


@pytest.mark.gen_test(timeout=150)
async def test_a_confirm_step_waits_for_the_brewer(server):
    chamber = await make_mash_tun(server)
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    path = f"/api/chambers/{chamber['id']}"
    status, reply = await http(server, "PATCH", path, {"profile_command": {"action": "confirm"}})
    assert_error(status, reply, 409)  # nothing runs yet
    # a profile without the long first step: start at the confirm step right away
    status, profile = await http(
        server,
        "POST",
        "/api/profiles",
        {
            "name": "Confirm first",
            "kind": "mash",
            "steps": [
                {"name": "Add grain", "temperature": 24.0, "hold_min": 0, "confirm": True},
                {"name": "Rest", "temperature": 24.0, "hold_min": 60},
            ],
        },
    )
    assert status == 201
    status, _ = await http(server, "PATCH", path, {"mode": "profile", "profile_id": profile["id"]})
    assert status == 200
    waiting = await record_where(client, chamber["id"], lambda r: phase(r) == "waiting_confirm")
    assert waiting["profile"]["step"] == "Add grain" and waiting["heat_duty"] == 0  # no previous step: off
    for _ in range(20):  # the loop stores that the step waits within a tick or two
        _, row = await http(server, "GET", path)
        if row["profile_state"].get("awaiting_confirm"):
            break
        await asyncio.sleep(0.2)
    status, reply = await http(server, "PATCH", path, {"profile_command": {"action": "confirm"}})
    assert status == 200, reply
    after = await record_where(client, chamber["id"], lambda r: phase(r) in ("heating", "holding"))
    assert after["profile"]["step"] in ("Add grain", "Rest")
    status, reply = await http(server, "PATCH", path, {"profile_command": {"action": "stop"}})
    assert status == 200 and reply["mode"] == "off"  # a vessel's heater never stays on after a stop
