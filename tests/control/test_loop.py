"""The control loop in the real server: a simulator controller configured by REST is read
every tick, its chamber is controlled, and the ticks arrive over a real WebSocket."""

import asyncio
from datetime import datetime

import pytest

from app.control.loop import ControlService
from devices.simulator.probes import rom_for
from tests.helpers import assert_error, chamber_record, connect, http


async def make_chamber(server, mode="beer", speed=10, extra_devices=(), alarm_limits=None):
    _, controller = await http(
        server,
        "POST",
        "/api/controllers",
        {"name": "Sim", "kind": "simulator", "address": f"plant=fridge speed={speed} seed=1"},
    )
    _, chamber = await http(
        server,
        "POST",
        "/api/chambers",
        {
            "controller_id": controller["id"],
            "name": "Ale",
            "mode": mode,
            "beer_setpoint": 18.0,
            "alarm_limits": alarm_limits or {},
        },
    )
    devices = [
        {
            "name": "beer",
            "function": "beer_temp",
            "hardware": "onewire",
            "address": rom_for("beer"),
            "slot": 1,
        },
        {
            "name": "air",
            "function": "fridge_temp",
            "hardware": "onewire",
            "address": rom_for("fridge"),
            "slot": 2,
        },
        {
            "name": "room",
            "function": "room_temp",
            "hardware": "onewire",
            "address": rom_for("room"),
            "slot": 3,
        },
        {
            "name": "compressor",
            "function": "cool",
            "hardware": "pin",
            "address": "5",
            "slot": 4,
            "min_on_s": 180,
            "min_off_s": 300,
        },
        {"name": "heater", "function": "heat", "hardware": "pin", "address": "6", "slot": 5},
        *extra_devices,
    ]
    for device in devices:
        status, reply = await http(server, "POST", "/api/devices", {"chamber_id": chamber["id"], **device})
        assert status == 201, reply
    return chamber


@pytest.mark.gen_test(timeout=60)
async def test_a_simulated_chamber_is_controlled_and_its_ticks_are_published(server):
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "chamber/+/data"})
    await client.request({"action": "subscribe", "channel": "data"})
    chamber = await make_chamber(server)
    snapshot = record = None
    read = 0  # ticks with a beer reading: the first one has no time step for the PIDs yet
    for _ in range(100):
        message = await client.recv(timeout=10)
        if message["channel"] == "data":
            snapshot = message["data"]["chambers"]
        else:
            assert message["channel"] == f"chamber/{chamber['id']}/data"
            record = message["data"]
            assert not (record["heat"] and record["cool"])
            read += record["beer"] is not None
        if snapshot and read >= 2:
            break
    assert [entry["id"] for entry in snapshot] == [chamber["id"]]
    # 20 °C beer, 18 °C wanted: the cooler is wanted, and held by the board's rules from boot
    assert 15 < record["beer"] < 25 and record["beer_set"] == 18.0
    assert record["cool_duty"] > 0 and record["heat_duty"] == 0
    assert record["state"] in ("dead_time", "waiting_min_off", "cooling")
    assert record["holds"].get("cool", 0) > 0 or record["cool"]


SWITCHES = [  # the simulated board's switches (devices/simulator/board.py SWITCH_PINS)
    {"name": "door", "function": "door", "hardware": "pin", "address": "7", "slot": 6},
    {"name": "float", "function": "level_high", "hardware": "pin", "address": "8", "slot": 7},
    {"name": "flame", "function": "pilot_light", "hardware": "pin", "address": "9", "slot": 8},
]
SWITCH_ALARMS = {
    "door_open": ("door", True),
    "high_level": ("level_high", True),
    "pilot_light_out": ("pilot_light", False),
}


async def switch_alarms(server, chamber_id: int) -> dict[str, str]:
    _, alarms = await http(server, "GET", f"/api/alarms?source=chamber/{chamber_id}")
    return {a["code"]: a["state"] for a in alarms if a["code"] in SWITCH_ALARMS}


async def until_alarms(server, chamber_id: int, states: set[str]) -> dict[str, str]:
    for _ in range(80):
        alarms = await switch_alarms(server, chamber_id)
        if len(alarms) == len(SWITCH_ALARMS) and set(alarms.values()) == states:
            return alarms
        await asyncio.sleep(0.25)
    raise AssertionError(f"switch alarms never {states}: {alarms}")


