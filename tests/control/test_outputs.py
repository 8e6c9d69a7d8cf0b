"""Outputs on a virtual clock: every relay constraint stepped across its limit, the duty
preserved under min on/off, never heat and cool together."""

import random

import pytest

from app.control.outputs import DutyWindow, MinOff, MinOn, Relay, protected_pair

BOOT = 1000.0


def pair():
    return protected_pair(BOOT, heat_min_on=0, heat_min_off=0, cool_min_on=180, cool_min_off=300, dead_s=600)


def test_compressor_min_off_counts_from_boot():
    relay = Relay("cool", BOOT, [MinOn(180), MinOff(300)])
    assert relay.request(True, BOOT + 299.999) is False
    assert relay.held_by == "min_off" and relay.hold_s == pytest.approx(0.001)
    assert relay.request(True, BOOT + 300) is True


def test_min_on_then_min_off_across_each_limit():
    relay = Relay("cool", BOOT, [MinOn(180), MinOff(300)])
    relay.request(True, BOOT + 300)
    assert relay.request(False, BOOT + 479.999) is True and relay.held_by == "min_on"
    assert relay.request(False, BOOT + 480) is False
    assert relay.request(True, BOOT + 779.999) is False and relay.held_by == "min_off"
    assert relay.request(True, BOOT + 780) is True


def test_heat_and_cool_interlock_and_dead_time_across_the_limit():
    heater, cooler = pair()
    assert heater.request(True, BOOT + 599.999) is False and heater.held_by == "dead_time"  # from boot
    assert heater.request(True, BOOT + 600) is True
    assert cooler.request(True, BOOT + 700) is False and cooler.held_by == "interlock"
    heater.request(False, BOOT + 800)
    assert cooler.request(True, BOOT + 1399.999) is False and cooler.held_by == "dead_time"
    assert cooler.request(True, BOOT + 1400) is True


def test_random_requests_never_put_heat_and_cool_on_together_nor_break_min_times():
    rng = random.Random(7)
    heater, cooler = pair()
    now = BOOT
    last_change = {"heat": BOOT, "cool": BOOT}
    for _ in range(20_000):
        now += rng.choice([0.5, 1, 5, 30, 120])
        for relay in (heater, cooler):
            before = relay.on
            relay.request(rng.random() < 0.5, now)
            if relay.on != before:
                if relay is cooler:
                    gap = now - last_change["cool"]
                    assert gap >= (180 if before else 300), (before, gap)
                last_change[relay.name] = now
        assert not (heater.on and cooler.on)


def run(duty_of, window, min_on, min_off, seconds, dt=1.0):
    """Drive a DutyWindow and a Relay; return (on-seconds, starts per window list)."""
    window_rule = DutyWindow(window, min_on, min_off)
    relay = Relay("cool", BOOT - 10_000, [MinOn(min_on), MinOff(min_off)])
    on_s = 0.0
    starts = []
    now = BOOT
    while now < BOOT + seconds:
        was_on = relay.on
        relay.request(window_rule.wanted(duty_of(now), now), now)
        if relay.on and not was_on:
            starts.append(now)
        if relay.on:
            on_s += dt
        now += dt
    return on_s, starts


