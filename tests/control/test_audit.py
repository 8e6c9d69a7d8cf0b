"""The benchmark's metrics on hand-made runs: each one computed right on a case worked out
by hand, the hold windows cut where control.md says, and the gates judged both ways."""

import json
import math
from typing import NamedTuple

import pytest

from bench.audit import (
    BOARD_REBOOT,
    GATES,
    HOST_SILENT,
    SENSOR_INVALID,
    Fault,
    FridgePhysics,
    MashPhysics,
    RelayLimits,
    Segment,
    Trace,
    alternations_per_day,
    audit,
    both_on_seconds,
    dead_time_violations,
    edges_from_pin_log,
    format_table,
    full_power_time_s,
    hold_max_abs_error,
    hold_rms_error,
    hold_windows,
    host_silent_off_s,
    mash_hold_max_abs_error,
    mash_overshoot,
    mash_step_time_ratio,
    max_starts_in_window,
    min_time_violations,
    overshoot,
    pull_down_bound_s,
    pull_down_ratio,
    ramp_lag,
    rows_as_json,
    sensor_invalid_off_s,
    setpoint_changes,
)

H = 3600.0
D = 86_400.0


def relays(*edges, boot_t=0.0, faults=(), limits=None, end=None):
    """A run that is only relay edges (the temperatures do not matter)."""
    end = max([boot_t, *(e[0] for e in edges)]) if end is None else end
    return Trace(
        dt_s=1.0,
        t=[boot_t, end],
        beer_c=[20.0, 20.0],
        setpoint_c=[20.0, 20.0],
        edges=list(edges),
        boot_t=boot_t,
        limits=limits or RelayLimits(),
        faults=list(faults),
    )


def sampled(beer, segments, duration, dt=60.0, setpoint=None, **kwargs):
    """A run sampled every `dt` on [0, duration); the setpoint follows the segments."""

    def profile(t):
        for seg in segments:
            if seg.start_s <= t < seg.end_s:
                if seg.kind == "off":
                    return None
                fraction = (t - seg.start_s) / (seg.end_s - seg.start_s)
                return seg.from_c + fraction * (seg.to_c - seg.from_c)
        return None

    setpoint = setpoint or profile
    times = [i * dt for i in range(int(duration / dt))]
    return Trace(
        dt_s=dt,
        t=times,
        beer_c=[beer(t) for t in times],
        setpoint_c=[setpoint(t) for t in times],
        edges=kwargs.pop("edges", []),
        segments=list(segments),
        **kwargs,
    )


def hold(start, end, c):
    return Segment(start, end, "hold", c, c)


def ramp(start, end, from_c, to_c):
    return Segment(start, end, "ramp", from_c, to_c)


def row(rows, name):
    return next(r for r in rows if r.name == name)


# -- relays ---------------------------------------------------------------------------------


def test_a_compressor_start_299_s_after_boot_breaks_min_off():
    assert min_time_violations(relays((299.0, "cool", True))).value == 1
    assert min_time_violations(relays((300.0, "cool", True))).value == 0
    assert min_time_violations(relays((1299.0, "cool", True), boot_t=1000.0)).value == 1


def test_min_on_and_min_off_after_an_off_edge_across_their_limits():
    def run(off_at, on_again):
        return relays((300.0, "cool", True), (off_at, "cool", False), (on_again, "cool", True))

    assert min_time_violations(run(480.0, 780.0)).value == 0
    assert min_time_violations(run(479.9, 780.0)).value == 1  # on 179.9 s
    assert min_time_violations(run(480.0, 779.9)).value == 1  # off 299.9 s
    assert min_time_violations(run(479.0, 700.0)).value == 2


def test_heater_limits_count_only_when_set():
    edges = ((700.0, "heat", True), (701.0, "heat", False), (702.0, "heat", True))
    assert min_time_violations(relays(*edges)).value == 0
    strict = RelayLimits(heat_min_on_s=10, heat_min_off_s=10)
    measured = min_time_violations(relays(*edges, limits=strict))
    assert measured.value == 2 and measured.note == "cool 0, heat 2"


