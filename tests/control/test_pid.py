"""PID unit tests on simulated time: filter, anti-windup, bumpless transfer and retuning."""

import math

import pytest

from app.control.pid import Pid, PidTuning


def run_first_order_plant(pid, setpoint, steps, gain=10.0, tau_s=300.0, start=20.0, limit=1.0, dt=1.0):
    """A heater on a first-order plant: y' = (start + gain*min(u, limit) - y) / tau."""
    y = start
    achieved = None
    history = []
    for _ in range(steps):
        u = pid.update(setpoint, y, dt, achieved)
        achieved = min(u, limit)
        y += (start + gain * achieved - y) / tau_s * dt
        history.append((y, u))
    return history


def test_proportional_output_is_clipped_to_limits_and_follows_direction():
    heater = Pid(PidTuning(kp=0.5))
    assert heater.update(20.0, 19.0, 1) == pytest.approx(0.5)
    assert heater.update(20.0, 15.0, 1) == 1.0
    assert heater.update(20.0, 21.0, 1) == 0.0
    cooler = Pid(PidTuning(kp=0.5, reverse=True))
    assert cooler.update(20.0, 21.0, 1) == pytest.approx(0.5)
    assert cooler.update(20.0, 19.0, 1) == 0.0


def test_integral_removes_the_steady_state_error():
    pid = Pid(PidTuning(kp=0.2, ti_s=600))
    history = run_first_order_plant(pid, 25.0, 20_000)
    assert history[-1][0] == pytest.approx(25.0, abs=0.01)


def test_setpoint_step_does_not_kick_the_derivative():
    pid = Pid(PidTuning(kp=0.1, td_s=60))
    pid.update(20.0, 20.0, 1)
    pid.update(25.0, 20.0, 1)  # setpoint jumps, measurement does not move
    assert pid.d == 0.0


def test_derivative_is_filtered_and_clipped():
    pid = Pid(PidTuning(kp=1.0, td_s=100, n=10, d_clip=0.2, out_min=-1, out_max=1))
    pid.update(20.0, 20.0, 1)
    pid.update(20.0, 20.5, 1)  # raw D would be -kp*td*0.5/1 = -50
    assert pid.d == -0.2  # clipped
    filtered = Pid(PidTuning(kp=0.01, td_s=100, n=10, out_min=-1, out_max=1))
    filtered.update(20.0, 20.0, 1)
    filtered.update(20.0, 20.5, 1)
    first = filtered.d
    # raw would be -0.5; the filter (Tf = 10 s) lets through dt/(Tf+dt) of it
    assert first == pytest.approx(-0.5 / 11)
    filtered.update(20.0, 20.5, 1)
    assert abs(filtered.d) < abs(first)  # decays once the measurement stops moving
    assert filtered.d == pytest.approx(first * 10 / 11)


def test_back_calculation_keeps_the_integral_from_winding_up_on_a_limited_actuator():
    # the controller asks for a moderate duty, but the actuator delivers at most 30 %
    # (min on/off times hold it back): the output itself never saturates
    tuning = PidTuning(kp=0.02, ti_s=300, tt_s=60)
    limited = Pid(tuning)
    unprotected = Pid(tuning)
    for _ in range(5000):
        limited.update(30.0, 20.0, 1, achieved=0.3)
        unprotected.update(30.0, 20.0, 1)
    assert limited.output == pytest.approx(0.34, abs=0.02)  # a little above what it gets
    assert unprotected.output == 1.0  # wound up to the limit
    # once the measurement passes the setpoint, the protected loop lets go at once
    assert limited.update(30.0, 30.5, 1, achieved=0.3) < 0.2
    assert unprotected.update(30.0, 30.5, 1) > 0.5


def test_no_integration_outside_the_band_or_further_into_saturation():
    pid = Pid(PidTuning(kp=0.1, ti_s=100, integrate_band=1.0))
    pid.update(20.0, 15.0, 10)  # 5 °C off: outside the band
    assert pid.i == 0.0
    pid.update(20.0, 19.5, 10)
    assert pid.i == pytest.approx(0.1 / 100 * 0.5 * 10)
    saturated = Pid(PidTuning(kp=5.0, ti_s=100))
    saturated.update(20.0, 19.0, 1)  # output 5 -> clipped at 1
    before = saturated.i
    saturated.update(20.0, 19.0, 1)
    assert saturated.i == before  # would only drive further into saturation


def test_tuning_change_mid_run_does_not_bump_the_output():
    pid = Pid(PidTuning(kp=0.2, ti_s=600))
    history = run_first_order_plant(pid, 25.0, 20_000)
    settled = history[-1][1]
    pid.retune(ti_s=1200)
    pid.retune(kp=0.4)
    assert pid.update(25.0, history[-1][0], 1) == pytest.approx(settled, abs=0.01)


def test_manual_to_auto_is_bumpless():
    pid = Pid(PidTuning(kp=0.2, ti_s=600))
    pid.track_manual(0.4, setpoint=20.0, measurement=19.5)
    assert pid.update(20.0, 19.5, 1) == pytest.approx(0.4, abs=0.001)


def test_reset_forgets_integral_and_derivative_history():
    pid = Pid(PidTuning(kp=0.2, ti_s=60, td_s=30))
    for _ in range(100):
        pid.update(20.0, 19.0, 1)
    pid.reset()
    assert (pid.i, pid.d, pid.output) == (0.0, 0.0, 0.0)
    pid.update(20.0, 25.0, 1)
    assert pid.d == 0.0  # no history: no derivative kick from the old measurement


def test_invalid_tuning_is_refused():
    with pytest.raises(ValueError):
        PidTuning(kp=-1)
    with pytest.raises(ValueError):
        PidTuning(kp=1, out_min=1, out_max=0)
    assert math.isinf(PidTuning(kp=1).tracking_s)
