"""End to end: the real server and its real serial driver control the simulated board
running as its own process on a pseudo-terminal, 20 times faster than real time. The
board's own pin-edge log is audited afterwards: no min on/off or dead-time violation, never
heater and cooler together, the fan with the compressor and its after-run, and everything
off when the server stops."""

import asyncio
import contextlib
import functools
import json
import subprocess
import sys
import time

import pytest

from app.control.loop import ControlService
from app.db.models import Controller
from bench.audit import RelayLimits, Trace, both_on_seconds, dead_time_violations, min_time_violations
from devices.driver import BoardUnavailable
from devices.simulator.probes import rom_for
from tests.helpers import REPO, chamber_record, connect, http

SPEED = 20
DEAD_S = 300  # shorter than the default 600 s to keep the test short; audited as configured
FAN_AFTER_S = 60


@pytest.fixture
def simulator(tmp_path):
    edges = tmp_path / "edges.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "devices.simulator", "--pty", "--speed", str(SPEED), "--seed", "3"]
        + ["--edges", str(edges)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    pty_path = process.stdout.readline().strip()
    assert pty_path.startswith("/dev/"), pty_path
    yield pty_path, edges
    process.terminate()
    process.wait(10)


def read_edges(path):
    roles = {5: "cool", 6: "heat", 4: "fan"}
    edges = [json.loads(line) for line in path.read_text().splitlines()]
    return [(edge["t"], roles[edge["pin"]], edge["on"]) for edge in edges]


wait_record = functools.partial(chamber_record, limit=400)


@pytest.mark.gen_test(timeout=180)
async def test_the_server_drives_a_serial_board_within_every_relay_rule(server, simulator):
    pty_path, edges_path = simulator
    # the control loop keeps pace with the simulated board: one simulated second per tick
    await server.control.stop()
    started = time.monotonic()
    server.control = ControlService(
        server.sessions,
        server.db_writer,
        server.hub,
        server.alarms,
        tick_period_s=1 / SPEED,
        clock=lambda: started + (time.monotonic() - started) * SPEED,
    )
    await server.control.start()
    _, controller = await http(
        server, "POST", "/api/controllers", {"name": "Uno", "kind": "arduino", "address": pty_path}
    )
    status, chamber = await http(
        server,
        "POST",
        "/api/chambers",
        {
            "controller_id": controller["id"],
            "name": "Lager",
            "mode": "beer",
            "beer_setpoint": 10.0,
            "tuning": {"dead_s": DEAD_S, "direction_hold_s": 0, "fan_after_s": FAN_AFTER_S},
        },
    )
    assert status == 201, chamber
    sensors = [("beer", "beer_temp", 1), ("fridge", "fridge_temp", 2), ("room", "room_temp", 3)]
    devices = [
        {"name": probe, "function": function, "hardware": "onewire", "address": rom_for(probe), "slot": slot}
        for probe, function, slot in sensors
    ] + [
        {"name": "compressor", "function": "cool", "hardware": "pin", "address": "5", "slot": 4},
        {"name": "heater", "function": "heat", "hardware": "pin", "address": "6", "slot": 5},
        {"name": "fan", "function": "fan", "hardware": "pin", "address": "4", "slot": 6},
    ]
    for device in devices:
        status, reply = await http(server, "POST", "/api/devices", {"chamber_id": chamber["id"], **device})
        assert status == 201, reply
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})

    # 20 °C beer, 10 °C wanted: the compressor starts once min off and dead time from boot allow
    await wait_record(client, chamber["id"], lambda r: r["cool"])
    # now a warm setpoint: the compressor stops after its min on, the heater waits the dead time
    status, _ = await http(server, "PATCH", f"/api/chambers/{chamber['id']}", {"beer_setpoint": 30.0})
    assert status == 200
    await wait_record(
        client, chamber["id"], lambda r: not r["cool"] and r["state"] in ("dead_time", "heating", "idle")
    )
    await wait_record(client, chamber["id"], lambda r: r["heat"])
    await server.control.stop()  # the server stops: every output commanded off first

    for _ in range(100):  # the simulator appends each edge within a few ms
        edges = read_edges(edges_path)
        if len(edges) >= 6 and not edges[-1][2]:
            break
        await asyncio.sleep(0.05)
    fan = [(t, on) for t, output, on in edges if output == "fan"]
    edges = [edge for edge in edges if edge[1] != "fan"]
    # the heater is time-proportioned on a 10 s window: it may have cycled since
    assert [(output, on) for _, output, on in edges[:3]] == [("cool", True), ("cool", False), ("heat", True)]
    assert {output for _, output, _ in edges[3:]} <= {"heat"} and edges[-1][1:] == ("heat", False)
    end = edges[-1][0] + 1
    trace = Trace(
        dt_s=1.0,
        t=[0.0, end],
        beer_c=[20.0, 20.0],
        setpoint_c=[None, None],
        edges=edges,
        limits=RelayLimits(dead_s=DEAD_S),
    )
    assert min_time_violations(trace).value == 0
    assert dead_time_violations(trace).value == 0
    assert both_on_seconds(trace).value == 0
    cool_on, cool_off, heat_on = edges[0][0], edges[1][0], edges[2][0]
    assert cool_on >= 300 and cool_off - cool_on >= 180 and heat_on - cool_off >= DEAD_S
    # the fan came on in the compressor's tick and ran FAN_AFTER_S after it, never holding
    # back the heater (its slot is in no interlock group); one simulated second is one tick
    assert [on for _, on in fan] == [True, False], fan
    (fan_on, _), (fan_off, _) = fan
    assert abs(fan_on - cool_on) <= 1.5 and abs(fan_off - (cool_off + FAN_AFTER_S)) <= 1.5