def test_a_reboot_restarts_min_off_and_its_forced_off_is_no_min_on_violation():
    reboot = [Fault(BOARD_REBOOT, 500.0)]
    forced = relays((400.0, "cool", True), (500.0, "cool", False), (800.0, "cool", True), faults=reboot)
    assert min_time_violations(forced).value == 0
    too_soon = relays((400.0, "cool", True), (500.0, "cool", False), (799.0, "cool", True), faults=reboot)
    assert min_time_violations(too_soon).value == 1
    # 700 s after the first boot, but only 200 s after the reboot
    assert min_time_violations(relays((700.0, "cool", True), faults=reboot)).value == 1


def test_repeated_edges_that_change_nothing_are_ignored():
    run = relays((300.0, "cool", True), (350.0, "cool", True), (480.0, "cool", False), (490.0, "cool", False))
    assert min_time_violations(run).value == 0


def test_seconds_both_on_integrate_over_edges():
    run = relays(
        (1000.0, "heat", True), (2000.0, "cool", True), (2005.0, "heat", False), (3000.0, "cool", False)
    )
    assert both_on_seconds(run).value == pytest.approx(5.0)
    still_on = relays((1000.0, "heat", True), (2000.0, "cool", True), end=2030.0)
    assert both_on_seconds(still_on).value == pytest.approx(30.0)
    handover = relays((1000.0, "heat", True), (2000.0, "heat", False), (2000.0, "cool", True))
    assert both_on_seconds(handover).value == 0


def test_dead_time_between_heat_and_cool_and_from_boot():
    def run(cool_on):
        return relays((600.0, "heat", True), (1000.0, "heat", False), (cool_on, "cool", True))

    assert dead_time_violations(run(1600.0)).value == 0
    assert dead_time_violations(run(1599.0)).value == 1
    assert dead_time_violations(relays((599.0, "cool", True))).value == 1  # from boot
    assert dead_time_violations(relays((599.0, "heat", True))).value == 1
    # the other way round, and an on edge while the other output is still on
    back = relays((600.0, "cool", True), (900.0, "cool", False), (1400.0, "heat", True))
    assert dead_time_violations(back).value == 1
    overlap = relays((600.0, "cool", True), (5000.0, "heat", True))
    assert dead_time_violations(overlap).value == 1


def test_max_compressor_starts_in_a_sliding_hour():
    def starts(*minutes):
        edges = []
        for m in minutes:
            edges += [(m * 60.0, "cool", True), (m * 60.0 + 60.0, "cool", False)]
        return relays(*edges)

    assert max_starts_in_window(starts(0, 25, 50, 55)).value == 4
    assert max_starts_in_window(starts(0, 60, 120)).value == 1  # an hour apart: never in one hour
    assert max_starts_in_window(starts(0, 40, 70, 90, 99, 200)).value == 4  # 40..99
    assert max_starts_in_window(starts(0, 40, 70, 90, 100, 200)).value == 3  # 40..100 is a full hour
    assert max_starts_in_window(relays()).value == 0


def test_alternations_per_day():
    edges = []
    for i, output in enumerate(["heat", "heat", "cool", "heat", "cool", "cool"]):
        edges += [(i * 8 * H, output, True), (i * 8 * H + 600.0, output, False)]
    run = relays(*edges, end=2 * D)
    assert alternations_per_day(run).value == pytest.approx(3 / 2)  # h→c, c→h, h→c in 2 days
    short = relays((0.0, "heat", True), (100.0, "heat", False), (1000.0, "cool", True), end=2 * H)
    assert alternations_per_day(short).value == 1  # a run shorter than a day counts as one


def test_edges_from_the_pin_log():
    class PinEdge(NamedTuple):
        t: float
        slot: int
        pin: int
        on: bool

    log = [PinEdge(1.5, 1, 12, True), PinEdge(2.0, 2, 13, True), PinEdge(3.25, 1, 12, False)]
    assert edges_from_pin_log(log, {12: "cool"}) == [(1.5, "cool", True), (3.25, "cool", False)]


# -- fermentation: hold windows, hold error, overshoot, ramp lag ----------------------------


def test_hold_error_of_a_sinusoid_around_the_setpoint():
    amplitude, period = 0.2, 2 * H
    run = sampled(lambda t: 19.0 + amplitude * math.sin(2 * math.pi * t / period), [hold(0, D, 19.0)], D)
    assert hold_windows(run) == [(0, D)]
    assert hold_rms_error(run).value == pytest.approx(amplitude / math.sqrt(2), rel=1e-6)
    assert hold_max_abs_error(run).value == pytest.approx(amplitude, rel=1e-3)


