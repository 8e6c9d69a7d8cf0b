"""Switch inputs and the fan, through the shipped tick on a simulated board on a virtual
clock (`bench.virtual_host.VirtualHost`): the board reads its switches, the host debounces
them, publishes them in the tick record and raises the original Maelstrom's alarms after
`switch_delay_s`; a fan runs with the compressor and `fan_after_s` after it."""

from __future__ import annotations

from app.control.chamber import FermenterTuning
from app.control.outputs import Follower
from app.control.profiles import Point, Step
from app.control.runtime import ChamberRuntime, slot_configs
from app.control.switches import DEBOUNCE_READS, Debounced, Switches
from app.db.models import Device
from bench.virtual_host import EPOCH, FRIDGE_PINS, VirtualHost, fermenter_rows, kettle_rows, run_async
from devices.simulator.board import SWITCH_PINS, SimulatedBoard

TICK_S = 1.0
DELAY_S = 30.0  # AlarmLimits.switch_delay_s, the default


# -- debounce and the follower, alone -----------------------------------------------------------
def test_a_switch_counts_once_it_read_the_same_twice_and_a_missing_reading_keeps_it():
    switch = Debounced()
    assert DEBOUNCE_READS == 2
    assert switch.update(True) is None  # one reading is not a state yet
    assert switch.update(True) is True
    assert switch.update(False) is True  # a bounce
    assert switch.update(True) is True
    assert switch.update(False) is True
    assert switch.update(None) is True  # not read: the state stays, the count starts again
    assert switch.update(False) is True
    assert switch.update(False) is False
    assert [switch.update(None) for _ in range(5)] == [False] * 5


def test_two_devices_of_one_function_report_the_alarm_state_if_either_is_in_it():
    switches = Switches([("door", 1), ("door", 2), ("pilot_light", 3), ("pilot_light", 4)])
    assert switches.states() == {"door": None, "pilot_light": None}
    for _ in range(2):
        switches.update({1: False, 2: True, 3: True, 4: False})
    assert switches.states() == {"door": True, "pilot_light": False}
    for _ in range(2):
        switches.update({1: False, 2: False, 3: True, 4: True})
    assert switches.states() == {"door": False, "pilot_light": True}


def test_the_follower_runs_with_its_leader_and_after_s_after_it_within_its_own_min_times():
    fan = Follower("fan", boot_time=0.0, after_s=180.0, min_on_s=0.0, min_off_s=60.0)
    assert not fan.decide(False, 10.0)  # never ran: nothing to run after
    assert fan.decide(True, 100.0)
    assert fan.decide(True, 400.0)
    assert fan.decide(False, 401.0)  # the compressor stopped now
    assert fan.decide(False, 580.0)
    assert not fan.decide(False, 581.0)  # 180 s after
    assert not fan.decide(True, 600.0)  # its own min off (60 s) holds it back ...
    assert fan.relay.held_by == "min_off"
    assert fan.decide(True, 641.0)  # ... until it has passed
    fan.after_s = 0.0  # a tuning change takes effect at once
    assert not fan.decide(False, 700.0)


# -- what the host asks of the board --------------------------------------------------------------
def test_input_devices_get_input_slots_and_the_fan_is_in_no_interlock_group():
    row, _ = fermenter_rows(
        [Point(0, 19.0)], FermenterTuning(), EPOCH, fan=True, switches=["door", "level_high"]
    )
    row.devices[-1].invert = True
    runtime = ChamberRuntime(row, 0.0, lambda *args: None)
    configs = slot_configs([row], {row.id: runtime})
    assert configs[7] == {"slot": 7, "kind": "input", "pin": SWITCH_PINS["door"], "invert": False}
    assert configs[8] == {"slot": 8, "kind": "input", "pin": SWITCH_PINS["level_high"], "invert": True}
    assert (configs[4]["group"], configs[5]["group"]) == (1, 1)  # heater and compressor interlocked
    assert (configs[6]["pin"], configs[6]["group"], configs[6]["dead_s"]) == (FRIDGE_PINS["fan"], 0, 0)
    assert runtime.wiring.switches == (("door", 7), ("level_high", 8))


