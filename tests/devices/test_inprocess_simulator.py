"""A `simulator` controller: the driver talks to an in-process simulated board; and the
same board on a virtual clock runs days of plant time in a test."""

import asyncio

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