def test_the_first_24_h_after_a_pull_down_are_not_hold():
    def beer(t):  # 22 °C pulled down to 19 within a day, then ±0.1 °C
        return 22.0 - 3.0 * t / (20 * H) if t < 20 * H else 19.0 + 0.1 * math.sin(2 * math.pi * t / H)

    run = sampled(beer, [hold(0, 3 * D, 19.0)], 3 * D)
    assert [c.kind for c in setpoint_changes(run)] == ["pull_down"]
    assert hold_windows(run) == [(D, 3 * D)]
    assert hold_rms_error(run).value == pytest.approx(0.1 / math.sqrt(2), rel=1e-3)
    assert hold_max_abs_error(run).value == pytest.approx(0.1, rel=1e-3)


def test_beer_starting_at_the_setpoint_is_no_pull_down():
    run = sampled(lambda t: 19.1, [hold(0, D, 19.0)], D)
    assert setpoint_changes(run) == [] and hold_windows(run) == [(0, D)]


def test_the_first_12_h_after_a_ramp_or_a_small_step_are_not_hold():
    segments = [hold(0, D, 19.0), ramp(D, 2 * D, 19.0, 21.0), hold(2 * D, 4 * D, 21.0)]
    run = sampled(lambda t: 19.0, segments, 4 * D)
    assert [(c.kind, c.t) for c in setpoint_changes(run)] == [("ramp", 2 * D)]
    assert hold_windows(run) == [(0, D), (2.5 * D, 4 * D)]

    steps = [hold(0, D, 19.0), hold(D, 2 * D, 20.0), hold(2 * D, 4 * D, 16.5)]
    run = sampled(lambda t: 19.0, steps, 4 * D)
    assert [(c.kind, c.t) for c in setpoint_changes(run)] == [("step", D), ("crash", 2 * D)]
    assert hold_windows(run) == [(0, D), (1.5 * D, 2 * D), (3 * D, 4 * D)]


def test_errors_inside_an_excluded_window_do_not_count():
    segments = [hold(0, D, 19.0), hold(D, 3 * D, 20.0)]

    def beer(t):
        if t < D:
            return 19.0
        return 18.0 if t < 1.4 * D else 20.05  # far off right after the step, then close

    run = sampled(beer, segments, 3 * D)
    assert hold_max_abs_error(run).value == pytest.approx(0.05)
    assert hold_rms_error(run).value == pytest.approx(0.05 * math.sqrt(1.5 / 2.5), rel=1e-3)


def test_overshoot_after_a_step_is_the_excursion_in_its_direction_within_the_window():
    segments = [hold(0, D, 19.0), hold(D, 3 * D, 20.0)]

    def beer(t):
        if t < D:
            return 19.0
        x = t - D
        if x < 2 * H:
            return 19.0 + 1.4 * x / (2 * H)  # up to 20.4 at +2 h
        if x < 6 * H:
            return 20.4 - 0.4 * (x - 2 * H) / (4 * H)
        if 13 * H <= x < 14 * H:
            return 20.9  # after the 12 h window: a hold error, not overshoot
        return 20.0

    run = sampled(beer, segments, 3 * D)
    assert overshoot(run).value == pytest.approx(0.4)
    rows = audit(run)
    assert row(rows, "overshoot_c").passed_gate and not row(rows, "overshoot_c").met_target
    assert row(rows, "hold_max_abs_c").value == pytest.approx(0.9)
    assert not row(rows, "hold_max_abs_c").passed_gate


def test_overshoot_of_a_crash_is_measured_downwards_and_a_lagging_beer_is_no_overshoot():
    segments = [hold(0, D, 20.0), hold(D, 3 * D, 4.0)]
    run = sampled(lambda t: 20.0 if t < D else (3.4 if t < 2 * D else 4.0), segments, 3 * D)
    assert overshoot(run).value == pytest.approx(0.6)
    assert not row(audit(run), "overshoot_c").passed_gate

    slow = sampled(lambda t: 20.0 if t < D else 4.5, segments, 3 * D)
    assert overshoot(slow).value == 0


