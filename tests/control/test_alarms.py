"""Alarms on a virtual clock: the latched state machine, every chamber rule stepped across
its limit (1 s before, at, after), series rules, and outside publications on `alarms`."""

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from app.control.alarms.book import (
    ACTIVE_ACKNOWLEDGED,
    ACTIVE_UNACKNOWLEDGED,
    ALL,
    CLEARED,
    CLEARED_UNACKNOWLEDGED,
    AlarmBook,
    AlarmRecord,
)
from app.control.alarms.chamber_rules import DAY_S, AlarmLimits, ChamberAlarmRules, ChamberTick
from app.control.alarms.finding import ADVISORY, CRITICAL
from app.control.alarms.series_rules import SeriesRule
from app.control.alarms.wire import Acknowledge, OutsideAlarm, parse_alarm_publication

T0 = 1_763_892_000.0  # 2025-11-23T10:00:00Z
SRC = "controller_1::chamber_2"
HOUR = 3600.0


def stored(book, change, alarm_id):
    """What the caller does with a new alarm: insert the row, hand the id back."""
    return book.assign_id(change, alarm_id)


def raised(book, code, now, alarm_id, source=SRC):
    change = book.raise_(source, code, "warning", f"{code} happened", now)
    assert change is not None and change.event == "raised" and change.id is None
    return stored(book, change, alarm_id)


# -- the state machine ---------------------------------------------------------------------
def test_raise_acknowledge_clear_walks_the_three_states_and_archives():
    book = AlarmBook()
    change = raised(book, "deviation", T0, 7)
    assert change.id == 7 and change.state == ACTIVE_UNACKNOWLEDGED
    assert change.as_message() == {
        "id": 7,
        "source": SRC,
        "code": "deviation",
        "severity": "warning",
        "msg": "deviation happened",
        "state": ACTIVE_UNACKNOWLEDGED,
        "raised_at": "2025-11-23T10:00:00.000Z",
    }
    (ack,) = book.acknowledge([7], T0 + 10)
    assert ack.event == "acknowledged" and ack.state == ACTIVE_ACKNOWLEDGED and ack.id == 7
    assert [a.id for a in book.active()] == [7]
    cleared = book.clear(SRC, "deviation", T0 + 20)
    assert cleared.state == CLEARED and cleared.id == 7
    assert book.entries() == [] and book.active() == []
    row = cleared.row_values()
    assert row["acknowledged_at"] == datetime.fromtimestamp(T0 + 10, UTC)
    assert row["cleared_at"] == datetime.fromtimestamp(T0 + 20, UTC)
    assert row["message"] == "deviation happened" and "id" not in row


def test_cleared_while_unacknowledged_stays_latched_until_acknowledged():
    book = AlarmBook()
    raised(book, "door_open", T0, 3)
    latched = book.clear(SRC, "door_open", T0 + 5)
    assert latched.state == CLEARED_UNACKNOWLEDGED
    assert [a.state for a in book.entries()] == [CLEARED_UNACKNOWLEDGED]
    assert book.active() == []
    assert book.clear(SRC, "door_open", T0 + 6) is None  # already cleared
    (ack,) = book.acknowledge(ALL, T0 + 9)
    assert ack.state == CLEARED and book.entries() == []


def test_raising_an_active_alarm_again_does_not_duplicate_it():
    book = AlarmBook()
    raised(book, "high_temp", T0, 1)
    assert book.raise_(SRC, "high_temp", "critical", "again", T0 + 1) is None
    book.acknowledge(ALL, T0 + 2)
    assert book.raise_(SRC, "high_temp", "critical", "again", T0 + 3) is None
    assert len(book.entries()) == 1 and book.entries()[0].message == "high_temp happened"


def test_a_latched_alarm_raised_again_becomes_active_with_the_same_id():
    book = AlarmBook()
    raised(book, "deviation", T0, 4)
    book.clear(SRC, "deviation", T0 + 5)
    again = book.raise_(SRC, "deviation", "warning", "back", T0 + 9)
    assert again.event == "reraised" and again.id == 4 and again.state == ACTIVE_UNACKNOWLEDGED
    assert len(book.entries()) == 1