@pytest.mark.parametrize("duty", [0.05, 0.1, 0.2, 0.5, 0.8, 0.9, 0.95])
def test_average_duty_is_preserved_under_compressor_limits(duty):
    hours = 48
    on_s, starts = run(lambda now: duty, window=1200, min_on=180, min_off=300, seconds=hours * 3600)
    assert on_s / (hours * 3600) == pytest.approx(duty, abs=0.01)
    per_hour = {}
    for start in starts:
        per_hour[int((start - BOOT) // 3600)] = per_hour.get(int((start - BOOT) // 3600), 0) + 1
    assert max(per_hour.values(), default=0) <= 3  # at most one start per 20-min window


def test_short_duty_skips_a_window_and_owes_it_to_the_next():
    rule = DutyWindow(1200, min_on_s=180, min_off_s=300)
    assert rule.wanted(0.1, 0.0) is False  # 120 s < min on: skipped
    assert rule.wanted(0.1, 1200.0) is True  # 120 owed + 120 = 240 s this window
    assert rule.wanted(0.1, 1439.0) is True
    assert rule.wanted(0.1, 1440.0) is False


def test_long_duty_stays_on_the_whole_window_and_gives_the_surplus_back():
    rule = DutyWindow(1200, min_on_s=180, min_off_s=300)
    assert rule.wanted(0.9, 0.0) is True and rule.planned_on_s == 1200  # a 120 s rest < min off
    for t in range(1, 1200):
        rule.wanted(0.9, float(t))
    rule.wanted(0.9, 1200.0)
    assert rule.carry_s == pytest.approx(-120)
    assert rule.planned_on_s == 1200  # 1080 - 120 = 960 still leaves a rest under min off
    for t in range(1201, 2400):
        rule.wanted(0.9, float(t))
    rule.wanted(0.9, 2400.0)
    assert rule.carry_s == pytest.approx(-240)
    assert rule.planned_on_s == pytest.approx(840)  # 3 windows: 1200 + 1200 + 840 = 3 x 1080


def test_a_dropping_duty_ends_the_on_time_early_instead_of_forcing_a_whole_window():
    rule = DutyWindow(1200, min_on_s=180, min_off_s=300)
    assert rule.wanted(0.95, 0.0) is True
    assert rule.wanted(0.95, 300.0) is True
    assert rule.wanted(0.1, 301.0) is False  # owed is now far below what already ran


def test_invalid_window_is_refused():
    with pytest.raises(ValueError):
        DutyWindow(0)


def test_a_stopped_window_owes_nothing_and_the_next_duty_starts_a_fresh_window():
    window = DutyWindow(1200, min_on_s=180, min_off_s=300)
    assert window.wanted(0.1, 0.0) is False  # 120 s is under min on: skipped and carried
    assert window.wanted(0.1, 1200.0) is True  # 120 s owed + 120 s asked
    assert window.wanted(0.0, 1210.0) is True  # duty gone, the carried 120 s still planned
    window.stop(1211.0)
    assert window.carry_s == 0.0
    assert window.wanted(0.5, 1300.0) is True  # resumed: a fresh window, owing nothing
    assert window.window_start == 1300.0 and window.planned_on_s == pytest.approx(600.0)
    assert window.wanted(0.5, 1899.0) is True
    assert window.wanted(0.5, 1900.0) is False


def stopped_and_resumed(lost_at: float, lost_for_s: float, until: float) -> list[tuple[float, bool]]:
    """A compressor at 100 % duty from BOOT (min off long past), its loop stopped at
    `lost_at` for `lost_for_s` (a lost probe), then asked for 100 % again, tick by tick,
    as FermenterControl drives it. Returns the relay's edges."""
    window = DutyWindow(1200, min_on_s=180, min_off_s=300)
    relay = Relay("cool", BOOT - 10_000, [MinOn(180), MinOff(300)])
    edges = []
    now = BOOT
    while now < until:
        was_on = relay.on
        if lost_at <= now < lost_at + lost_for_s:
            window.stop(now)
            relay.request(False, now)
        elif relay.request(window.wanted(1.0, now), now) and not was_on:
            window.started(now)
        if relay.on != was_on:
            edges.append((now, relay.on))
        now += 1.0
    return edges


@pytest.mark.parametrize("lost_for_s", [60.0, 180.0, 299.0])
def test_a_stopped_compressor_asked_for_full_duty_again_restarts_when_min_off_allows(lost_for_s):
    lost_at = BOOT + 600.0  # mid-window, past min on: it goes off at once
    edges = stopped_and_resumed(lost_at, lost_for_s, until=BOOT + 3000.0)
    assert edges[:3] == [(BOOT, True), (lost_at, False), (lost_at + 300.0, True)]  # min off, no later


def test_a_compressor_stopped_longer_than_min_off_restarts_at_the_first_tick_of_duty():
    lost_at = BOOT + 600.0
    edges = stopped_and_resumed(lost_at, 420.0, until=BOOT + 3000.0)
    assert edges[:3] == [(BOOT, True), (lost_at, False), (lost_at + 420.0, True)]


def test_a_restarted_compressor_keeps_one_start_per_window_and_its_duty():
    """After the restart the window is timed from the real start: at 100 % it stays on
    (no second start in that window) and the average duty afterwards is still the asked one."""
    window = DutyWindow(1200, min_on_s=180, min_off_s=300)
    relay = Relay("cool", BOOT - 10_000, [MinOn(180), MinOff(300)])
    starts, on_s = [], 0.0
    for second in range(int(12 * 3600)):
        now = BOOT + second
        duty = 1.0 if second < 3600 else 0.5
        was_on = relay.on
        if 600 <= second < 660:
            window.stop(now)
            relay.request(False, now)
        elif relay.request(window.wanted(duty, now), now) and not was_on:
            window.started(now)
        if relay.on and not was_on:
            starts.append(second)
        if second >= 3600 + 1200 and relay.on:
            on_s += 1.0
    assert starts[:2] == [0, 900]
    assert all(b - a >= 1200 for a, b in zip(starts[1:], starts[2:], strict=False))  # one per window
    assert on_s / (12 * 3600 - 3600 - 1200) == pytest.approx(0.5, abs=0.02)


def test_a_reboot_rearms_min_off_and_dead_time_from_the_boot():
    heater, cooler = pair()
    assert cooler.request(True, BOOT + 600) is True
    for relay in (heater, cooler):
        relay.rebooted(BOOT + 700, BOOT + 701)
    assert not cooler.on and cooler.changed_at == BOOT + 700
    # the heater "went off" at the boot too: the dead time, 600 s, outlasts min off
    assert cooler.request(True, BOOT + 1299.999) is False and cooler.held_by == "dead_time"
    assert cooler.request(True, BOOT + 1300) is True
