"""The tuning table (app/control/tuning.py): the dataclasses refuse what it bounds, and
every value it accepts, at both ends of every key, builds a control object that runs
and drives its output."""

from dataclasses import fields, replace
from pathlib import Path

import pytest

from app.control.chamber import FermenterControl, FermenterTuning
from app.control.runtime import ChamberRuntime
from app.control.sensors import SensorStatus
from app.control.tuning import (
    FERMENTER,
    VESSEL,
    TuningError,
    build_tuning,
    tuning_defaults,
    tuning_fields,
    wired_values,
)
from app.control.vessel import VesselControl, VesselTuning
from app.db.models import Chamber, Device

BOOT = 0.0


def ok(value):
    return SensorStatus(value, True, False, None)


def test_every_dataclass_field_has_bounds_and_the_defaults_are_within_them():
    assert set(FERMENTER) == {f.name for f in fields(FermenterTuning)}
    assert set(VESSEL) == {f.name for f in fields(VesselTuning)}
    for table, defaults in ((FERMENTER, FermenterTuning()), (VESSEL, VesselTuning())):
        for name, bound in table.items():
            assert bound.problem(getattr(defaults, name)) is None, name


def out_of_bounds():
    for cls, table in ((FermenterTuning, FERMENTER), (VesselTuning, VESSEL)):
        for name, bound in table.items():
            span = bound.high - bound.low
            for value in (bound.low - span * 1e-3 - 1e-3, bound.high + span * 1e-3 + 1e-3, float("nan")):
                yield pytest.param(cls, name, value, id=f"{cls.__name__}.{name}={value:g}")


@pytest.mark.parametrize(("cls", "name", "value"), out_of_bounds())
def test_the_dataclass_refuses_a_value_out_of_its_bounds_naming_the_field(cls, name, value):
    with pytest.raises(TuningError) as refused:
        replace(cls(), **{name: value})
    assert refused.value.field == name and str(refused.value).startswith(f"{name}: ")
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(
    ("cls", "changes", "field"),
    [
        (FermenterTuning, {"heat_min_on_s": 60.0}, "heat_window_s"),  # a relay on a 10 s SSR window
        (FermenterTuning, {"cool_window_s": 600.0, "cool_min_off_s": 900.0}, "cool_window_s"),
        (VesselTuning, {"min_off_s": 30.0}, "window_s"),
        (VesselTuning, {"window_s": 600.0, "min_on_s": 601.0}, "window_s"),
    ],
)
def test_a_window_shorter_than_its_outputs_min_times_is_refused(cls, changes, field):
    with pytest.raises(TuningError) as refused:
        replace(cls(), **changes)
    assert refused.value.field == field


def test_the_window_may_equal_the_min_times():
    assert replace(VesselTuning(), window_s=600.0, min_on_s=600.0, min_off_s=600.0).window_s == 600.0


@pytest.mark.parametrize(
    ("kind", "overrides", "field", "words"),
    [
        ("fermenter", {"kp": 5.0}, "kp", ("not a tuning key of a fermenter", "beer_kp")),
        ("mash", {"beer_kp": 5.0}, "beer_kp", ("not a tuning key of a mash",)),
        ("kettle", {"dead_s": 300.0}, "dead_s", ("kettle",)),
        ("fermenter", {"cool_min_on_s": 60.0}, "cool_min_on_s", ("cool output device's min_on_s",)),
        ("mash", {"min_off_s": 60.0}, "min_off_s", ("min_off_s",)),
        ("fermenter", {"beer_kp": "5"}, "beer_kp", ("number",)),
        ("fermenter", {"beer_kp": True}, "beer_kp", ("number",)),
        ("mash", {"ti_s": 0.0}, "ti_s", ("from 5 to 1000000 s", "got 0")),
        ("kettle", {"window_s": 0.0}, "window_s", ("got 0",)),
        ("fermenter", {"clamp_c": 0.0}, "clamp_c", ()),
        ("fermenter", {"beer_band_c": float("inf")}, "beer_band_c", ("finite",)),
    ],
)
def test_build_refuses_unknown_keys_and_bad_values_naming_the_field(kind, overrides, field, words):
    with pytest.raises(TuningError) as refused:
        build_tuning(kind, overrides, {})
    assert refused.value.field == field
    for word in words:
        assert word in refused.value.message, (word, refused.value.message)