def test_after_archiving_the_same_condition_raises_a_new_alarm():
    book = AlarmBook()
    raised(book, "deviation", T0, 4)
    book.acknowledge(ALL, T0 + 1)
    book.clear(SRC, "deviation", T0 + 2)
    again = book.raise_(SRC, "deviation", "warning", "back", T0 + 3)
    assert again.event == "raised" and again.id is None


def test_acknowledge_by_ids_touches_only_those_and_all_touches_every_listed_alarm():
    book = AlarmBook()
    raised(book, "a", T0, 1)
    raised(book, "b", T0 + 1, 2)
    raised(book, "c", T0 + 2, 3)
    book.clear(SRC, "c", T0 + 3)  # latched
    changes = book.acknowledge([2, 99], T0 + 4)
    assert [c.id for c in changes] == [2]
    assert {a.code: a.state for a in book.entries()} == {
        "a": ACTIVE_UNACKNOWLEDGED,
        "b": ACTIVE_ACKNOWLEDGED,
        "c": CLEARED_UNACKNOWLEDGED,
    }
    assert book.acknowledge([2], T0 + 5) == []  # already acknowledged
    changes = book.acknowledge(ALL, T0 + 6)
    assert {c.id: c.state for c in changes} == {1: ACTIVE_ACKNOWLEDGED, 3: CLEARED}
    assert [a.code for a in book.entries()] == ["a", "b"]
    assert book.acknowledge(ALL, T0 + 7) == []


def test_pending_id_is_not_acknowledged_by_id_but_by_all():
    book = AlarmBook()
    book.raise_(SRC, "x", "warning", "x", T0)
    assert book.acknowledge([1], T0 + 1) == []
    assert len(book.acknowledge(ALL, T0 + 1)) == 1


def test_unknown_severity_is_refused():
    with pytest.raises(ValueError, match="severity"):
        AlarmBook().raise_(SRC, "x", "panic", "x", T0)


def test_book_is_restored_from_stored_rows_skipping_archived_ones():
    def at(seconds):
        return datetime.fromtimestamp(T0 + seconds, UTC)

    rows = [
        {"id": 1, "source": SRC, "code": "a", "severity": "warning", "message": "m",
         "raised_at": at(0), "acknowledged_at": None, "cleared_at": None},
        {"id": 2, "source": SRC, "code": "b", "severity": "warning", "message": "m",
         "raised_at": at(1), "acknowledged_at": at(2), "cleared_at": at(3)},
        {"id": 3, "source": SRC, "code": "c", "severity": "critical", "message": "m",
         "raised_at": at(2), "acknowledged_at": None, "cleared_at": at(4)},
    ]  # fmt: skip
    book = AlarmBook.from_records(rows)
    listed = [(a.id, a.state) for a in book.entries()]
    assert listed == [(1, ACTIVE_UNACKNOWLEDGED), (3, CLEARED_UNACKNOWLEDGED)]
    assert book.raise_(SRC, "a", "warning", "m", T0 + 10) is None
    (ack,) = book.acknowledge([3], T0 + 11)
    assert ack.state == CLEARED and book.get(SRC, "c") is None
    record = AlarmRecord(9, "system", "1001", "warning", "m", T0)
    assert AlarmBook.from_records([record]).get("system", 1001).id == 9


# -- chamber rules -------------------------------------------------------------------------
def tick(**changes):
    base = ChamberTick(mode="beer", beer_c=20.0, beer_set_c=20.0, fridge_c=18.0)
    return replace(base, **changes)


class Chamber:
    """Rules plus a book, as the loop uses them, with a one-second tick.

    `run` steps the rules' clock; the book is stamped with that time plus `wall_offset`,
    the wall clock (0 unless a test tells the two clocks apart).
    """

    def __init__(self, **limits):
        self.rules = ChamberAlarmRules("Lager Chamber", AlarmLimits(**limits))
        self.book = AlarmBook()
        self.last: dict = {}
        self.now = 0.0
        self.wall_offset = 0.0

    def wall(self):
        return self.now + self.wall_offset

    def run(self, start, end, **fields):
        """Tick every second from start to end inclusive with the same readings."""
        self.now = start
        while self.now <= end:
            self.last = self.rules.evaluate(tick(**fields), self.now)
            self.book.apply(SRC, self.last, self.wall())
            self.now += 1.0
        self.now = end

    def codes(self):
        return {a.code for a in self.book.active()}


