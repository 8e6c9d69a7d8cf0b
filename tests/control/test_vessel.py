"""The mash/kettle vessel loop: safety first (lost sensor, off, min times from boot), then
boil mode and a kettle driven to a setpoint on the simulated plant and probe."""

from dataclasses import replace

import pytest

from app.control.sensors import SensorStatus, SensorValidator
from app.control.vessel import VesselControl, VesselTuning
from devices.simulator.plant import KettlePlant
from devices.simulator.probes import SimulatedProbe, rom_for

BOOT = 0.0


def ok(value):
    return SensorStatus(value, True, False, None)


LOST = SensorStatus(None, False, True, "no reading")


def settle(control, start, seconds, vessel, mode="vessel", setpoint=66.0):
    decisions = []
    for now in range(int(start), int(start + seconds)):
        decision = control.tick(float(now), mode, setpoint, vessel)
        assert not decision.cool_on and decision.cool_duty == 0.0
        decisions.append(decision)
    return decisions


def test_cold_vessel_heats_at_full_power_from_the_first_tick():
    control = VesselControl(VesselTuning(), BOOT)
    decisions = settle(control, 1, 30, ok(20.0))
    assert all(d.heat_on and d.heat_duty == 1.0 and d.state == "heating" for d in decisions)


def test_lost_sensor_switches_the_heater_off_in_that_tick_and_resumes_afterwards():
    control = VesselControl(VesselTuning(), BOOT)
    settle(control, 1, 30, ok(20.0))
    assert control.heater.on
    lost = control.tick(31.0, "profile", 66.0, LOST)
    assert not lost.heat_on and lost.state == "sensor_lost" and lost.heat_duty == 0.0
    assert settle(control, 32, 20, LOST, mode="profile")[-1].state == "sensor_lost"
    back = settle(control, 52, 5, ok(20.0), mode="profile")
    assert back[-1].heat_on and back[-1].state == "heating"


def test_lost_sensor_switches_the_heater_off_in_boil_mode_too():
    control = VesselControl(VesselTuning(), BOOT)
    settle(control, 1, 30, ok(99.5), mode="boil", setpoint=None)
    decision = control.tick(31.0, "boil", None, LOST)
    assert not decision.heat_on and decision.state == "sensor_lost"


def test_off_mode_and_a_missing_setpoint_keep_the_heater_off():
    control = VesselControl(VesselTuning(), BOOT)
    assert all(not d.heat_on and d.state == "off" for d in settle(control, 1, 30, ok(20.0), mode="off"))
    assert all(not d.heat_on and d.state == "off" for d in settle(control, 31, 30, ok(20.0), setpoint=None))


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        VesselControl(VesselTuning(), BOOT).tick(1.0, "beer", 66.0, ok(20.0))


def test_boil_mode_runs_full_power_below_the_boil_temperature_and_the_fixed_duty_at_it():
    tuning = VesselTuning()
    control = VesselControl(tuning, BOOT)
    below = settle(control, 1, 60, ok(95.0), mode="boil", setpoint=None)
    assert all(d.heat_on and d.heat_duty == 1.0 and d.state == "heating" for d in below)
    boiling = settle(control, 61, 600, ok(99.5), mode="boil", setpoint=None)
    assert all(d.heat_duty == tuning.boil_duty and d.state == "boiling" for d in boiling)
    on_fraction = sum(d.heat_on for d in boiling) / len(boiling)
    # DutyWindow rounds each window's on-time up to the next 1 s tick: up to 1 s in 10 s more
    assert tuning.boil_duty - 0.02 <= on_fraction <= tuning.boil_duty + 1.0 / tuning.window_s + 0.02
    # a small dip (noise, a hop addition) keeps the boil duty; a large one is full power again
    assert control.tick(661.0, "boil", None, ok(98.5)).state == "boiling"
    assert control.tick(662.0, "boil", None, ok(97.5)).heat_duty == 1.0


def test_min_on_and_min_off_are_honoured_from_boot():
    """A mechanical relay: 10-minute windows, 60 s min on, 120 s min off."""
    tuning = replace(VesselTuning(), window_s=600.0, min_on_s=60.0, min_off_s=120.0)
    control = VesselControl(tuning, BOOT)
    changes = []
    last = False
    # a reading that wanders around the setpoint asks for every duty from 0 to 1
    for now in range(1, 4 * 3600):
        reading = 66.0 + 0.4 * ((now // 97) % 5 - 2)
        decision = control.tick(float(now), "vessel", 66.0, ok(reading))
        if decision.heat_on != last:
            changes.append((now, decision.heat_on))
            last = decision.heat_on
    assert changes and changes[0][1] is True and changes[0][0] >= tuning.min_off_s
    for (t0, on), (t1, _) in zip(changes, changes[1:], strict=False):
        assert t1 - t0 >= (tuning.min_on_s if on else tuning.min_off_s), (t0, on, t1)


def test_waiting_for_min_off_is_reported():
    tuning = replace(VesselTuning(), window_s=60.0, min_off_s=30.0)
    decision = VesselControl(tuning, BOOT).tick(5.0, "vessel", 66.0, ok(20.0))
    assert not decision.heat_on and decision.state == "waiting_min_off" and decision.holds["heat"] > 0


def test_board_state_aligns_the_host_relay_with_the_board():
    control = VesselControl(VesselTuning(), BOOT)
    settle(control, 1, 5, ok(20.0))
    assert control.heater.on
    control.board_state(False, 6.0)  # the board's dead-man switched it off
    assert not control.heater.on


def drive_kettle(setpoint, seconds, tuning=None, start_c=20.0, seed=3):
    """The loop on a kettle with a DS18B20 (noise, 1/16 °C), no board: (true temperatures)."""
    plant = KettlePlant(initial_vessel_c=start_c)
    probe = SimulatedProbe(rom_for("vessel"), "vessel", seed=seed)
    check = SensorValidator()
    control = VesselControl(tuning or VesselTuning(), BOOT)
    temperatures = []
    for now in range(1, seconds):
        plant.step(1.0, heat=control.heater.on)
        vessel = check.update(probe.read(plant), float(now))
        control.tick(float(now), "vessel", setpoint, vessel)
        temperatures.append(plant.vessel_temp_c)
    return temperatures


def test_the_loop_brings_a_kettle_to_its_setpoint_without_overshoot_and_holds_it():
    temperatures = drive_kettle(66.0, 3600)
    reached = next(i for i, t in enumerate(temperatures) if t >= 65.5)
    # full power would take about 1,520 s (docs/simulator.md); the element lag costs ~45 s
    assert reached < 1.2 * 1520
    assert max(temperatures) - 66.0 <= 0.3
    held = temperatures[reached + 300 :]
    assert max(abs(t - 66.0) for t in held) <= 0.3


def test_a_plain_pid_without_the_element_model_overshoots_from_the_stored_heat():
    """Why the element model exists: the same loop without it overshoots by ~1 °C."""
    plain = replace(VesselTuning(), element_store_c=0.0, approach_aim_c=0.0)
    assert max(drive_kettle(66.0, 2400, plain)) - 66.0 > 0.5
