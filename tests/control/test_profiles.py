"""Profile tests on a virtual clock: fermentation interpolation, events, the run clock and its
saved state, outage jumps; the mash state machine (holds, ramps, confirms, restarts)."""

import json
import math

import pytest

from app.control.profiles import (
    FermentationProfile,
    MashRun,
    MashSchedule,
    Point,
    ProfileRun,
    Step,
    setpoint_jump_after_outage,
)

DAY = 86_400.0
T0 = 1_700_000_000.0  # an arbitrary epoch start


def brewpi_sample():
    """The shape of BrewPi's sample profile: hold 20, ramp down to 17, hold 17."""
    return FermentationProfile(
        [
            Point(0, 20.0, "pitch yeast"),
            Point(1.5, 20.0),
            Point(4, 17.0, "diacetyl rest over"),
            Point(6, 17.0, "cold crash"),
        ]
    )


def via_json(state):
    return json.loads(json.dumps(state))


# -- fermentation: setpoints ------------------------------------------------------------------


def test_brewpi_sample_holds_then_ramps_linearly():
    profile = brewpi_sample()
    assert profile.setpoint_at(0) == 20.0
    assert profile.setpoint_at(1.0 * DAY) == 20.0
    assert profile.setpoint_at(2.75 * DAY) == pytest.approx(18.5)
    assert profile.setpoint_at(3.5 * DAY) == pytest.approx(17.6)
    assert profile.setpoint_at(5 * DAY) == 17.0
    assert profile.duration_s == 6 * DAY


def test_before_the_first_point_and_after_the_last():
    profile = FermentationProfile([Point(1, 18.0), Point(2, 22.0)])
    assert profile.setpoint_at(0) == 18.0
    assert profile.setpoint_at(0.5 * DAY) == 18.0
    assert profile.setpoint_at(1.5 * DAY) == pytest.approx(20.0)
    assert profile.setpoint_at(2 * DAY) == 22.0
    assert profile.setpoint_at(30 * DAY) == 22.0
    assert FermentationProfile([]).setpoint_at(0) is None


def test_equal_offsets_are_an_instant_step_won_by_the_later_point():
    profile = FermentationProfile([Point(0, 20.0), Point(2, 24.0), Point(2, 10.0), Point(4, 10.0)])
    assert profile.setpoint_at(1 * DAY) == pytest.approx(22.0)  # the ramp ends at the first point
    assert profile.setpoint_at(2 * DAY - 1) == pytest.approx(24.0, abs=1e-3)
    assert profile.setpoint_at(2 * DAY) == 10.0
    assert profile.setpoint_at(3 * DAY) == 10.0
    # a step as the very last thing: the last point wins from its offset on
    tail = FermentationProfile([Point(0, 18.0), Point(1, 18.0), Point(1, 2.0)])
    assert tail.setpoint_at(1 * DAY) == 2.0
    assert tail.setpoint_at(5 * DAY) == 2.0


def test_empty_temperature_turns_control_off_on_both_sides():
    profile = FermentationProfile(
        [Point(0, 20.0), Point(1, 20.0), Point(2, None), Point(3, 18.0), Point(4, 18.0)]
    )
    assert profile.setpoint_at(0.5 * DAY) == 20.0
    assert profile.setpoint_at(1 * DAY) is None  # the segment ending at the empty point
    assert profile.setpoint_at(1.5 * DAY) is None
    assert profile.setpoint_at(2 * DAY) is None  # exactly at it
    assert profile.setpoint_at(2.5 * DAY) is None  # the segment starting at it
    assert profile.setpoint_at(3 * DAY - 1) is None
    assert profile.setpoint_at(3 * DAY) == 18.0
    assert profile.setpoint_at(3.5 * DAY) == 18.0
    ends_off = FermentationProfile([Point(0, 20.0), Point(1, 20.0), Point(1, None)])
    assert ends_off.setpoint_at(5 * DAY) is None
    starts_off = FermentationProfile([Point(1, None), Point(2, 19.0)])
    assert starts_off.setpoint_at(0) is None