def test_deviation_raises_at_the_delay_and_clears_at_80_percent_of_the_limit():
    chamber = Chamber(deviation_c=2.0, deviation_delay_min=60)
    chamber.run(T0, T0 + HOUR - 1, beer_c=22.5)
    assert "deviation" not in chamber.codes()
    chamber.run(T0 + HOUR, T0 + HOUR, beer_c=22.5)
    assert "deviation" in chamber.codes()
    message = chamber.last["deviation"].message
    assert "Lager Chamber" in message and "22.5" in message and "2.5" in message and "20.0" in message
    chamber.run(T0 + HOUR + 1, T0 + HOUR + 10, beer_c=21.7)  # 1.7: inside the hysteresis band
    assert "deviation" in chamber.codes()
    chamber.run(T0 + HOUR + 11, T0 + HOUR + 11, beer_c=21.55)  # below 1.6 = 80 % of 2.0
    assert "deviation" not in chamber.codes()


def test_deviation_clock_restarts_when_the_beer_comes_back_inside_the_limit():
    chamber = Chamber(deviation_c=2.0, deviation_delay_min=10)
    chamber.run(T0, T0 + 500, beer_c=17.5)
    chamber.run(T0 + 501, T0 + 501, beer_c=18.0)  # exactly 2.0: not over
    chamber.run(T0 + 502, T0 + 502 + 599, beer_c=17.5)
    assert "deviation" not in chamber.codes()
    chamber.run(T0 + 1102, T0 + 1102, beer_c=17.5)
    assert "deviation" in chamber.codes()


def test_deviation_is_suppressed_after_a_setpoint_change_and_counts_from_the_window_end():
    chamber = Chamber(deviation_c=1.0, deviation_delay_min=10, suppress_after_change_min=60)
    changed = T0
    chamber.run(T0, T0 + HOUR - 1, beer_c=15.0, setpoint_changed_at=changed)
    assert "deviation" not in chamber.codes() and chamber.last["deviation"] is None
    window_end = T0 + HOUR
    chamber.run(window_end, window_end + 599, beer_c=15.0, setpoint_changed_at=changed)
    assert "deviation" not in chamber.codes()
    chamber.run(window_end + 600, window_end + 600, beer_c=15.0, setpoint_changed_at=changed)
    assert "deviation" in chamber.codes()
    # a profile step suppresses too, and clears the alarm about the old setpoint
    step = window_end + 700
    chamber.run(step, step, beer_c=15.0, setpoint_changed_at=changed, profile_step_at=step)
    assert "deviation" not in chamber.codes()


def test_deviation_only_in_beer_and_profile_modes():
    chamber = Chamber(deviation_c=1.0, deviation_delay_min=0)
    chamber.run(T0, T0 + 5, beer_c=25.0, mode="fridge")
    assert "deviation" not in chamber.codes()
    chamber.run(T0 + 6, T0 + 6, beer_c=25.0, mode="profile")
    assert "deviation" in chamber.codes()
    chamber.run(T0 + 7, T0 + 7, beer_c=25.0, mode="off")
    assert "deviation" not in chamber.codes()


def test_absolute_high_and_low_across_the_delay_with_hysteresis():
    chamber = Chamber(high_c=25.0, low_c=5.0, absolute_delay_s=60, deviation_c=None)
    chamber.run(T0, T0 + 59, beer_c=25.1)
    assert "high_temp" not in chamber.codes()
    chamber.run(T0 + 60, T0 + 60, beer_c=25.1)
    assert "high_temp" in chamber.codes()
    assert "25.1" in chamber.last["high_temp"].message and chamber.last["high_temp"].severity == CRITICAL
    chamber.run(T0 + 61, T0 + 61, beer_c=24.6)
    assert "high_temp" in chamber.codes()
    chamber.run(T0 + 62, T0 + 62, beer_c=24.5)
    assert "high_temp" not in chamber.codes()
    chamber.run(T0 + 100, T0 + 160, beer_c=4.9)
    assert "low_temp" in chamber.codes()
    chamber.run(T0 + 161, T0 + 161, beer_c=5.5)
    assert "low_temp" not in chamber.codes()


