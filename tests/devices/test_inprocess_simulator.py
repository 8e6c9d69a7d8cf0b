"""A `simulator` controller: the driver talks to an in-process simulated board; and the
same board on a virtual clock runs days of plant time in a test."""

import asyncio
import json

import pytest

from devices.driver import BoardDriver
from devices.simulator.board import SimulatedBoard
from devices.simulator.inprocess import parse_options
from devices.simulator.probes import rom_for
from devices.transport import transport_for
from tests.devices.test_simulator_links import COOLER


@pytest.mark.gen_test(timeout=20)
async def test_driver_runs_a_simulator_controller_in_process():
    events = []
    driver = BoardDriver(
        lambda: transport_for("simulator", "plant=fridge speed=600 seed=2"), on_event=events.append
    )
    driver.start()
    try:
        await driver.wait_online(5)
        assert driver.identity["board"] == "sim"
        await driver.configure({"slot": 1, "kind": "sensor", "onewire": rom_for("beer"), "offset": 0})
        await driver.configure(COOLER)
        reading = await driver.read()
        assert 15 < reading.sensors[1] < 25
        # at 600x, the 600 s dead time from boot passes in about a second of wall time
        for _ in range(40):
            state = await driver.set_output(3, True)
            if state.on:
                break
            await driver.feed_deadman(60)
            await asyncio.sleep(0.1)
        assert state.on
    finally:
        await driver.stop()


@pytest.mark.parametrize("bad", ["plant=brewery", "speed=0", "speed=fast", "colour=red", "plant"])
def test_bad_simulator_options_are_refused(bad):
    with pytest.raises(ValueError):
        parse_options(bad)


def test_cooling_on_the_virtual_clock_pulls_the_beer_down_and_every_edge_is_recorded():
    board = SimulatedBoard("fridge", seed=1, initial_beer_c=20.0)
    board.handle(b'c{"slot":1,"kind":"sensor","onewire":"%s","offset":0}' % rom_for("beer").encode())
    board.handle(
        b'c{"slot":3,"kind":"output","pin":5,"invert":false,"min_on_s":180,"min_off_s":300,'
        b'"group":1,"dead_s":600}'
    )
    board.advance(600)
    assert board.handle(b'o{"slot":3,"on":true}')[0].startswith(b'O:{"slot":3,"on":true')
    board.advance(2 * 86400)  # two simulated days of full cooling
    beer = board.plant.temperatures()["beer"]
    assert beer < 5.0
    assert [(edge.pin, edge.on) for edge in board.firmware.edges] == [(5, True)]


INPUTS = [
    b'c{"slot":6,"kind":"input","pin":7}',  # door contact
    b'c{"slot":7,"kind":"input","pin":8}',  # high-level float switch
    b'c{"slot":8,"kind":"input","pin":9}',  # flame sensor
]


def _inputs(board: SimulatedBoard) -> dict[str, bool]:
    (reply,) = board.handle(b"t")
    return json.loads(reply[2:])["i"]


@pytest.mark.parametrize("plant", ["fridge", "kettle"])
def test_the_simulated_switches_read_on_their_pins_and_are_set_by_x_commands(plant):
    board = SimulatedBoard(plant, seed=1)
    for line in INPUTS:
        assert board.handle(line)[0].startswith(b"C:")
    assert _inputs(board) == {"6": False, "7": False, "8": True}  # door shut, level low, pilot lit
    for switch, active in (("door", True), ("level_high", True), ("pilot_light", False)):
        reply = board.handle(
            b'x{"switch":"%s","active":%s}' % (switch.encode(), b"true" if active else b"false")
        )
        assert json.loads(reply[0][2:]) == {"switch": switch, "active": active, "for_s": None}
    board.advance(3600)  # set without for_s: they stay so until set back
    assert _inputs(board) == {"6": True, "7": True, "8": False}
    assert board.snapshot()["switches"] == {"door": True, "level_high": True, "pilot_light": False}
    board.set_switch("door", False)
    board.set_switch("level_high", False)
    board.set_switch("pilot_light", True)
    assert _inputs(board) == {"6": False, "7": False, "8": True}
    # timed: the pilot out for 30 s, the door open for 60 s (the door fault does the same)
    board.set_switch("pilot_light", False, for_s=30)
    board.inject("door", for_s=60)
    board.advance(29)
    assert _inputs(board) == {"6": True, "7": False, "8": False}
    board.advance(1)
    assert _inputs(board) == {"6": True, "7": False, "8": True}
    board.advance(30)
    assert _inputs(board) == {"6": False, "7": False, "8": True}


def test_the_open_door_of_the_fridge_is_its_plants_door_with_the_air_exchange():
    board = SimulatedBoard("fridge", seed=1)
    board.set_switch("door", True)
    assert board.plant.door_open
    board.advance(600)
    assert board.plant.door_open  # open until shut
    board.set_switch("door", False)
    assert not board.plant.door_open and board.plant.door_energy_j != 0


@pytest.mark.parametrize(
    "line",
    [
        b'x{"switch":"flood","active":true}',
        b'x{"switch":"door","active":1}',
        b'x{"switch":"door"}',
        b'x{"switch":"door","active":true,"for_s":-1}',
        b'x{"switch":"door","active":true,"for_s":"60"}',
        b'x{"switch":"door","active":true,"colour":"red"}',
        b'x{"switch":"door","active":true,"for_s":1e999}',
    ],
)
def test_a_bad_switch_command_is_refused_and_changes_nothing(line):
    board = SimulatedBoard("fridge", seed=1)
    before = board.snapshot()["switches"]
    (reply,) = board.handle(line)
    assert reply.startswith(b"E:"), reply
    assert board.snapshot()["switches"] == before
