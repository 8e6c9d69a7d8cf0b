"""The real serial driver against `python -m devices.simulator --pty` over a real
pseudo-terminal, the TCP driver against `--tcp`, and unplug/replug of both."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from devices.driver import BoardDriver, BoardUnavailable
from devices.simulator.probes import rom_for
from devices.transport import SerialTransport, TcpTransport

REPO = Path(__file__).resolve().parents[2]
COOLER = {
    "slot": 3,
    "kind": "output",
    "pin": 5,
    "invert": False,
    "min_on_s": 180,
    "min_off_s": 300,
    "group": 1,
    "dead_s": 600,
}
HEATER = {
    "slot": 4,
    "kind": "output",
    "pin": 6,
    "invert": False,
    "min_on_s": 0,
    "min_off_s": 0,
    "group": 1,
    "dead_s": 600,
}


class Simulator:
    def __init__(self, *args):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devices.simulator", *args, "--log-level", "INFO"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.first_line = self.process.stdout.readline().strip()
        assert self.first_line, self.process.stderr.read()

    def next_line(self):
        return self.process.stdout.readline().strip()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def pty_simulator(tmp_path):
    simulator = Simulator("--pty", "--link", str(tmp_path / "ttyACM0"), "--speed", "1", "--seed", "3")
    simulator.link = tmp_path / "ttyACM0"
    yield simulator
    simulator.stop()


@pytest.fixture
def tcp_simulator():
    simulator = Simulator("--tcp", "0", "--speed", "1", "--seed", "3")
    yield simulator
    simulator.stop()


async def exercise(driver):
    """What a host does with a fresh board: identify, scan, configure, read, switch."""
    await driver.wait_online(5)
    assert driver.identity["fw"] == "maelstrom" and driver.identity["proto"] == 1
    hardware = await driver.scan()
    assert rom_for("beer") in hardware["onewire"]
    assert 5 in hardware["pins"] and 6 in hardware["pins"]
    await driver.configure({"slot": 1, "kind": "sensor", "onewire": rom_for("beer"), "offset": 0})
    await driver.configure(COOLER)
    await driver.configure(HEATER)
    reading = await driver.read()
    assert reading.sensors[1] is not None and 0 < reading.sensors[1] < 40
    # min off and the heat/cool dead time count from boot: the compressor is refused, and
    # the board says what holds it longest and for how long
    refused = await driver.set_output(3, True)
    assert (refused.on, refused.why) == (False, "dead_time") and 550 < refused.hold_s <= 600
    heater = await driver.set_output(4, True)
    assert heater.on is False and heater.why == "dead_time"


@pytest.mark.gen_test(timeout=30)
async def test_serial_driver_talks_to_the_simulator_over_a_real_pty(pty_simulator):
    assert pty_simulator.first_line.startswith("/dev/pts/")
    driver = BoardDriver(lambda: SerialTransport(str(pty_simulator.link)), name="sim-uno")
    driver.start()
    try:
        await exercise(driver)
    finally:
        await driver.stop()


@pytest.mark.gen_test(timeout=30)
async def test_tcp_driver_talks_to_the_simulated_spark_core(tcp_simulator):
    host, _, port = tcp_simulator.first_line.rpartition(":")
    driver = BoardDriver(lambda: TcpTransport(host, int(port)), name="sim-spark")
    driver.start()
    try:
        await exercise(driver)
    finally:
        await driver.stop()


async def unplug_and_replug(driver, events):
    await driver.wait_online(5)
    await driver.configure({"slot": 1, "kind": "sensor", "onewire": rom_for("beer"), "offset": 0})
    with pytest.raises(BoardUnavailable):
        await driver.request("x", {"fault": "unplug", "for_s": 1.0})
    assert not driver.online  # noticed at once, not after three timeouts
    assert [e.detail["reason"] for e in events if e.kind == "offline"]
    await driver.wait_online(10)
    reading = await driver.read()
    assert reading.sensors[1] is not None
    assert [e.kind for e in events if e.kind in ("online", "offline")] == ["online", "offline", "online"]


@pytest.mark.gen_test(timeout=30)
async def test_pty_unplug_is_noticed_at_once_and_replug_reconnects(pty_simulator):
    events = []
    driver = BoardDriver(
        lambda: SerialTransport(str(pty_simulator.link)), backoff_s=(0.2, 1.0), on_event=events.append
    )
    driver.start()
    try:
        await unplug_and_replug(driver, events)
    finally:
        await driver.stop()


@pytest.mark.gen_test(timeout=30)
async def test_tcp_reset_is_noticed_at_once_and_the_driver_reconnects(tcp_simulator):
    host, _, port = tcp_simulator.first_line.rpartition(":")
    events = []
    driver = BoardDriver(lambda: TcpTransport(host, int(port)), backoff_s=(0.2, 1.0), on_event=events.append)
    driver.start()
    try:
        await unplug_and_replug(driver, events)
    finally:
        await driver.stop()


@pytest.mark.gen_test(timeout=30)
async def test_board_reboot_is_reported(pty_simulator):
    events = []
    driver = BoardDriver(lambda: SerialTransport(str(pty_simulator.link)), on_event=events.append)
    driver.start()
    try:
        await driver.wait_online(5)
        # the power-on B: line may still sit in the pty when a busy host opens it late
        before = len(events)
        await driver.request("x", {"fault": "reboot"})
        for _ in range(50):
            if any(e.kind == "boot" for e in events[before:]):
                break
            await asyncio.sleep(0.05)
        assert [e.detail for e in events[before:] if e.kind == "boot"] == [{"reason": "watchdog"}]
    finally:
        await driver.stop()