def test_sensor_lost_raises_at_once_and_clears_when_back():
    chamber = Chamber()
    chamber.run(T0, T0, beer_c=None, beer_lost=True, fridge_lost=True)
    assert {"sensor_lost_beer", "sensor_lost_fridge"} <= chamber.codes()
    assert chamber.last["sensor_lost_beer"].severity == CRITICAL
    chamber.run(T0 + 1, T0 + 1, fridge_lost=True)
    assert "sensor_lost_beer" not in chamber.codes() and "sensor_lost_fridge" in chamber.codes()
    chamber.run(T0 + 2, T0 + 2)
    assert "sensor_lost_fridge" not in chamber.codes()


def test_missing_beer_reading_holds_the_beer_temperature_rules():
    chamber = Chamber(high_c=25.0, absolute_delay_s=0)
    chamber.run(T0, T0, beer_c=30.0)
    assert "high_temp" in chamber.codes()
    chamber.run(T0 + 1, T0 + 1, beer_c=None)
    assert "high_temp" in chamber.codes() and "high_temp" not in chamber.last


def test_board_silent_raises_holds_the_rest_and_clears_when_online():
    chamber = Chamber(high_c=25.0, absolute_delay_s=0)
    chamber.run(T0, T0, beer_c=30.0)
    chamber.run(T0 + 1, T0 + 1, board_online=False, beer_c=None, beer_lost=True)
    assert set(chamber.last) == {"board_silent"}
    assert {"board_silent", "high_temp"} <= chamber.codes()
    assert "sensor_lost_beer" not in chamber.codes()
    chamber.run(T0 + 2, T0 + 2, beer_c=20.0)
    assert chamber.codes() == set()


def test_output_not_achieving_its_duty_across_the_limit():
    chamber = Chamber(output_shortfall_min=30)
    short = {"heat_duty": 0.9, "heat_duty_achieved": 0.2}
    chamber.run(T0, T0 + 1799, **short)
    assert "heat_duty_not_achieved" not in chamber.codes()
    chamber.run(T0 + 1800, T0 + 1800, **short)
    assert "heat_duty_not_achieved" in chamber.codes()
    assert "20%" in chamber.last["heat_duty_not_achieved"].message
    chamber.run(T0 + 1801, T0 + 1801, heat_duty=0.9, heat_duty_achieved=0.8)
    assert "heat_duty_not_achieved" not in chamber.codes()
    # a low request that is not met is no alarm
    chamber.run(T0 + 2000, T0 + 6000, cool_duty=0.3, cool_duty_achieved=0.0)
    assert "cool_duty_not_achieved" not in chamber.codes()


def test_compressor_running_too_long_without_a_break():
    chamber = Chamber(compressor_max_run_h=2)
    chamber.run(T0, T0 + 2 * HOUR - 1, cool_on=True)
    assert "compressor_run_long" not in chamber.codes()
    chamber.run(T0 + 2 * HOUR, T0 + 2 * HOUR, cool_on=True)
    assert "compressor_run_long" in chamber.codes()
    chamber.run(T0 + 2 * HOUR + 1, T0 + 2 * HOUR + 1, cool_on=False)
    assert "compressor_run_long" not in chamber.codes()
    # a break restarts the clock
    chamber.run(T0 + 3 * HOUR, T0 + 5 * HOUR - 1, cool_on=True)
    assert "compressor_run_long" not in chamber.codes()


def test_heat_cool_alternation_counted_over_24_hours():
    rules = ChamberAlarmRules("Ale Chamber", AlarmLimits(max_alternations_per_day=3))
    directions = ["heat", "cool", "heat", "cool"]  # 3 changes
    for index, direction in enumerate(directions):
        now = T0 + index * HOUR
        found = rules.evaluate(tick(heat_on=direction == "heat", cool_on=direction == "cool"), now)
    assert found["heat_cool_alternating"] is None
    idle = rules.evaluate(tick(), T0 + 5 * HOUR)  # both off: not a change of direction
    assert idle["heat_cool_alternating"] is None
    found = rules.evaluate(tick(heat_on=True), T0 + 6 * HOUR)  # the 4th change
    assert "4 times" in found["heat_cool_alternating"].message
    # the first change (at T0 + 1 h) leaves the 24 h window at T0 + 25 h
    assert rules.evaluate(tick(), T0 + 25 * HOUR - 1)["heat_cool_alternating"] is not None
    assert rules.evaluate(tick(), T0 + 25 * HOUR)["heat_cool_alternating"] is None


