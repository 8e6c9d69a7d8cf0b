"""The systemd unit verifies cleanly; the server talks sd_notify on a real socket."""

import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.helpers import ServerProcess

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "maelstrom.service"


def test_unit_has_the_promised_settings():
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "KillSignal=SIGTERM",
        "SupplementaryGroups=dialout",
        "User=maelstrom",
    ):
        assert line in text
    assert "WatchdogSec=" in text and "TimeoutStopSec=" in text


def test_systemd_analyze_verify_prints_no_warning(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: apt-get install systemd (.ci/run does)"
    # Verify the unit as installed: paths point at this checkout and this interpreter.
    text = UNIT.read_text().replace("/opt/maelstrom/.venv/bin/python", sys.executable)
    text = text.replace("/opt/maelstrom", str(REPO))
    unit = tmp_path / "maelstrom.service"
    unit.write_text(text)
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and output == "", output


def test_server_sends_ready_and_watchdog_to_notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(15)
    env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000", "PATH": "/usr/bin:/bin"}
    server = ServerProcess(tmp_path, env=env)
    try:
        seen = []
        while seen.count(b"WATCHDOG=1") < 3:
            seen.append(listener.recv(256))
        assert b"READY=1" in seen
        # READY only once it serves: the port accepts connections by then
        with socket.create_connection(("127.0.0.1", server.port), timeout=2):
            pass
        assert server.stop() == 0
        assert listener.recv(256) == b"STOPPING=1"
    finally:
        server.stop()
        listener.close()
