"""A short F3: a few simulated hours of a pull-down and hold on the simulated board with a
lost beer probe, an 85 °C spike, the host silent for 10 minutes and a board reboot inside
the compressor's min off, audited from the board's pin-edge log. Then the same faults
against a host or board with one safety rule broken, to show the audit catches each."""

import pytest

from app.control.chamber import FermenterControl
from app.control.profiles import FermentationProfile, Point
from app.control.sensors import SensorStatus, SensorValidator
from bench.audit import (
    BOARD_REBOOT,
    FERMENTATION,
    HOST_SILENT,
    SENSOR_INVALID,
    Segment,
    audit,
)
from bench.scenarios import HOUR, PlannedFault, run_fermentation
from devices.simulator.firmware import SimulatedFirmware

SETPOINT = 19.0
LOST = PlannedFault("lost", 0.2 * HOUR, probe="beer", for_s=600.0, when="cooling_past_min_on")
SPIKE = PlannedFault("spike85", 0.2 * HOUR, probe="beer", when="cooling")
SILENT = PlannedFault("host_silent", 0.2 * HOUR, for_s=600.0, when="cooling_past_min_on")
REBOOT = PlannedFault("reboot", 0.2 * HOUR, when="cool_min_off")


def run(faults, hours):
    """A 19 °C hold in a 26 °C room with 5 W of fermentation heat: the compressor runs
    long, and the beer starts at the setpoint, so there is no pull-down to slow down."""
    profile = FermentationProfile([Point(0, SETPOINT), Point(1, SETPOINT)])
    recorded = run_fermentation(
        profile,
        hours / 24,
        fermentation_w=5.0,
        plant_params={"initial_beer_c": SETPOINT, "ambient_mean_c": 26.0},
        faults=faults,
        fault_separation_s=600.0,
    )
    trace = recorded.trace([Segment(0.0, hours * HOUR, "hold", SETPOINT, SETPOINT)])
    return recorded, {row.name: row for row in audit(trace, FERMENTATION)}


@pytest.fixture(scope="module")
def faulty():
    return run([LOST, SPIKE, SILENT, REBOOT], hours=3.0)


def test_every_gate_holds_through_the_faults(faulty):
    recorded, rows = faulty
    assert [f.kind for f in recorded.faults] == [SENSOR_INVALID, "spike85", HOST_SILENT, BOARD_REBOOT]
    failed = {name: (row.value, row.note) for name, row in rows.items() if not row.passed_gate}
    assert not failed
    assert rows["min_time_violations"].value == 0
    assert rows["both_on_s"].value == 0
    assert rows["dead_time_violations"].value == 0


def test_the_fault_reactions_were_timed_with_the_compressor_running(faulty):
    _, rows = faulty
    for name, gate_s in (("sensor_invalid_off_s", 15.0), ("host_silent_off_s", 60.0)):
        row = rows[name]
        assert row.value is not None and row.value <= gate_s, (name, row.value, row.note)
        assert row.note.endswith("1 of 1 struck with an output on"), row.note


def test_the_reboot_struck_inside_min_off_and_the_host_rearmed(faulty):
    recorded, _ = faulty
    boot = next(f.start_s for f in recorded.faults if f.kind == BOARD_REBOOT)
    last_off = max(t for t, output, on in recorded.edges if output == "cool" and not on and t <= boot)
    assert 0 < boot - last_off < 300  # inside the compressor's min off
    assert recorded.reboots_seen == 1
    starts = [t for t, output, on in recorded.edges if output == "cool" and on and t > boot]
    assert starts and starts[0] - boot >= 600  # the dead time counts from the boot too


def test_the_host_itself_waits_out_min_off_and_dead_time_after_a_reboot(monkeypatch):
    # Here the compressor wants to start again within 600 s of the boot: the host must
    # hold it back itself, not lean on the board's refusal.
    recorded, rows = run([REBOOT], hours=0.6)
    assert recorded.reboots_seen == 1 and recorded.refusals == 0
    assert rows["dead_time_violations"].value == 0
    monkeypatch.setattr(FermenterControl, "board_rebooted", lambda self, boot_time, now: None)
    forgetful, _ = run([REBOOT], hours=0.6)
    assert forgetful.refusals > 0  # the board caught what the host forgot


def test_the_audit_catches_a_host_that_never_gives_up_on_a_lost_probe(monkeypatch):
    def never_lost(self, value, now):
        status = original(self, value, now)
        self.lost = False  # rides out the loss on the last valid reading, for ever
        return SensorStatus(self.last_valid, status.valid, False, status.reason)

    original = SensorValidator.update
    monkeypatch.setattr(SensorValidator, "update", never_lost)
    _, rows = run([LOST], hours=0.6)
    assert not rows["sensor_invalid_off_s"].passed_gate


def test_the_audit_catches_a_board_whose_dead_man_never_bites(monkeypatch):
    monkeypatch.setattr(SimulatedFirmware, "_trip_deadman", lambda self, now: b"")
    _, rows = run([SILENT], hours=0.6)
    assert not rows["host_silent_off_s"].passed_gate


def test_the_audit_catches_a_board_and_host_that_forget_the_boot(monkeypatch):
    def boot_keeping_history(self, reason="power"):
        history = {pin: relay.changed_ms for pin, relay in self._relays.items()}
        lines = original(self, reason)
        for pin, changed_ms in history.items():
            self._relays[pin].changed_ms = changed_ms
        return lines

    original = SimulatedFirmware.boot
    monkeypatch.setattr(SimulatedFirmware, "boot", boot_keeping_history)
    monkeypatch.setattr(FermenterControl, "board_rebooted", lambda self, boot_time, now: None)
    _, rows = run([REBOOT], hours=0.6)
    assert rows["min_time_violations"].value + rows["dead_time_violations"].value > 0