@pytest.mark.parametrize(
    ("field", "code", "severity"),
    [("door_open", "door_open", "warning"), ("high_level", "high_level", "critical"),
     ("pilot_out", "pilot_light_out", "critical")],
)  # fmt: skip
def test_switch_inputs_in_their_alarm_state(field, code, severity):
    chamber = Chamber(switch_delay_s=30)
    chamber.run(T0, T0 + 29, **{field: True})
    assert code not in chamber.codes()
    chamber.run(T0 + 30, T0 + 30, **{field: True})
    assert code in chamber.codes() and chamber.last[code].severity == severity
    chamber.run(T0 + 31, T0 + 31, **{field: False})
    assert code not in chamber.codes()


def test_stuck_sensor_is_advisory_after_30_min_unchanged_at_high_duty():
    chamber = Chamber()
    start = T0

    def run(seconds, duty=0.95):
        chamber.run(start + seconds, start + seconds, cool_duty=duty, beer_unchanged_s=seconds)

    for seconds in range(0, 1800, 60):
        run(seconds)
    run(1799)
    assert "sensor_stuck_beer" not in chamber.codes()
    run(1800)
    assert "sensor_stuck_beer" in chamber.codes()
    finding = chamber.last["sensor_stuck_beer"]
    assert finding.severity == ADVISORY and "30 min" in finding.message
    assert "sensor_stuck_fridge" not in chamber.codes()  # the fridge reading moved
    run(1801, duty=0.5)
    assert "sensor_stuck_beer" not in chamber.codes()


def test_stuck_needs_the_high_duty_for_the_whole_time():
    chamber = Chamber()
    chamber.run(T0, T0, cool_duty=0.5, beer_unchanged_s=3600)
    chamber.run(T0 + 1, T0 + 1799, cool_duty=0.95, beer_unchanged_s=3600)
    assert "sensor_stuck_beer" not in chamber.codes()
    chamber.run(T0 + 1800, T0 + 1801, cool_duty=0.95, beer_unchanged_s=3600)
    assert "sensor_stuck_beer" in chamber.codes()


def test_limits_from_settings_and_validation():
    limits = AlarmLimits.from_settings({"deviation_c": 1.5, "deviation_delay_min": None, "high_c": 30})
    assert limits.deviation_c == 1.5 and limits.deviation_delay_min == 60 and limits.high_c == 30
    with pytest.raises(ValueError, match="low_c"):
        AlarmLimits(low_c=20, high_c=20)
    with pytest.raises(ValueError, match="switch_delay_s"):
        AlarmLimits(switch_delay_s=-1)


# -- delays on the monotonic clock ---------------------------------------------------------
M0 = 42.0  # the loop's monotonic clock: seconds since boot, nowhere near an epoch time
WALL_AT_M0 = T0  # what the wall clock read at M0, before any NTP step


@pytest.fixture
def wall_clock(monkeypatch):
    """A Chamber whose wall clock is apart from its monotonic one; `time.time()` reads that
    wall clock, so a rule that read it would see every step the test makes."""
    chamber_holder = {}

    def make(**limits):
        chamber = Chamber(**limits)
        chamber.wall_offset = WALL_AT_M0 - M0
        chamber_holder["chamber"] = chamber
        return chamber

    monkeypatch.setattr(time, "time", lambda: chamber_holder["chamber"].wall())
    return make