def test_points_are_validated():
    with pytest.raises(ValueError, match="goes backwards"):
        FermentationProfile([Point(2, 20.0), Point(1, 18.0)])
    with pytest.raises(ValueError, match="offset_days"):
        Point(-1, 20.0)
    with pytest.raises(ValueError, match="temperature_c"):
        Point(1, math.nan)
    with pytest.raises(ValueError, match="elapsed_s"):
        brewpi_sample().setpoint_at(math.nan)
    assert Point(1, 20.0, "  ").event is None


# -- fermentation: events, progress -----------------------------------------------------------


def test_events_are_passed_exactly_once_across_consecutive_calls():
    profile = FermentationProfile(
        [Point(0, 20.0, "pitch"), Point(1, 20.0, "dry hop"), Point(1, 20.0, "add nutrient"), Point(2, 18.0)]
        + [Point(3, 18.0, "crash")]
    )
    seen = []
    passed_s = -math.inf  # a run from the beginning: the day-0 event is included
    for hour in range(0, 24 * 5):
        now_s = hour * 3600.0
        seen += [point.event for point in profile.events_between(passed_s, now_s)]
        passed_s = now_s
    assert seen == ["pitch", "dry hop", "add nutrient", "crash"]
    assert profile.events_between(1 * DAY, 1 * DAY) == []
    # started part-way at day 1: what is at or before the start is not replayed
    assert [p.event for p in profile.events_between(1 * DAY, 5 * DAY)] == ["crash"]
    with pytest.raises(ValueError, match="before"):
        profile.events_between(2.0, 1.0)


def test_next_event_and_progress():
    profile = brewpi_sample()
    assert profile.next_event_after(-1).event == "pitch yeast"
    assert profile.next_event_after(0).event == "diacetyl rest over"
    assert profile.next_event_after(4 * DAY).event == "cold crash"
    assert profile.next_event_after(6 * DAY) is None
    assert profile.progress(0) == 0.0
    assert profile.progress(3 * DAY) == pytest.approx(0.5)
    assert profile.progress(10 * DAY) == 1.0
    assert not profile.finished(6 * DAY - 1)
    assert profile.finished(6 * DAY)


# -- fermentation: the run clock ----------------------------------------------------------------


def test_pause_stops_the_clock_and_resume_restarts_it():
    profile = brewpi_sample()
    run = ProfileRun.start_at_offset(T0)
    assert run.elapsed_s(T0 + 2 * DAY) == 2 * DAY
    run = run.pause(T0 + 2 * DAY)
    assert run.pause(T0 + 2.5 * DAY) is run  # pausing again changes nothing
    assert run.elapsed_s(T0 + 3 * DAY) == 2 * DAY
    setpoint = profile.setpoint_at(run.elapsed_s(T0 + 2 * DAY))
    assert profile.setpoint_at(run.elapsed_s(T0 + 10 * DAY)) == setpoint
    run = run.resume(T0 + 3 * DAY)
    assert not run.paused
    assert run.resume(T0 + 4 * DAY) is run
    assert run.elapsed_s(T0 + 3 * DAY) == 2 * DAY
    assert run.elapsed_s(T0 + 3.75 * DAY) == pytest.approx(2.75 * DAY)
    assert profile.setpoint_at(run.elapsed_s(T0 + 3.75 * DAY)) == pytest.approx(18.5)


def test_start_at_an_offset_is_that_far_in_right_away():
    profile = brewpi_sample()
    run = ProfileRun.start_at_offset(T0, 2.75 * DAY)
    assert run.elapsed_s(T0) == 2.75 * DAY
    assert profile.setpoint_at(run.elapsed_s(T0)) == pytest.approx(18.5)
    assert run.elapsed_s(T0 + 3600) == 2.75 * DAY + 3600
    with pytest.raises(ValueError, match="offset_s"):
        ProfileRun.start_at_offset(T0, -1)