def test_overshoot_after_a_ramp_counts_from_its_end():
    segments = [hold(0, D, 19.0), ramp(D, 2 * D, 19.0, 21.0), hold(2 * D, 4 * D, 21.0)]

    def beer(t):
        if D <= t < 2 * D:
            return 19.0 + 2.0 * (t - D) / D
        return 19.0 if t < D else (21.25 if t < 2 * D + H else 21.0)

    run = sampled(beer, segments, 4 * D)
    assert overshoot(run).value == pytest.approx(0.25)


def test_ramp_lag_is_the_mean_after_the_settling_time():
    segments = [hold(0, D, 19.0), ramp(D, 2 * D, 19.0, 21.0), hold(2 * D, 3 * D, 21.0)]

    def beer(t):
        if D <= t < 2 * D:
            setpoint = 19.0 + 2.0 * (t - D) / D
            return setpoint - (1.0 if t < D + 6 * H else (0.2 if t < D + 15 * H else 0.45))
        return 19.0 if t < D else 21.0

    run = sampled(beer, segments, 3 * D)
    measured = ramp_lag(run)
    assert measured.value == pytest.approx((9 * 0.2 + 9 * 0.45) / 18, rel=1e-3)  # the first 6 h left out
    assert "max 0.450" in measured.note
    judged = row(audit(run), "ramp_lag_c")
    assert judged.passed_gate and not judged.met_target


def test_ramps_faster_than_2_c_per_day_are_no_ramp_lag():
    segments = [hold(0, D, 19.0), ramp(D, D + 2 * H, 19.0, 21.0), hold(D + 2 * H, 3 * D, 21.0)]
    run = sampled(lambda t: 19.0 if t < D + 4 * H else 21.0, segments, 3 * D)
    assert ramp_lag(run).value is None
    assert [c.kind for c in setpoint_changes(run)] == ["step"]


# -- pull-down ------------------------------------------------------------------------------


def test_the_pull_down_bound_is_the_beer_driven_by_air_at_setpoint_minus_6():
    physics = FridgePhysics()
    assert physics.tau_s == pytest.approx(33_600.0)
    assert pull_down_bound_s(22.0, 19.0, physics) == pytest.approx(33_600.0 * math.log(9.0 / 6.2))
    assert pull_down_bound_s(16.0, 19.0, physics) == pytest.approx(33_600.0 * math.log(9.0 / 6.2))


@pytest.mark.parametrize(
    ("slower", "passed", "met"), [(1.4, True, True), (1.8, True, False), (2.2, False, False)]
)
def test_an_exponential_pull_down_as_a_multiple_of_the_bound(slower, passed, met):
    physics = FridgePhysics()
    air = 19.0 - 6.0

    def beer(t):
        return max(19.0, air + (22.0 - air) * math.exp(-t / (slower * physics.tau_s)))

    run = sampled(beer, [hold(0, 3 * D, 19.0)], 3 * D, dt=30.0)
    assert pull_down_ratio(run, physics).value == pytest.approx(slower, rel=1e-4)
    judged = row(audit(run, fridge=physics), "pull_down_ratio")
    assert (judged.passed_gate, judged.met_target) == (passed, met)


def test_a_pull_down_that_never_arrives_fails():
    run = sampled(lambda t: 22.0, [hold(0, D, 19.0)], D)
    assert pull_down_ratio(run).value == math.inf
    judged = row(audit(run), "pull_down_ratio")
    assert not judged.passed_gate and "never reached" in judged.note


def test_no_pull_down_is_nothing_to_judge():
    run = sampled(lambda t: 19.0, [hold(0, D, 19.0)], D)
    judged = row(audit(run), "pull_down_ratio")
    assert judged.value is None and judged.passed_gate and judged.met_target


# -- faults ---------------------------------------------------------------------------------


def test_sensor_invalid_outputs_off_less_the_coolers_remaining_min_on():
    fault = Fault(SENSOR_INVALID, 1100.0, 1700.0)
    run = relays((1000.0, "cool", True), (1185.0, "cool", False), faults=[fault], end=2000.0)
    measured = sensor_invalid_off_s(run)
    assert measured.value == pytest.approx(5.0)  # min on ends at 1180
    assert "min on" in measured.note

    heater = relays((700.0, "heat", True), (1112.0, "heat", False), faults=[fault], end=2000.0)
    assert sensor_invalid_off_s(heater).value == pytest.approx(12.0)
    judged = row(audit(heater), "sensor_invalid_off_s")
    assert judged.passed_gate and not judged.met_target