SUPPRESS_1H = {"deviation_c": 1.0, "deviation_delay_min": 0, "suppress_after_change_min": 60}
SHORT_HEAT = {"heat_duty": 0.9, "heat_duty_achieved": 0.2}
SHORT_COOL = {"cool_duty": 0.9, "cool_duty_achieved": 0.2}
HIGH_1M = {"high_c": 25.0, "absolute_delay_s": 60, "deviation_c": None}
LOW_1M = {"low_c": 5.0, "absolute_delay_s": 60, "deviation_c": None}
STUCK = {"cool_duty": 0.95, "beer_unchanged_s": 10 * HOUR}
DELAYS = {
    # name: (limits, readings held from M0 on, code, delay on the monotonic clock in s)
    "deviation delay": ({"deviation_c": 2.0, "deviation_delay_min": 10}, {"beer_c": 22.5}, "deviation", 600),
    "after setpoint change": (SUPPRESS_1H, {"beer_c": 15.0, "setpoint_changed_at": M0}, "deviation", HOUR),
    "after profile step": (SUPPRESS_1H, {"beer_c": 15.0, "profile_step_at": M0}, "deviation", HOUR),
    "high delay": (HIGH_1M, {"beer_c": 25.1}, "high_temp", 60),
    "low delay": (LOW_1M, {"beer_c": 4.9}, "low_temp", 60),
    "compressor run": ({"compressor_max_run_h": 2}, {"cool_on": True}, "compressor_run_long", 2 * HOUR),
    "heat shortfall": ({"output_shortfall_min": 30}, SHORT_HEAT, "heat_duty_not_achieved", 1800),
    "cool shortfall": ({"output_shortfall_min": 30}, SHORT_COOL, "cool_duty_not_achieved", 1800),
    "door": ({"switch_delay_s": 30}, {"door_open": True}, "door_open", 30),
    "high level": ({"switch_delay_s": 30}, {"high_level": True}, "high_level", 30),
    "pilot": ({"switch_delay_s": 30}, {"pilot_out": True}, "pilot_light_out", 30),
    "stuck": ({"stuck_min": 30}, STUCK, "sensor_stuck_beer", 1800),
}  # fmt: skip


@pytest.mark.parametrize("step_h", [5, -5])
@pytest.mark.parametrize(("limits", "readings", "code", "delay_s"), DELAYS.values(), ids=DELAYS.keys())
def test_every_delay_is_measured_on_the_monotonic_clock(wall_clock, limits, readings, code, delay_s, step_h):
    chamber = wall_clock(**limits)
    half = M0 + delay_s // 2
    chamber.run(M0, half, **readings)
    chamber.wall_offset += step_h * HOUR  # NTP steps the wall clock half-way through the delay
    chamber.run(half + 1, M0 + delay_s - 1, **readings)
    assert code not in chamber.codes() and chamber.last[code] is None  # 1 s before
    chamber.run(M0 + delay_s, M0 + delay_s, **readings)
    assert code in chamber.codes()  # at
    raised_at = chamber.wall()
    chamber.run(M0 + delay_s + 1, M0 + delay_s + 1, **readings)
    assert chamber.last[code] is not None  # after: still holds, and still the one alarm
    [alarm] = [a for a in chamber.book.active() if a.code == code]
    assert alarm.raised_at == raised_at == WALL_AT_M0 + delay_s + step_h * HOUR  # stamped in wall time


@pytest.mark.parametrize("step_h", [5, -5])
def test_a_wall_clock_step_of_hours_neither_raises_a_deviation_early_nor_delays_it(wall_clock, step_h):
    # a setpoint change at M0 suppresses for 60 min, then the deviation must last 30 min;
    # NTP steps the wall clock by hours (a Pi without an RTC finding the time) 10 min into
    # the suppression and again 15 min into the delay
    chamber = wall_clock(deviation_c=1.0, deviation_delay_min=30, suppress_after_change_min=60)
    readings = {"beer_c": 15.0, "setpoint_changed_at": M0}
    chamber.run(M0, M0 + 600, **readings)
    chamber.wall_offset += step_h * HOUR
    chamber.run(M0 + 601, M0 + 75 * 60, **readings)  # suppressed until 60 min, then 15 min over
    assert "deviation" not in chamber.codes()  # not early: a step forward ended no suppression
    chamber.wall_offset += step_h * HOUR
    due = M0 + 90 * 60
    chamber.run(M0 + 75 * 60 + 1, due - 1, **readings)
    assert "deviation" not in chamber.codes()  # nor shortened the delay
    chamber.run(due, due, **readings)
    assert "deviation" in chamber.codes()  # not late: a step back stretched neither
    assert chamber.book.get(SRC, "deviation").raised_at == WALL_AT_M0 + 90 * 60 + 2 * step_h * HOUR