def test_state_round_trip_through_json_gives_the_same_setpoint():
    profile = brewpi_sample()
    running = ProfileRun.start_at_offset(T0).pause(T0 + DAY).resume(T0 + 1.5 * DAY)
    paused = running.pause(T0 + 2 * DAY)
    for run in (running, paused):
        restored = ProfileRun.from_state(via_json(run.to_state()))
        assert restored == run
        for now in (T0 + 2.2 * DAY, T0 + 4 * DAY):
            assert profile.setpoint_at(restored.elapsed_s(now)) == profile.setpoint_at(run.elapsed_s(now))
    with pytest.raises(ValueError, match="started_at"):
        ProfileRun.from_state({"paused_at": None})
    with pytest.raises(ValueError, match="not fermentation"):
        ProfileRun.from_state({"kind": "mash", "started_at": T0})


def test_downtime_counts_as_profile_time_unless_paused():
    saved_running = via_json(ProfileRun.start_at_offset(T0).to_state())
    saved_paused = via_json(ProfileRun.start_at_offset(T0).pause(T0 + DAY).to_state())
    back_at = T0 + 3 * DAY  # the server was off from day 1 to day 3
    assert ProfileRun.from_state(saved_running).elapsed_s(back_at) == 3 * DAY
    assert ProfileRun.from_state(saved_paused).elapsed_s(back_at) == 1 * DAY


def test_setpoint_jump_after_an_outage():
    profile = brewpi_sample()
    jump = setpoint_jump_after_outage(profile, 1.5 * DAY, 2.75 * DAY)
    assert jump is not None
    assert (jump.before_c, jump.after_c) == (20.0, pytest.approx(18.5))
    assert jump.delta_c == pytest.approx(-1.5)
    text = jump.describe()
    assert "20.0 °C" in text and "18.5 °C" in text and "30.0 h" in text
    assert setpoint_jump_after_outage(profile, 0.2 * DAY, 1.4 * DAY) is None  # a hold: no change
    to_off = setpoint_jump_after_outage(
        FermentationProfile([Point(0, 20.0), Point(1, 20.0), Point(2, None)]), 0.5 * DAY, 1.5 * DAY
    )
    assert to_off is not None and to_off.after_c is None and to_off.delta_c is None
    assert "off" in to_off.describe()
    with pytest.raises(ValueError):
        setpoint_jump_after_outage(profile, 2 * DAY, 1 * DAY)


# -- mash ----------------------------------------------------------------------------------------


def run_mash(run, start, seconds, vessel_c, dt=1.0):
    """Update once a `dt` for `seconds` from `start`; returns the statuses."""
    return [run.update(start + i * dt, vessel_c) for i in range(int(seconds / dt) + 1)]


def test_hold_starts_within_half_a_degree_and_lasts_hold_min():
    run = MashRun(MashSchedule([Step("saccharification", 66.0, 60)]))
    status = run.update(T0, 60.0)
    assert (status.phase, status.setpoint_c, status.hold_remaining_s) == ("heating", 66.0, 3600.0)
    assert run.update(T0 + 60, 65.4).phase == "heating"  # 0.6 °C short
    assert run.hold_started_at is None
    reached = T0 + 120
    status = run.update(reached, 65.5)
    assert (status.phase, status.hold_remaining_s, status.step_name) == (
        "holding",
        3600.0,
        "saccharification",
    )
    assert run.hold_started_at == reached
    status = run.update(reached + 3599, 66.0)
    assert status.phase == "holding"
    assert status.hold_remaining_s == pytest.approx(1.0)
    assert run.update(reached + 3600, 66.0).phase == "done"
    # from above, too
    high = MashRun(MashSchedule([Step("rest", 66.0, 10)]))
    assert high.update(T0, 66.6).phase == "heating"
    assert high.update(T0 + 1, 66.5).phase == "holding"


def test_a_dip_after_reaching_does_not_restart_the_hold():
    run = MashRun(MashSchedule([Step("rest", 66.0, 30)]))
    run.update(T0, 66.0)
    statuses = run_mash(run, T0 + 60, 600, 61.0, dt=10)  # a 5 °C dip for ten minutes
    assert all(status.phase == "holding" for status in statuses)
    assert statuses[-1].hold_remaining_s == pytest.approx(1800 - 660)
    assert run.update(T0 + 1799, 66.0).phase == "holding"
    assert run.update(T0 + 1800, 66.0).phase == "done"