def test_an_output_that_comes_back_on_during_the_fault_is_off_only_from_its_last_off():
    fault = Fault(SENSOR_INVALID, 1000.0, 1600.0)
    edges = ((700.0, "heat", True), (1003.0, "heat", False), (1100.0, "heat", True), (1120.0, "heat", False))
    assert sensor_invalid_off_s(relays(*edges, faults=[fault])).value == pytest.approx(120.0)
    never = relays((700.0, "heat", True), faults=[fault], end=2000.0)
    assert sensor_invalid_off_s(never).value == math.inf
    assert not row(audit(never), "sensor_invalid_off_s").passed_gate


def test_host_silent_board_outputs_off():
    last_command = Fault(HOST_SILENT, 5000.0, 5600.0)
    run = relays((700.0, "heat", True), (5030.0, "heat", False), faults=[last_command], end=6000.0)
    assert host_silent_off_s(run).value == pytest.approx(30.0)
    late = relays((700.0, "heat", True), (5061.0, "heat", False), faults=[last_command], end=6000.0)
    assert not row(audit(late), "host_silent_off_s").passed_gate
    assert host_silent_off_s(relays((700.0, "heat", True))).value is None  # no fault injected


def test_a_fault_that_strikes_with_every_output_off_measures_nothing_and_says_so():
    fault = Fault(SENSOR_INVALID, 1000.0, 1600.0)
    idle = relays((300.0, "cool", True), (600.0, "cool", False), faults=[fault], end=2000.0)
    measured = sensor_invalid_off_s(idle)
    assert measured.value is None and "no output was on" in measured.note
    # an output switched on during the fault is still caught
    started = relays((1200.0, "heat", True), faults=[fault], end=2000.0)
    assert sensor_invalid_off_s(started).value == math.inf
    on = relays((300.0, "cool", True), (1005.0, "cool", False), faults=[fault], end=2000.0)
    assert sensor_invalid_off_s(on).note.endswith("1 of 1 struck with an output on")


# -- mash -----------------------------------------------------------------------------------


def mash_run(vessel, steps, duration):
    return sampled(vessel, steps, duration, dt=1.0)


def test_mash_step_error_from_first_reaching_and_overshoot():
    steps = [hold(0, 1800, 52.0), hold(1800, 5400, 65.0)]

    def vessel(t):
        if t < 1800:
            return 52.0
        x = t - 1800
        if x < 1300:
            return 52.0 + 13.2 * x / 1300  # up to 65.2
        if x < 1500:
            return 65.2 - 0.2 * (x - 1300) / 200
        return 64.85 if 2000 <= x < 2100 else 65.0

    run = mash_run(vessel, steps, 5400)
    assert mash_overshoot(run).value == pytest.approx(0.2, abs=1e-6)
    assert mash_hold_max_abs_error(run).value == pytest.approx(0.2, abs=1e-6)
    rows = audit(run, "mash")
    assert {r.name for r in rows} == {name for name, gate in GATES.items() if "mash" in gate.kinds}
    assert row(rows, "mash_overshoot_c").met_target and row(rows, "mash_hold_max_abs_c").met_target


def test_a_mash_step_never_reached_fails_its_hold_error():
    run = mash_run(lambda t: 52.0 if t < 600 else 60.0, [hold(0, 600, 52.0), hold(600, 1200, 65.0)], 1200)
    assert mash_hold_max_abs_error(run).value == math.inf
    assert not row(audit(run, "mash"), "mash_hold_max_abs_c").passed_gate


def test_mash_step_time_as_a_multiple_of_full_power_with_losses():
    physics = MashPhysics(capacity_j_per_k=100_000.0, heater_w=3500.0, ua_w_per_k=10.0, env_c=20.0)
    t_full = full_power_time_s(52.0, 64.5, physics)
    assert t_full == pytest.approx(100_000.0 * 12.5 / (3500.0 - 10.0 * (58.25 - 20.0)))
    took = 1.2 * t_full

    def vessel(t):
        return 52.0 if t < 600 else min(65.0, 52.0 + 12.5 * (t - 600) / took)

    run = mash_run(vessel, [hold(0, 600, 52.0), hold(600, 4000, 65.0)], 4000)
    assert mash_step_time_ratio(run, physics).value == pytest.approx(1.2, rel=1e-3)
    judged = row(audit(run, "mash", mash=physics), "mash_step_time_ratio")
    assert judged.passed_gate and judged.met_target
    slow = row(
        audit(run, "mash", mash=lambda step: MashPhysics(capacity_j_per_k=50_000.0)), "mash_step_time_ratio"
    )
    assert not slow.met_target