def test_fan_after_s_is_a_tuning_key_that_applies_in_place():
    row, _ = fermenter_rows([Point(0, 19.0)], FermenterTuning(fan_after_s=90.0), EPOCH, fan=True)
    runtime = ChamberRuntime(row, 0.0, lambda *args: None)
    fan = runtime.fan
    assert fan is not None and fan.after_s == 90.0
    row.tuning = {"fan_after_s": 30}
    runtime.configure(row, None, 1.0, EPOCH + 1)
    assert runtime.fan is fan and fan.after_s == 30.0  # the same relay: its min times carry on
    row.tuning = {"fan_after_s": 3601}
    runtime.configure(row, None, 2.0, EPOCH + 2)
    assert runtime.failed and "tuning.fan_after_s" in runtime.failure_finding().message


# -- the shipped tick on the simulated board ------------------------------------------------------
async def _ticks(host: VirtualHost, seconds: float) -> None:
    for _ in range(round(seconds / TICK_S)):
        await host.step(TICK_S)


def _events(host: VirtualHost, code: str) -> list[tuple[str, float]]:
    """(event, time on the board's clock) of each change of alarm `code`."""
    return [
        (
            change.event,
            (change.alarm.cleared_at if change.event == "cleared" else change.alarm.raised_at) - EPOCH,
        )
        for change in host.alarm_changes
        if change.alarm.code == code
    ]


async def _raise_and_clear(host: VirtualHost, code: str, switch: str, alarm_state: bool) -> None:
    """Put `switch` in its alarm state: the state counts at the second reading, the alarm
    rises `DELAY_S` after that and not a tick before; back at rest, it clears once that is
    debounced."""
    assert _events(host, code) == []
    host.board.set_switch(switch, alarm_state)
    debounced_at = host.board.clock.now + DEBOUNCE_READS * TICK_S
    await _ticks(host, DEBOUNCE_READS * TICK_S)
    assert host.last_record["switches"][switch] is alarm_state
    await _ticks(host, DELAY_S - TICK_S)
    assert _events(host, code) == []  # not before its delay
    await _ticks(host, TICK_S)
    assert _events(host, code) == [("raised", debounced_at + DELAY_S)]
    host.board.set_switch(switch, not alarm_state)
    back_at = host.board.clock.now + DEBOUNCE_READS * TICK_S
    await _ticks(host, DEBOUNCE_READS * TICK_S)
    assert _events(host, code)[1:] == [("cleared", back_at)]
    assert host.last_record["switches"][switch] is (not alarm_state)


def test_an_open_door_and_a_high_level_raise_their_alarms_after_the_delay_and_clear_when_back():
    async def scenario() -> tuple[dict, float, float]:
        # a cold-crashed chamber (everything at 4 °C) in a 20 °C room
        cold = {f"initial_{node}_c": 4.0 for node in ("beer", "air", "wall", "heater")}
        board = SimulatedBoard("fridge", seed=3, ambient_amplitude_c=0.0, **cold)
        row, profile = fermenter_rows(
            [Point(0, 4.0), Point(1, 4.0)], FermenterTuning(), EPOCH, switches=["door", "level_high"]
        )
        host = VirtualHost(board, row, profile, TICK_S, record_every_s=0.0)
        await host.connect()
        await _ticks(host, 60)
        first = dict(host.last_record["switches"])
        air_before = board.plant.air_temp_c
        await _raise_and_clear(host, "door_open", "door", True)
        air_after = board.plant.air_temp_c
        await _raise_and_clear(host, "high_level", "level_high", True)
        await host.close()
        return first, air_before, air_after

    first, air_before, air_after = run_async(scenario())
    assert first == {"door": False, "level_high": False}  # only the configured switches
    assert air_after > air_before + 1.0  # the open door pulled the air toward the room