def test_ramp_rate_moves_the_setpoint_at_that_rate_from_the_step_start():
    schedule = MashSchedule(
        [Step("protein rest", 52.0, 0), Step("saccharification", 66.0, 30, ramp_c_per_min=1.0)]
    )
    run = MashRun(schedule)
    status = run.update(T0, 52.4)  # the zero-hold protein rest passes at once
    # the ramp starts from the vessel temperature at the step's start
    assert (status.step_index, status.phase, status.setpoint_c) == (1, "heating", 52.4)
    assert run.update(T0 + 300, 55.0).setpoint_c == pytest.approx(57.4)
    assert run.update(T0 + 600, 60.0).setpoint_c == pytest.approx(62.4)
    assert run.update(T0 + 14 * 60, 64.0).setpoint_c == 66.0
    assert run.update(T0 + 20 * 60, 65.0).setpoint_c == 66.0  # stops at the target
    assert run.update(T0 + 21 * 60, 65.8).phase == "holding"
    # after a restart the ramp starts again from the vessel, or with no reading from the
    # previous step's temperature (not from where the lost ramp would be by now)
    saved = run.to_state() | {"step_index": 1, "hold_started_at": None, "hold_done_s": 0.0}
    assert MashRun.from_state(schedule, saved).update(T0 + 3600, 53.5).setpoint_c == 53.5
    blind = MashRun.from_state(schedule, saved)
    assert blind.update(T0 + 3600, None).setpoint_c == 52.0
    assert blind.update(T0 + 3660, None).setpoint_c == pytest.approx(53.0)


def test_ramp_starts_from_the_vessel_temperature_and_can_go_down():
    up = MashRun(MashSchedule([Step("mash in", 50.0, 5, ramp_c_per_min=2.0)]))
    assert up.update(T0, 40.0).setpoint_c == 40.0
    assert up.update(T0 + 120, 42.0).setpoint_c == pytest.approx(44.0)
    down = MashRun(MashSchedule([Step("cool", 60.0, 5, ramp_c_per_min=0.5)]))
    assert down.update(T0, 70.0).setpoint_c == 70.0
    assert down.update(T0 + 240, 69.0).setpoint_c == pytest.approx(68.0)
    # no reading and no previous step: no basis for a ramp yet
    blind = MashRun(MashSchedule([Step("mash in", 50.0, 5, ramp_c_per_min=2.0)]))
    assert blind.update(T0, None).setpoint_c is None
    assert blind.update(T0 + 60, 45.0).setpoint_c == 45.0  # the ramp starts at the first reading


def test_confirm_steps_wait_for_the_brewer():
    schedule = MashSchedule(
        [Step("dough in", 67.0, 10, confirm=True), Step("mash out", 76.0, 10, confirm=True)]
    )
    run = MashRun(schedule)
    statuses = run_mash(run, T0, 3600, 67.0, dt=60)  # at temperature, but not confirmed
    assert {(s.phase, s.setpoint_c, s.hold_remaining_s) for s in statuses} == {
        ("waiting_confirm", None, 600.0)
    }
    assert run.hold_started_at is None
    assert run.confirm(T0 + 3600)
    assert not run.confirm(T0 + 3601)  # already confirmed
    status = run.update(T0 + 3602, 67.0)
    assert (status.phase, status.step_name) == ("holding", "dough in")
    status = run.update(T0 + 3602 + 600, 67.0)
    # the next confirm step waits, holding the previous step's temperature
    assert (status.step_index, status.phase, status.setpoint_c) == (1, "waiting_confirm", 67.0)
    assert run.update(T0 + 9000, 67.0).phase == "waiting_confirm"
    assert run.confirm(T0 + 9000)
    status = run.update(T0 + 9001, 70.0)
    assert (status.phase, status.setpoint_c) == ("heating", 76.0)
    assert not MashRun(MashSchedule([Step("rest", 66.0, 10)])).confirm(T0)  # nothing to confirm


def test_a_missing_reading_never_starts_a_hold():
    run = MashRun(MashSchedule([Step("rest", 66.0, 10)]))
    statuses = run_mash(run, T0, 3 * 3600, None, dt=30)
    assert {(s.phase, s.setpoint_c, s.hold_remaining_s) for s in statuses} == {("heating", 66.0, 600.0)}
    assert run.update(T0 + 4 * 3600, math.nan).phase == "heating"
    assert run.hold_started_at is None
    assert run.update(T0 + 5 * 3600, 66.0).phase == "holding"


