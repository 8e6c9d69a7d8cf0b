"""Sensor validation stepped tick by tick."""

import pytest

from app.control.sensors import SensorValidator


def feed(validator, values, start=100.0):
    return [validator.update(value, start + index) for index, value in enumerate(values)]


def test_single_spikes_are_ignored_and_the_last_valid_value_is_used():
    validator = SensorValidator(powered_at=0.0)
    statuses = feed(validator, [19.5, -127.0, 19.5, 85.0, 19.5, None, 19.5])
    # 85 long after power-up is not the power-on value, but it jumps too far from 19.5
    assert [s.valid for s in statuses] == [True, False, True, False, True, False, True]
    assert "jumped" in statuses[3].reason
    assert all(s.value == 19.5 for s in statuses)
    assert not any(s.lost for s in statuses)


def test_85_right_after_power_up_is_refused_and_later_believed_when_consistent():
    validator = SensorValidator(powered_at=100.0)
    status = validator.update(85.0, 105.0)
    assert not status.valid and "power-on" in status.reason
    hot = SensorValidator(powered_at=0.0)
    assert hot.update(85.0, 100.0).valid  # a mash at 85 °C long after power-up


def test_more_than_five_invalid_ticks_lose_the_sensor_and_three_valid_bring_it_back():
    validator = SensorValidator()
    feed(validator, [20.0])
    statuses = feed(validator, [None] * 6, start=101.0)
    assert [s.lost for s in statuses] == [False, False, False, False, False, True]
    assert statuses[-1].value is None
    back = feed(validator, [20.1, 20.1, 20.1], start=107.0)
    assert [s.lost for s in back] == [True, True, False]
    assert back[-1].value == 20.1


def test_out_of_range_and_jumps_are_invalid():
    validator = SensorValidator()
    assert not validator.update(-25.0, 1.0).valid
    assert validator.update(18.0, 2.0).valid
    assert not validator.update(24.0, 3.0).valid  # 6 °C in 1 s
    assert validator.update(22.5, 4.0).valid  # 4.5 °C over 2 s since the last valid: allowed


def test_a_real_step_is_believed_after_three_consistent_readings():
    validator = SensorValidator()
    validator.update(18.0, 1.0)
    statuses = feed(validator, [60.0, 60.1, 60.0], start=2.0)
    assert [s.valid for s in statuses] == [False, False, True]
    assert statuses[-1].value == 60.0


def test_unchanged_time_for_the_stuck_advisory():
    validator = SensorValidator()
    feed(validator, [20.0, 20.0, 20.03, 20.0], start=0.0)
    assert validator.unchanged_s(3.0) == pytest.approx(3.0)  # 0.03 < one LSB: not a change
    validator.update(20.1, 4.0)
    assert validator.unchanged_s(4.0) == 0.0