@pytest.mark.gen_test(timeout=90)
async def test_the_simulators_door_level_and_pilot_raise_and_clear_their_alarms_through_the_server(server):
    chamber = await make_chamber(server, extra_devices=SWITCHES, alarm_limits={"switch_delay_s": 1})
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    rest = {"door": False, "level_high": False, "pilot_light": True}
    record = await chamber_record(client, chamber["id"], lambda r: r["switches"] == rest)
    assert record["fan"] is False  # no fan wired: off, like an unwired heater
    assert await switch_alarms(server, chamber["id"]) == {}
    [controller] = server.control.controllers.values()
    for switch, alarm_state in SWITCH_ALARMS.values():  # open the door, raise the level, blow out the pilot
        reply = await controller.driver.request("x", {"switch": switch, "active": alarm_state})
        assert reply.body["switch"] == switch
    await chamber_record(
        client, chamber["id"], lambda r: r["switches"] == {k: not v for k, v in rest.items()}
    )
    raised = await until_alarms(server, chamber["id"], {"active_unacknowledged"})
    assert set(raised) == set(SWITCH_ALARMS)
    for switch, alarm_state in SWITCH_ALARMS.values():  # shut, lower, relight
        await controller.driver.request("x", {"switch": switch, "active": not alarm_state})
    await until_alarms(server, chamber["id"], {"cleared_unacknowledged"})
    await chamber_record(client, chamber["id"], lambda r: r["switches"] == rest)


