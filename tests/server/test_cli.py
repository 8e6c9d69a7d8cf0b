"""The entry point as a user runs it: --help, config validation, clean stop on SIGTERM."""

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from app.config import Config, documented_keys, load_config

REPO = Path(__file__).resolve().parents[2]


def run(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "maelstrom.py", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        **kwargs,
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_lists_every_flag():
    result = run("--help")
    assert result.returncode == 0
    for flag in ("--port", "--address", "--data-dir", "--config", "--log-level", "--db-url"):
        assert flag in result.stdout


def test_example_config_documents_every_key_with_its_default(tmp_path):
    example = yaml.safe_load((REPO / "maelstrom.yaml.example").read_text())
    for dotted, _default, _ in documented_keys():
        section, key = dotted.split(".")
        assert key in example[section], f"{dotted} is not documented in maelstrom.yaml.example"
    assert load_config(REPO / "maelstrom.yaml.example") == Config()


def test_unknown_key_stops_the_start_naming_it(tmp_path):
    config = tmp_path / "maelstrom.yaml"
    config.write_text("server:\n  prot: 9000\n")
    result = run("--config", str(config))
    assert result.returncode == 2
    assert "server.prot: unknown key" in result.stderr


def test_bad_value_stops_the_start_naming_it(tmp_path):
    config = tmp_path / "maelstrom.yaml"
    config.write_text("pubsub:\n  max_queue_bytes: lots\n")
    result = run("--config", str(config))
    assert result.returncode == 2
    assert "pubsub.max_queue_bytes" in result.stderr and "lots" in result.stderr


def test_bad_yaml_and_missing_file_are_reported(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("server: [unclosed\n")
    assert "not valid YAML" in run("--config", str(broken)).stderr
    assert "cannot read config file" in run("--config", str(tmp_path / "absent.yaml")).stderr


def test_cli_flag_overrides_the_file(tmp_path):
    config = tmp_path / "maelstrom.yaml"
    config.write_text("server:\n  port: 9000\nlogging:\n  level: ERROR\n")
    loaded = load_config(config, {"port": 9100, "log_level": None})
    assert (loaded.server.port, loaded.logging.level) == (9100, "ERROR")


def test_server_serves_and_stops_cleanly_within_10_s_on_sigterm(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "maelstrom.py",
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/channels", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert (tmp_path / "data").is_dir()
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        assert time.monotonic() - started < 10
        assert process.returncode == 0, stderr
        assert "stopped" in stderr
    finally:
        if process.poll() is None:
            process.kill()