def test_the_wiring_sets_the_min_times_and_a_window_must_hold_them():
    wired = wired_values("fermenter", [("cool", 240, 360), ("heat", 0, 0), ("fan", 5, 5)])
    assert wired == {
        "cool_min_on_s": 240.0,
        "cool_min_off_s": 360.0,
        "heat_min_on_s": 0.0,
        "heat_min_off_s": 0.0,
    }
    tuning = build_tuning("fermenter", {"dead_s": 300}, wired)
    assert (tuning.cool_min_on_s, tuning.cool_min_off_s, tuning.dead_s) == (240.0, 360.0, 300.0)
    vessel = wired_values("kettle", [("heat", 60, 120), ("cool", 1, 1)])
    assert vessel == {"min_on_s": 60.0, "min_off_s": 120.0}
    with pytest.raises(TuningError) as refused:
        build_tuning("kettle", {}, vessel)  # the default 10 s SSR window cannot hold a contactor
    assert refused.value.field == "window_s" and refused.value.wired == "min_on_s"
    assert build_tuning("kettle", {"window_s": 600}, vessel).min_on_s == 60.0


# -- every accepted value runs -----------------------------------------------------------
def extremes(kind):
    """Each key alone at its low and at its high bound, then every key at once at each."""
    declared = tuning_fields(kind)
    for name, bound in declared.items():
        for end in ("low", "high"):
            yield pytest.param({name: getattr(bound, end)}, id=f"{name}-{end}")
    for end in ("low", "high"):
        yield pytest.param({name: getattr(bound, end) for name, bound in declared.items()}, id=f"all-{end}")


def run_fermenter(tuning, side, seconds, after_s=3600):
    """Beer 4 °C off its setpoint (cold: the heater is wanted, warm: the compressor), the
    room on the same side, for `seconds` or until `after_s` past the first second the
    wanted output was on; returns that second."""
    control = FermenterControl(tuning, BOOT)
    beer, room = (15.0, 10.0) if side == "heat" else (23.0, 30.0)
    wanted = control.heater if side == "heat" else control.cooler
    started = None
    for second in range(1, seconds):
        decision = control.tick(float(second), "beer", 19.0, None, ok(beer), ok(beer), ok(room))
        assert not (decision.heat_on and decision.cool_on)
        assert 0.0 <= decision.heat_duty <= 1.0 and 0.0 <= decision.cool_duty <= 1.0
        if started is None and wanted.on:
            started = second
        if started is not None and second >= started + after_s:
            break
    return started


@pytest.mark.parametrize("overrides", extremes("fermenter"))
@pytest.mark.parametrize("side", ["heat", "cool"])
def test_every_fermenter_key_at_each_bound_runs_and_drives_its_output(overrides, side):
    tuning = build_tuning("fermenter", overrides, wired_values("fermenter", [("cool", 180, 300)]))
    # from boot: the dead time (both sides), the compressor's min off, then the windows'
    # carry for a weak gain. Every key at its low bound at once is the slowest: 1 % duty
    # per °C, which the back-calculation trims while the skipped windows achieve nothing,
    # owes the compressor's 180 s min on only after about 5 h.
    started = run_fermenter(tuning, side, int(tuning.dead_s) + 8 * 3600)
    assert started is not None, f"{side} never came on with {overrides}"
    assert started >= tuning.dead_s  # the dead time counts from boot


def run_vessel(tuning, mode, reading, seconds=1800):
    """`seconds` of ticks on a steady reading; returns the first second the heater was on
    and the last decision."""
    control = VesselControl(tuning, BOOT)
    started = decision = None
    for second in range(1, seconds):
        decision = control.tick(float(second), mode, 66.0, ok(reading))
        assert 0.0 <= decision.heat_duty <= 1.0
        if started is None and decision.heat_on:
            started = second
    return started, decision


@pytest.mark.parametrize("overrides", extremes("mash"))
@pytest.mark.parametrize(("mode", "reading"), [("vessel", 20.0), ("boil", 50.0), ("boil", 101.0)])
def test_every_vessel_key_at_each_bound_runs_and_heats(overrides, mode, reading):
    tuning = build_tuning("kettle", overrides, {})
    started, decision = run_vessel(tuning, mode, reading)
    assert started is not None, f"the heater never came on in {mode} with {overrides}"
    if mode == "boil":
        boiling = reading >= tuning.boil_c
        assert decision.heat_duty == (tuning.boil_duty if boiling else 1.0)


# -- the running chamber -----------------------------------------------------------------
def chamber_row(kind, tuning, devices):
    return Chamber(id=1, name="FV1", kind=kind, tuning=tuning, devices=devices)


