"""A fresh install runs the sample fermenter; a power cut (kill -9) in the middle of its
profile is carried over: the run goes on at the right point and the downtime is logged."""

import json
import signal
import sqlite3
import time

import pytest

from app.config import build_config
from app.db.models import Chamber, Controller
from app.server import Maelstrom
from tests.helpers import ServerProcess, http


def chamber_rows(db_path):
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT id, name, mode, profile_state FROM chamber").fetchall()


def wait_for(condition, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.2)


def test_after_a_power_cut_the_profile_carries_on_and_the_downtime_is_logged(tmp_path):
    first = ServerProcess(tmp_path)
    first.wait_serving()
    db_path = first.data_dir / "db"
    [(chamber_id, name, mode, state_text)] = chamber_rows(db_path)
    assert (name, mode) == ("Sample fermenter", "profile")  # the fresh install's sample
    state = json.loads(state_text)
    first.process.send_signal(signal.SIGKILL)  # the power cut
    first.process.wait()
    first.stop()

    # As if the cut had come three days into the profile and lasted an hour.
    now = time.time()
    state["started_at"] = now - 3 * 86400
    state["seen_at"] = now - 3600
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE chamber SET profile_state = ? WHERE id = ?", (json.dumps(state), chamber_id))

    second = ServerProcess(tmp_path)
    try:
        second.wait_serving()

        def outage_logged():
            with sqlite3.connect(db_path) as db:
                rows = db.execute("SELECT message FROM log_entry WHERE message LIKE '%no control from%'")
                return [row[0] for row in rows]

        [message] = wait_for(outage_logged)
        assert "(1.00 h)" in message and "carries on at day 3.00" in message
        # 19 °C hold until day 4: no setpoint jump to report
        assert "jumped" not in message

        def saved_again():
            [(_, _, mode, text)] = chamber_rows(db_path)
            saved = json.loads(text)
            return saved if saved["seen_at"] > now else None

        saved = wait_for(saved_again)
        assert saved["started_at"] == pytest.approx(state["started_at"])  # same run, same clock
        assert saved["run"] == state["run"]
        assert len(chamber_rows(db_path)) == 1  # the sample is not installed twice
    finally:
        second.stop()


@pytest.fixture
def sample_config(server_config):
    server_config["control"] = {"sample_on_first_start": True}
    return server_config


@pytest.mark.gen_test(timeout=60)
async def test_a_deleted_sample_stays_deleted(io_loop, sample_config):
    server = Maelstrom(build_config(sample_config))
    await server.start()
    try:
        _, server.test_token = await server.auth.issue_token("tests")
        server.base_url = f"http://127.0.0.1:{server.ports[0]}"
        _, chambers = await http(server, "GET", "/api/chambers")
        [chamber] = chambers
        status, _ = await http(server, "DELETE", f"/api/chambers/{chamber['id']}?cascade=true")
        assert status == 409  # it runs a profile: stop it first
        status, _ = await http(
            server, "PATCH", f"/api/chambers/{chamber['id']}", {"profile_command": {"action": "stop"}}
        )
        assert status == 200
        status, _ = await http(server, "DELETE", f"/api/controllers/{chamber['controller_id']}?cascade=true")
        assert status == 204
    finally:
        await server.stop()
    again = Maelstrom(build_config(sample_config))
    await again.start()
    try:
        with again.sessions() as session:
            assert session.query(Chamber).count() == 0 and session.query(Controller).count() == 0
    finally:
        await again.stop()