@pytest.fixture
def linked_simulator(tmp_path):
    link = tmp_path / "ttyACM-sim"
    process = subprocess.Popen(
        [sys.executable, "-m", "devices.simulator", "--pty", "--link", str(link), "--seed", "3"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if link.exists():
            break
        time.sleep(0.05)
    yield link
    process.terminate()
    process.wait(10)


async def open_alarms(server, code):
    _, alarms = await http(server, "GET", "/api/alarms")
    return [alarm for alarm in alarms if alarm["code"] == code]


@pytest.mark.gen_test(timeout=120)
async def test_a_pulled_board_raises_an_alarm_reconnects_and_control_resumes(server, linked_simulator):
    # the link is a path under tmp; the API takes serial ports under /dev only, so the
    # controller is made with a /dev path and pointed at the link directly in the database
    _, controller = await http(
        server, "POST", "/api/controllers", {"name": "Uno", "kind": "arduino", "address": "/dev/ttyACM9"}
    )
    with server.sessions.begin() as session:
        session.get(Controller, controller["id"]).address = str(linked_simulator)
    server.control.deliver(None)  # as a change event would
    status, chamber = await http(
        server,
        "POST",
        "/api/chambers",
        {"controller_id": controller["id"], "name": "Ale", "mode": "beer", "beer_setpoint": 19.0},
    )
    assert status == 201
    status, _ = await http(
        server,
        "POST",
        "/api/devices",
        {
            "chamber_id": chamber["id"],
            "name": "beer",
            "function": "beer_temp",
            "hardware": "onewire",
            "address": rom_for("beer"),
            "slot": 1,
        },
    )
    assert status == 201
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})
    await wait_record(
        client, chamber["id"], lambda r: r["beer"] is not None and r["state"] != "board_offline"
    )
    [runtime] = server.control.controllers.values()
    with contextlib.suppress(BoardUnavailable):  # the link may drop before the reply
        await runtime.driver.request("x", {"fault": "unplug", "for_s": 13})
    await wait_record(client, chamber["id"], lambda r: r["state"] == "board_offline")
    for _ in range(40):
        if await open_alarms(server, "board_silent"):
            break
        await asyncio.sleep(0.5)
    [alarm] = await open_alarms(server, "board_silent")
    assert alarm["state"] == "active_unacknowledged"
    # back online; the beer probe counts again after three valid readings in a row
    await wait_record(client, chamber["id"], lambda r: r["state"] != "board_offline", limit=120)
    back = await wait_record(client, chamber["id"], lambda r: r["beer"] is not None, limit=20)
    assert back["state"] not in ("board_offline", "sensor_lost")
    [alarm] = await open_alarms(server, "board_silent")
    assert alarm["state"] == "cleared_unacknowledged"