def test_a_setpoint_change_stamped_in_wall_time_does_not_silence_the_deviation_alarm(caplog):
    # the caller's bug: `now` monotonic, the change stamped with time.time() (years ahead)
    chamber = Chamber(deviation_c=1.0, deviation_delay_min=10, suppress_after_change_min=60)
    with caplog.at_level(logging.ERROR, logger="app.control.alarms.chamber_rules"):
        chamber.run(M0, M0 + 599, beer_c=15.0, setpoint_changed_at=WALL_AT_M0)
        assert "deviation" not in chamber.codes()
        chamber.run(M0 + 600, M0 + 600, beer_c=15.0, setpoint_changed_at=WALL_AT_M0)
    assert "deviation" in chamber.codes()
    [record] = caplog.records  # said once, not every tick
    assert "Lager Chamber" in record.message and "monotonic" in record.message


def test_alternations_leave_the_24_hour_window_on_the_monotonic_clock(wall_clock):
    chamber = wall_clock(max_alternations_per_day=1)
    chamber.run(M0, M0, heat_on=True)
    chamber.run(M0 + 1, M0 + 1, cool_on=True)  # change 1
    chamber.run(M0 + HOUR, M0 + HOUR, heat_on=True)  # change 2: over the limit
    assert "heat_cool_alternating" in chamber.codes()
    chamber.wall_offset -= 12 * HOUR  # NTP steps back half a day
    chamber.run(M0 + HOUR + 1, M0 + HOUR + 1, heat_on=True)
    chamber.run(M0 + DAY_S, M0 + DAY_S, heat_on=True)  # change 1 is 1 s short of 24 h old
    assert "heat_cool_alternating" in chamber.codes()
    chamber.run(M0 + DAY_S + 1, M0 + DAY_S + 1, heat_on=True)  # at 24 h it leaves the window
    assert "heat_cool_alternating" not in chamber.codes()
    chamber.run(M0 + DAY_S + 2, M0 + DAY_S + 2, heat_on=True)
    assert chamber.last["heat_cool_alternating"] is None


def test_series_stale_is_measured_on_the_monotonic_clock(monkeypatch):
    wall = {"now": T0}
    monkeypatch.setattr(time, "time", lambda: wall["now"])
    rule = SeriesRule("ispindel/angle", stale_s=900)
    received = M0  # when the last sample arrived, on the monotonic clock
    assert rule.evaluate(40.0, received, M0 + 899)["stale"] is None
    wall["now"] += 5 * HOUR  # a wall step makes nothing stale
    assert rule.evaluate(40.0, received, M0 + 899)["stale"] is None
    assert rule.evaluate(40.0, received, M0 + 900)["stale"] is not None
    wall["now"] -= 10 * HOUR  # nor hides a stale series
    assert rule.evaluate(40.0, received, M0 + 901)["stale"] is not None


# -- series rules --------------------------------------------------------------------------
def test_series_above_and_below_with_hysteresis():
    rule = SeriesRule("fermenter/gravity", above=1.020, below=1.000, hysteresis=0.002)
    assert rule.source == "series::fermenter/gravity"
    assert rule.evaluate(1.020, T0, T0) == {"above": None, "below": None}
    assert rule.evaluate(1.021, T0, T0)["above"].code == "above"
    assert rule.evaluate(1.0185, T0, T0)["above"] is not None  # inside the hysteresis
    assert rule.evaluate(1.018, T0, T0)["above"] is None
    assert rule.evaluate(0.999, T0, T0)["below"] is not None
    assert rule.evaluate(1.0015, T0, T0)["below"] is not None
    assert rule.evaluate(1.002, T0, T0)["below"] is None
    assert rule.evaluate(None, T0, T0) == {}


def test_series_stale_across_the_limit():
    rule = SeriesRule("ispindel/angle", stale_s=900)
    assert rule.evaluate(40.0, T0, T0 + 899)["stale"] is None
    stale = rule.evaluate(40.0, T0, T0 + 900)["stale"]
    assert stale is not None and "900 s" in stale.message
    assert rule.evaluate(40.0, T0 + 901, T0 + 901)["stale"] is None
    assert rule.evaluate(None, None, T0)["stale"] is not None


def test_series_rule_through_the_book():
    rule = SeriesRule("room_temp", above=30.0)
    book = AlarmBook()
    (change,) = book.apply(rule.source, rule.evaluate(31.0, T0, T0), T0)
    assert change.alarm.source == "series::room_temp" and change.alarm.code == "above"
    (change,) = book.apply(rule.source, rule.evaluate(29.0, T0 + 1, T0 + 1), T0 + 1)
    assert change.state == CLEARED_UNACKNOWLEDGED