def output(device_id, function, slot, min_on_s, min_off_s):
    return Device(
        id=device_id,
        name=function,
        function=function,
        hardware="pin",
        address=str(slot),
        slot=slot,
        min_on_s=min_on_s,
        min_off_s=min_off_s,
    )


def test_a_running_fermenter_takes_its_tuning_and_the_compressor_protection():
    row = chamber_row("fermenter", {"dead_s": 300, "beer_kp": 6}, [output(1, "cool", 4, 60, 60)])
    runtime = ChamberRuntime(row, BOOT, lambda *args: None)
    assert isinstance(runtime.control, FermenterControl)
    tuning = runtime.control.tuning
    assert (tuning.dead_s, tuning.beer_kp) == (300.0, 6.0)
    assert (tuning.cool_min_on_s, tuning.cool_min_off_s) == (180.0, 300.0)  # never below protection


def test_a_stored_tuning_that_cannot_run_stops_only_that_chamber_with_an_alarm_naming_the_field():
    """Before the API checked, {"kp": 5} on a fermenter was stored and silently dropped."""
    row = chamber_row("fermenter", {"kp": 5.0, "dead_s": 300}, [output(1, "heat", 5, 120, 300)])
    row.mode, row.beer_setpoint = "beer", 19.0
    runtime = ChamberRuntime(row, BOOT, lambda *args: None)
    runtime.configure(row, None, BOOT, 1.7e9)
    assert runtime.failed
    finding = runtime.failure_finding()
    assert finding is not None and finding.code == "control_failed" and "tuning.kp" in finding.message
    decision = runtime.decide({1: 15.0}, BOOT + 1, 1.7e9 + 1)  # cold beer: heat would be wanted
    assert decision.state == "control_failed" and not decision.heat_on and not decision.cool_on


def test_a_tuning_change_applies_in_place_and_keeps_the_relays():
    row = chamber_row("fermenter", {}, [output(1, "cool", 4, 180, 300)])
    row.mode, row.beer_setpoint = "beer", 19.0
    runtime = ChamberRuntime(row, BOOT, lambda *args: None)
    runtime.configure(row, None, BOOT, 1.7e9)
    relays = runtime.control.relays()
    row.tuning = {"cool_kp": 2.5, "cool_window_s": 900}
    runtime.configure(row, None, BOOT + 1, 1.7e9 + 1)
    assert runtime.control.relays() == relays  # the same objects: min off and dead time carry on
    assert runtime.control.cool_pid.tuning.kp == 2.5 and runtime.control.cool_window.window_s == 900
    row.tuning = {"cool_kp": 0}
    runtime.configure(row, None, BOOT + 2, 1.7e9 + 2)
    assert runtime.failed and "tuning.cool_kp" in runtime.failure_finding().message


def test_a_running_kettle_takes_its_own_tuning_and_its_heaters_min_times():
    row = chamber_row("kettle", {"window_s": 600, "boil_c": 95}, [output(1, "heat", 5, 60, 120)])
    runtime = ChamberRuntime(row, BOOT, lambda *args: None)
    assert isinstance(runtime.control, VesselControl)
    assert runtime.control.tuning == replace(
        VesselTuning(), window_s=600.0, boil_c=95.0, min_on_s=60.0, min_off_s=120.0
    )


# -- the docs ----------------------------------------------------------------------------
DOCS = Path(__file__).resolve().parents[2] / "docs" / "control.md"


def documented_keys():
    """(key, default, low, high, unit) of each row of docs/control.md "Tuning keys", by table."""
    section = DOCS.read_text().split("\n## Tuning keys\n", 1)[1].split("\n## ", 1)[0]
    tables, rows = [], None
    for line in section.splitlines():
        if line.startswith("| key |"):
            rows = {}
            tables.append(rows)
        elif line.startswith("| `") and rows is not None:
            key, default, span, unit, _ = (cell.strip() for cell in line.strip("|").split("|"))
            low, high = span.split(" to ")
            rows[key.strip("`")] = (float(default), float(low), float(high), "" if unit == "—" else unit)
    return tables


def test_the_docs_list_every_key_with_its_bounds_unit_and_default():
    fermenter, vessel = documented_keys()
    for rows, kind in ((fermenter, "fermenter"), (vessel, "kettle")):
        declared, defaults = tuning_fields(kind), tuning_defaults(kind)
        assert list(rows) == list(declared)
        for name, (default, low, high, unit) in rows.items():
            bound = declared[name]
            assert (low, high, unit) == (bound.low, bound.high, bound.unit), name
            assert default == pytest.approx(defaults[name], rel=1e-3), name