# -- the audit and its report ---------------------------------------------------------------


def clean_fermentation():
    segments = [hold(0, 2 * D, 19.0), ramp(2 * D, 3 * D, 19.0, 21.0), hold(3 * D, 5 * D, 21.0)]

    def beer(t):
        if 2 * D <= t < 3 * D:
            return 19.0 + 2.0 * (t - 2 * D) / D - 0.05
        return (19.0 if t < 2 * D else 21.0) + 0.05 * math.sin(2 * math.pi * t / (3 * H))

    edges = []
    for hour in range(0, 120, 2):  # one compressor cycle every 2 h: 10 min on
        edges += [(hour * H + 900.0, "cool", True), (hour * H + 1500.0, "cool", False)]
    return sampled(beer, segments, 5 * D, edges=edges)


def test_a_clean_run_passes_every_gate_and_target():
    rows = audit(clean_fermentation())
    assert [r.name for r in rows] == [n for n, gate in GATES.items() if "fermentation" in gate.kinds]
    failed = [(r.name, r.value) for r in rows if not (r.passed_gate and r.met_target)]
    assert failed == []


def test_relay_gates_fail_when_violated():
    run = clean_fermentation()
    run.edges += [(100.0, "cool", True), (200.0, "cool", False)]  # at boot, and too short
    run.edges += [(3 * D + 1600.0, "heat", True), (3 * D + 1700.0, "heat", False)]  # 100 s after cool off
    rows = audit(run)
    assert row(rows, "min_time_violations").value == 2  # started 100 s after boot, stopped after 100 s
    assert row(rows, "dead_time_violations").value == 2  # the start at boot, heat after cool
    assert not row(rows, "min_time_violations").passed_gate
    assert not row(rows, "dead_time_violations").passed_gate


def test_format_table_and_json():
    run = clean_fermentation()
    run.edges += [(10 * H + 500.0, "heat", True), (10 * H + 510.0, "heat", False)]  # cool on 390 s later
    rows = audit(run)
    table = format_table(rows)
    lines = table.splitlines()
    assert lines[0].split()[:5] == ["metric", "value", "gate", "target", "pass"]
    assert len(lines) == len(rows) + 1
    assert any("heat↔cool changes sooner than the dead time" in line and "FAIL" in line for line in lines)
    assert all(line == line.rstrip() for line in lines)

    never = sampled(lambda t: 22.0, [hold(0, D, 19.0)], D)
    data = rows_as_json(audit(never))
    json.dumps(data, allow_nan=False)
    pull = next(item for item in data if item["name"] == "pull_down_ratio")
    assert pull["value"] is None and pull["never"] is True and pull["passed_gate"] is False
    assert "never" in format_table(audit(never))


def test_the_gate_table_is_control_md():
    expected = {
        "min_time_violations": (0, 0),
        "both_on_s": (0, 0),
        "dead_time_violations": (0, 0),
        "max_starts_60min": (6, 3),
        "hold_rms_c": (0.25, 0.10),
        "hold_max_abs_c": (0.5, 0.3),
        "overshoot_c": (0.5, 0.3),
        "ramp_lag_c": (0.5, 0.3),
        "pull_down_ratio": (2.0, 1.5),
        "sensor_invalid_off_s": (15, 10),
        "host_silent_off_s": (60, 30),
        "mash_hold_max_abs_c": (1.0, 0.3),
        "mash_overshoot_c": (1.0, 0.3),
        "mash_step_time_ratio": (2.0, 1.3),
        "alternations_per_day": (10, 4),
    }
    assert {name: (gate.gate, gate.target) for name, gate in GATES.items()} == expected


def test_a_trace_refuses_mismatched_series_and_unknown_outputs():
    with pytest.raises(ValueError):
        Trace(dt_s=1.0, t=[0.0, 1.0], beer_c=[20.0], setpoint_c=[20.0, 20.0], edges=[])
    with pytest.raises(ValueError):
        Trace(dt_s=1.0, t=[0.0], beer_c=[20.0], setpoint_c=[20.0], edges=[(0.0, "fan", True)])
    with pytest.raises(ValueError):
        audit(relays(), "kettle")