# -- outside publications ------------------------------------------------------------------
DEBUGGER_ALARMS = {
    "alarms": [
        {"source": "system", "code": 1001, "msg": "communication error with controller: Lager Chamber"},
        {"source": "controller_1::chamber_2", "code": 1001, "msg": "Setpoint not reached within timelimit"},
    ]
}


def test_the_original_debugger_alarms_are_raised_latched_and_acknowledged():
    parsed = parse_alarm_publication(DEBUGGER_ALARMS)
    assert parsed == [
        OutsideAlarm("system", "1001", "communication error with controller: Lager Chamber"),
        OutsideAlarm("controller_1::chamber_2", "1001", "Setpoint not reached within timelimit"),
    ]
    book = AlarmBook()
    changes = book.raise_outside(parsed, T0)
    assert [c.state for c in changes] == [CLEARED_UNACKNOWLEDGED] * 2
    assert [c.alarm.code for c in changes] == ["1001", "1001"]
    assert book.raise_outside(parse_alarm_publication(DEBUGGER_ALARMS), T0 + 1) == []  # no duplicates
    ack = parse_alarm_publication({"acknowledge": True})
    assert ack == Acknowledge(ALL)
    assert [c.state for c in book.acknowledge(ack.ids, T0 + 2)] == [CLEARED, CLEARED]
    assert book.entries() == []


def test_acknowledge_by_ids_and_the_servers_own_broadcast_is_skipped():
    assert parse_alarm_publication({"acknowledge": [3, 5]}) == Acknowledge((3, 5))
    own = {"alarms": [{"id": 1, "source": SRC, "code": "deviation", "severity": "warning", "msg": "m",
                       "state": ACTIVE_UNACKNOWLEDGED, "raised_at": "2025-11-23T10:00:00.000Z"}]}  # fmt: skip
    assert parse_alarm_publication(own) == []
    assert parse_alarm_publication({"alarms": [{"source": "s", "code": "x", "msg": "m", "note": 1}]}) == [
        OutsideAlarm("s", "x", "m")
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "JSON object"),
        ({}, "acknowledge or alarms"),
        ({"acknowledge": True, "alarms": []}, "not both"),
        ({"acknowledge": False}, "true or a list"),
        ({"acknowledge": "all"}, "true or a list"),
        ({"acknowledge": [1, "2"]}, "positive integers"),
        ({"acknowledge": [True]}, "positive integers"),
        ({"acknowledge": [0]}, "positive integers"),
        ({"alarms": {"source": "s"}}, "must be a list"),
        ({"alarms": ["text"]}, r"alarms\[0\] must be an object"),
        ({"alarms": [{"code": 1, "msg": "m"}]}, r"alarms\[0\].source"),
        ({"alarms": [{"source": "s" * 129, "code": 1, "msg": "m"}]}, "128"),
        ({"alarms": [{"source": "s", "msg": "m"}]}, r"alarms\[0\].code"),
        ({"alarms": [{"source": "s", "code": True, "msg": "m"}]}, "code"),
        ({"alarms": [{"source": "s", "code": 1.5, "msg": "m"}]}, "code"),
        ({"alarms": [{"source": "s", "code": "", "msg": "m"}]}, "code"),
        ({"alarms": [{"source": "s", "code": 1}]}, r"alarms\[0\].msg"),
        ({"alarms": [{"source": "s", "code": 1, "msg": 5}]}, "msg"),
        ({"alarms": [{"source": "s", "code": 1, "msg": "m" * 501}]}, "500"),
        ({"alarms": [{"source": "s", "code": 1, "msg": "m"}] * 101}, "at most 100"),
    ],
)
def test_bad_shapes_are_refused_naming_the_problem(data, problem):
    with pytest.raises(ValueError, match=problem):
        parse_alarm_publication(data)


def test_limits_at_the_edge_are_accepted():
    item = {"source": "s" * 128, "code": "c" * 64, "msg": "m" * 500}
    (parsed,) = parse_alarm_publication({"alarms": [item]})
    assert len(parsed.source) == 128 and len(parsed.msg) == 500
