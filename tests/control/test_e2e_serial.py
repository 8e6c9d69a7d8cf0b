"""End to end: the real server and its real serial driver control the simulated board
running as its own process on a pseudo-terminal, 20 times faster than real time. The
board's own pin-edge log is audited afterwards: no min on/off or dead-time violation, never
heater and cooler together, and everything off when the server stops."""

import asyncio
import json
import subprocess
import sys
import time

import pytest

from app.control.audit import RelayLimits, Trace, both_on_seconds, dead_time_violations, min_time_violations
from app.control.loop import ControlService
from devices.simulator.probes import rom_for
from tests.helpers import REPO, connect, http

SPEED = 20
DEAD_S = 300  # shorter than the default 600 s to keep the test short; audited as configured


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
    roles = {5: "cool", 6: "heat"}
    edges = [json.loads(line) for line in path.read_text().splitlines()]
    return [(edge["t"], roles[edge["pin"]], edge["on"]) for edge in edges]


async def wait_record(client, until, limit=400):
    for _ in range(limit):
        record = (await client.recv(timeout=10))["data"]
        if until(record):
            return record
    raise AssertionError("condition never met")


@pytest.mark.gen_test(timeout=180)
async def test_the_server_drives_a_serial_board_within_every_relay_rule(server, simulator):
    pty_path, edges_path = simulator
    # the control loop keeps pace with the simulated board: one simulated second per tick
    await server.control.stop()
    started = time.monotonic()
    server.control = ControlService(
        server.sessions,
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
            "tuning": {"dead_s": DEAD_S, "direction_hold_s": 0},
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
    ]
    for device in devices:
        status, reply = await http(server, "POST", "/api/devices", {"chamber_id": chamber["id"], **device})
        assert status == 201, reply
    client = await connect(server)
    await client.request({"action": "subscribe", "channel": f"chamber/{chamber['id']}/data"})

    # 20 °C beer, 10 °C wanted: the compressor starts once min off and dead time from boot allow
    await wait_record(client, lambda r: r["cool"])
    # now a warm setpoint: the compressor stops after its min on, the heater waits the dead time
    status, _ = await http(server, "PATCH", f"/api/chambers/{chamber['id']}", {"beer_setpoint": 30.0})
    assert status == 200
    await wait_record(client, lambda r: not r["cool"] and r["state"] in ("dead_time", "heating", "idle"))
    await wait_record(client, lambda r: r["heat"])
    await server.control.stop()  # the server stops: every output commanded off first

    for _ in range(100):  # the simulator appends each edge within a few ms
        edges = read_edges(edges_path)
        if len(edges) >= 4:
            break
        await asyncio.sleep(0.05)
    assert [(output, on) for _, output, on in edges] == [
        ("cool", True),
        ("cool", False),
        ("heat", True),
        ("heat", False),
    ]
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
