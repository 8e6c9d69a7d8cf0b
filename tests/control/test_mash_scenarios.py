"""Mash scenarios on the simulated kettle board, audited from the board's pin-edge log:
M1 must meet the targets, M2 the gates, and a lost vessel probe must cut the element."""

from bench.audit import SENSOR_INVALID, Fault, audit
from bench.mash_scenarios import (
    M2_DOUGH_IN,
    m1_schedule,
    m2_schedule,
    mash_physics,
    mash_trace,
    run_mash,
)


def rows_by_name(record, faults=None):
    rows = audit(mash_trace(record, faults), "mash", mash=mash_physics(record))
    return {row.name: row for row in rows}


def test_m1_step_mash_meets_every_gate_and_target():
    record = run_mash(m1_schedule(), plant="mash")
    assert record.done and record.refusals == 0
    assert [entry.step.name for entry in record.steps] == [s.name for s in m1_schedule().steps]
    rows = rows_by_name(record)
    failed = {name: (row.value, row.note) for name, row in rows.items() if not row.met_target}
    assert not failed
    assert rows["mash_step_time_ratio"].value is not None and rows["mash_overshoot_c"].value is not None


def test_m2_single_infusion_doughs_in_on_confirm_and_meets_the_gates():
    record = run_mash(m2_schedule(), plant="kettle", dough_in=M2_DOUGH_IN, confirm_after_s=300.0)
    assert record.done
    dough_in = next(entry for entry in record.steps if entry.step.name == "dough-in")
    assert record.dough_in_s == dough_in.confirmed_s
    assert dough_in.confirmed_s - dough_in.started_s >= 300.0
    assert record.capacity_after_j_per_k == record.capacity_before_j_per_k + 5.0 * 1700.0
    # the grain at 20 °C pulls 72 °C strike water down to about 68 °C
    i = record.t.index(dough_in.confirmed_s + 1.0)
    assert 67.5 < record.vessel_c[i] < 68.5
    rows = rows_by_name(record)
    assert all(row.passed_gate for row in rows.values()), {n: r.value for n, r in rows.items()}


def test_a_lost_vessel_probe_cuts_the_element_and_the_mash_carries_on():
    struck = []

    def unplug(board, t):
        # during a step's climb, with the element on at full power (the mash plant's only
        # relay is the element, so the last edge tells), or the off delay measures nothing
        edges = board.firmware.edges
        climbing = edges and edges[-1].on and board.clock.now - edges[-1].t >= 20.0  # full power
        if not struck and t >= 1200.0 and climbing:
            board.inject("disconnect", probe="vessel", for_s=120.0)
            struck.append(t + 1.0)

    record = run_mash(m1_schedule(), plant="mash", on_tick=unplug)
    assert record.done and struck
    fault = Fault(SENSOR_INVALID, struck[0], struck[0] + 120.0)
    rows = rows_by_name(record, [fault])
    assert rows["sensor_invalid_off_s"].value is not None  # the element was on when it struck
    assert rows["sensor_invalid_off_s"].value <= 10.0