@pytest.mark.gen_test(timeout=60)
async def test_mode_off_by_rest_stops_the_demand(server):
    client = await connect(server)
    chamber = await make_chamber(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    for _ in range(100):
        record = (await client.recv(timeout=10))["data"]
        if record["cool_duty"] > 0:
            break
    status, _ = await http(server, "PATCH", f"/api/chambers/{chamber['id']}", {"mode": "off"})
    assert status == 200
    for _ in range(100):
        record = (await client.recv(timeout=10))["data"]
        if record["mode"] == "off":
            break
    assert record["state"] == "off" and record["cool_duty"] == 0 and not record["cool"] and not record["heat"]
    # the change is logged (and stored); starting the loop is not a change of mode
    _, entries = await http(server, "GET", f"/api/logs?source=chamber/{chamber['id']}")
    assert [e["message"] for e in entries] == ["Ale: mode beer -> off"]


async def make_profile(server):
    status, profile = await http(
        server,
        "POST",
        "/api/profiles",
        {
            "name": "Ale",
            "kind": "fermentation",
            "points": [
                {"offset_days": 0, "temperature": 18.0},
                {"offset_days": 2, "temperature": 18.0},
                {"offset_days": 3, "temperature": 20.0, "event": "diacetyl rest"},
            ],
        },
    )
    assert status == 201, profile
    return profile


@pytest.mark.gen_test(timeout=90)
async def test_a_profile_starts_part_way_pauses_resumes_and_stops_holding_its_temperature(server):
    chamber = await make_chamber(server)
    profile = await make_profile(server)
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    path = f"/api/chambers/{chamber['id']}"
    status, reply = await http(
        server,
        "PATCH",
        path,
        {
            "mode": "profile",
            "profile_id": profile["id"],
            "profile_command": {"action": "start", "offset_days": 2.5},
        },
    )
    assert status == 200, reply
    assert reply["mode"] == "profile" and reply["profile_state"]["rev"] == 1
    record = await chamber_record(client, chamber["id"], lambda r: r["mode"] == "profile")
    # half way up the 18 -> 20 ramp of day 2..3
    assert record["beer_set"] == pytest.approx(19.0, abs=0.01)
    assert record["profile"]["elapsed_days"] == pytest.approx(2.5, abs=0.001)
    assert record["profile"]["next_event"]["event"] == "diacetyl rest"

    status, _ = await http(server, "PATCH", path, {"profile_command": {"action": "pause"}})
    assert status == 200
    first = await chamber_record(client, chamber["id"], lambda r: r["profile"]["paused"])
    later = await chamber_record(client, chamber["id"], lambda r: r["ts"] > first["ts"])
    assert later["profile"]["elapsed_days"] == first["profile"]["elapsed_days"]
    status, reply = await http(server, "PATCH", path, {"profile_command": {"action": "pause"}})
    assert_error(status, reply, 409)

    status, _ = await http(server, "PATCH", path, {"profile_command": {"action": "resume"}})
    assert status == 200
    await chamber_record(client, chamber["id"], lambda r: not r["profile"]["paused"])

    status, reply = await http(server, "PATCH", path, {"profile_command": {"action": "stop"}})
    assert status == 200, reply
    assert reply["mode"] == "beer" and reply["beer_setpoint"] == pytest.approx(19.0, abs=0.01)
    assert reply["profile_state"] == {}
    record = await chamber_record(client, chamber["id"], lambda r: r["mode"] == "beer")
    assert record["profile"] is None


@pytest.mark.gen_test(timeout=60)
async def test_profile_commands_that_do_not_fit_are_refused_and_change_nothing(server):
    chamber = await make_chamber(server)
    path = f"/api/chambers/{chamber['id']}"
    for command in ({"action": "pause"}, {"action": "resume"}, {"action": "stop"}, {"action": "confirm"}):
        status, reply = await http(server, "PATCH", path, {"profile_command": command})
        assert_error(status, reply, 409)
    status, reply = await http(server, "PATCH", path, {"profile_command": {"action": "start"}})
    assert_error(status, reply, 409)  # no profile chosen
    for command in ({"action": "jump"}, {"action": "start", "offset_days": -1}, {"offset_days": 1}):
        status, reply = await http(server, "PATCH", path, {"profile_command": command})
        assert_error(status, reply, 400)
    _, after = await http(server, "GET", path)
    assert after["mode"] == "beer" and after["profile_state"] == {}


@pytest.mark.gen_test(timeout=120)
async def test_a_lost_beer_probe_switches_control_off_raises_an_alarm_and_control_resumes(server):
    chamber = await make_chamber(server)
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    await chamber_record(
        client, chamber["id"], lambda r: r["beer"] is not None and r["state"] != "board_offline"
    )
    [controller] = server.control.controllers.values()
    await controller.driver.request("x", {"fault": "disconnect", "probe": "beer", "for_s": 200})
    lost = await chamber_record(client, chamber["id"], lambda r: r["state"] == "sensor_lost")
    assert not lost["heat"] and lost["cool_duty"] == 0 and lost["heat_duty"] == 0
    assert lost["sensors"]["beer"]["lost"]
    _, alarms = await http(server, "GET", "/api/alarms")
    [alarm] = [a for a in alarms if a["code"] == "sensor_lost_beer"]
    assert alarm["source"] == f"chamber/{chamber['id']}" and alarm["state"] == "active_unacknowledged"
    back = await chamber_record(client, chamber["id"], lambda r: r["state"] != "sensor_lost", limit=400)
    assert back["beer"] is not None and not back["sensors"]["beer"]["lost"]
    _, alarms = await http(server, "GET", "/api/alarms")
    [alarm] = [a for a in alarms if a["code"] == "sensor_lost_beer"]
    assert alarm["state"] == "cleared_unacknowledged"  # latched until someone acknowledges


@pytest.mark.gen_test(timeout=90)
async def test_a_chambers_own_alarm_limits_raise_and_clear_its_alarms(server):
    chamber = await make_chamber(server)
    path = f"/api/chambers/{chamber['id']}"
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": "alarms"})
    # the simulated beer starts near 20 °C: a 19 °C high limit with no delay alarms at once
    status, reply = await http(
        server, "PATCH", path, {"alarm_limits": {"high_c": 19.0, "absolute_delay_s": 0}}
    )
    assert status == 200, reply
    for _ in range(60):
        items = (await client.recv(timeout=10))["data"].get("alarms", [])
        raised = [a for a in items if a["code"] == "high_temp"]
        if raised:
            break
    assert raised[0]["severity"] == "critical" and raised[0]["state"] == "active_unacknowledged"
    assert raised[0]["source"] == f"chamber/{chamber['id']}"
    status, _ = await http(server, "PATCH", path, {"alarm_limits": {"high_c": 30.0, "absolute_delay_s": 0}})
    assert status == 200
    for _ in range(60):
        items = (await client.recv(timeout=10))["data"].get("alarms", [])
        if any(a["code"] == "high_temp" and a["state"] == "cleared_unacknowledged" for a in items):
            break
    else:
        raise AssertionError("the high alarm never cleared")
    status, reply = await http(server, "PATCH", path, {"alarm_limits": {"compressor_max_run_h": 0}})
    assert_error(status, reply, 400)


@pytest.mark.gen_test(timeout=90)
async def test_a_board_restart_whose_boot_line_was_lost_is_found_from_its_uptime(server):
    # check the uptime every 3 ticks instead of every 60 to keep the test short
    await server.control.stop()
    server.control = ControlService(
        server.sessions, server.db_writer, server.hub, server.alarms, uptime_check_ticks=3
    )
    await server.control.start()
    chamber = await make_chamber(server, speed=1)  # the board's uptime in the host's seconds
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    before = await chamber_record(client, chamber["id"], lambda r: r["holds"].get("cool", 0) > 0)
    for _ in range(4):  # a few uptime checks, so the boot is known
        await chamber_record(client, chamber["id"], lambda r: True)
    [controller] = server.control.controllers.values()
    await controller.driver.request("x", {"fault": "reboot", "announce": False})
    for _ in range(30):
        _, entries = await http(server, "GET", "/api/logs?source=controller/" + str(controller.id))
        noticed = [e for e in entries if "restarted without a B: line" in e["message"]]
        if noticed:
            break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError("the silent restart was not noticed")
    after = await chamber_record(client, chamber["id"], lambda r: r["ts"] > noticed[0]["ts"])
    waited = (datetime.fromisoformat(after["ts"]) - datetime.fromisoformat(before["ts"])).total_seconds()
    # without the re-arm the compressor's hold would have run down by the time waited;
    # re-armed, it counts again from the new boot (host seconds: at least the new dead time)
    assert after["holds"]["cool"] > before["holds"]["cool"] - waited + 2