def test_a_blown_out_pilot_raises_pilot_light_out_and_relit_clears_it_on_a_kettle():
    async def scenario() -> dict:
        board = SimulatedBoard("kettle", seed=2)
        steps = [Step("strike", 40.0, 30.0, None)]
        row, profile = kettle_rows(steps, "kettle", {}, EPOCH, switches=["pilot_light", "level_high"])
        host = VirtualHost(board, row, profile, TICK_S, record_every_s=0.0)
        await host.connect()
        await _ticks(host, 10)
        assert host.last_record["switches"] == {"pilot_light": True, "level_high": False}
        assert _events(host, "pilot_light_out") == []  # a lit pilot alarms nothing
        await _raise_and_clear(host, "pilot_light_out", "pilot_light", False)
        await _raise_and_clear(host, "high_level", "level_high", True)
        await host.close()
        return host.last_record

    assert run_async(scenario())["kind"] == "kettle"


def test_an_input_not_read_keeps_its_alarm_and_a_generic_input_alarms_nothing():
    row, _ = fermenter_rows([Point(0, 19.0)], FermenterTuning(), EPOCH, switches=["door"])
    spare = dict(hardware="pin", address="2", invert=False, calibration_offset=0.0, min_on_s=0, min_off_s=0)
    row.devices.append(Device(id=99, chamber_id=1, name="Spare", function="switch_input", slot=9, **spare))
    runtime = ChamberRuntime(row, 0.0, lambda *args: None)
    runtime.configure(row, None, 0.0, EPOCH)
    findings = {}
    for t in range(40):
        runtime.take_switches({7: True, 9: True} if t < 35 else None)  # then nothing is read
        findings = runtime.evaluate_alarms(float(t), board_online=True)
    assert findings["door_open"] is not None and "door open" in findings["door_open"].message
    assert runtime.record(True, EPOCH)["switches"] == {"switch_input": True, "door": True}
    assert all(findings[code] is None for code in ("high_level", "pilot_light_out"))


def test_the_fan_runs_with_the_compressor_and_fan_after_s_after_it():
    after_s = 240.0
    HOURS = 5

    async def scenario() -> tuple[list, int]:
        # a warm beer in a warm room: the compressor cycles through the pull-down and hold
        board = SimulatedBoard("fridge", seed=5, initial_beer_c=21.0, ambient_mean_c=26.0)
        tuning = FermenterTuning(fan_after_s=after_s)
        row, profile = fermenter_rows([Point(0, 18.0), Point(1, 18.0)], tuning, EPOCH, fan=True)
        host = VirtualHost(board, row, profile, TICK_S)
        await host.connect()
        await _ticks(host, HOURS * 3600)
        await host.close()
        return board.firmware.edges, host.tick.refusals

    edges, refusals = run_async(scenario())
    cool = [(e.t, e.on) for e in edges if e.pin == FRIDGE_PINS["cool"]]
    fan = [(e.t, e.on) for e in edges if e.pin == FRIDGE_PINS["fan"]]
    starts = [t for t, on in cool if on]
    stops = [t for t, on in cool if not on]
    assert len(starts) >= 3 and len(stops) >= 3, cool
    assert refusals == 0  # the board refused nothing: the fan holds back neither heat nor cool
    for t in starts:
        assert (t, True) in fan or _on_at(fan, t)  # on in the compressor's own tick
    for t in stops:
        if any(t < start < t + after_s for start in starts) or t + after_s > HOURS * 3600:
            continue  # the compressor came back first (the fan just runs on), or the run ended
        assert (t + after_s, False) in fan, (t, fan)
    for t, on in fan:  # and never at another time
        assert _on_at(cool, t) if on else not _on_at(cool, t) and _on_at(cool, t - after_s - 0.5)


def _on_at(edges: list[tuple[float, bool]], t: float) -> bool:
    """A relay's state at `t` from its (time, on) edges."""
    state = False
    for at, on in edges:
        if at > t:
            break
        state = on
    return state