def test_state_round_trip_mid_hold_keeps_the_hold_progress():
    schedule = MashSchedule([Step("rest", 66.0, 60), Step("mash out", 76.0, 10)])
    run = MashRun(schedule)
    run.update(T0, 66.0)
    run_mash(run, T0, 1800, 66.0, dt=60)  # half the hold done, state saved each tick
    state = via_json(run.to_state())
    assert state["step_index"] == 0 and state["hold_done_s"] == 1800.0 and state["hold_started_at"] == T0

    # power back after two hours, the mash found cooled: the hold waits to be back in band
    back_at = T0 + 1800 + 7200
    restored = MashRun.from_state(schedule, state)
    status = restored.update(back_at, 60.0)
    assert (status.phase, status.setpoint_c, status.hold_remaining_s) == ("heating", 66.0, 1800.0)
    assert restored.update(back_at + 600, 62.0).hold_remaining_s == 1800.0
    status = restored.update(back_at + 900, 65.6)
    assert (status.phase, status.hold_remaining_s) == ("holding", 1800.0)
    assert restored.hold_started_at == T0  # when it was first reached
    assert restored.update(back_at + 900 + 1799, 66.0).phase == "holding"
    status = restored.update(back_at + 900 + 1800, 66.0)
    assert (status.step_index, status.step_name, status.phase) == (1, "mash out", "heating")

    # a restart found at temperature carries straight on
    quick = MashRun.from_state(schedule, state)
    assert quick.update(T0 + 1805, 66.0).hold_remaining_s == 1800.0
    assert quick.update(T0 + 1805 + 1800, 66.0).step_index == 1


def test_mash_state_round_trip_keeps_the_confirmation():
    schedule = MashSchedule([Step("dough in", 67.0, 10, confirm=True)])
    run = MashRun(schedule)
    run.update(T0, 60.0)
    run.confirm(T0 + 5)
    restored = MashRun.from_state(schedule, via_json(run.to_state()))
    assert restored.confirmed_at == T0 + 5
    assert restored.update(T0 + 10, 60.0).phase == "heating"


def test_mash_state_that_does_not_fit_is_refused():
    schedule = MashSchedule([Step("rest", 66.0, 60)])
    with pytest.raises(ValueError, match="step_index"):
        MashRun.from_state(schedule, {"kind": "mash", "step_index": 3})
    with pytest.raises(ValueError, match="not mash"):
        MashRun.from_state(schedule, {"kind": "fermentation", "started_at": T0})
    with pytest.raises(ValueError, match="hold_done_s"):
        MashRun.from_state(schedule, {"step_index": 0, "hold_done_s": 60.0, "hold_started_at": None})


def test_done_after_the_last_step_turns_control_off():
    schedule = MashSchedule([Step("beta", 63.0, 30), Step("alpha", 72.0, 30)])
    run = MashRun(schedule)
    run.update(T0, 63.0)
    assert run.update(T0 + 900, 63.0).progress == pytest.approx(0.25)
    status = run.update(T0 + 1800, 72.0)  # beta done, alpha already reached
    assert (status.step_index, status.phase, status.progress) == (1, "holding", 0.5)
    status = run.update(T0 + 3600, 72.0)
    assert status.done
    assert (status.step_index, status.step_name, status.setpoint_c, status.hold_remaining_s) == (
        2,
        None,
        None,
        0,
    )
    assert status.progress == 1.0
    assert run.update(T0 + 7200, 20.0).phase == "done"
    assert MashRun(MashSchedule([])).update(T0, 20.0).done


def test_steps_are_validated():
    with pytest.raises(ValueError, match="hold_min"):
        Step("rest", 66.0, -1)
    with pytest.raises(ValueError, match="ramp_c_per_min"):
        Step("rest", 66.0, 10, ramp_c_per_min=0)
    with pytest.raises(ValueError, match="name"):
        Step(" ", 66.0, 10)
    with pytest.raises(ValueError, match="temperature_c"):
        Step("rest", math.inf, 10)
