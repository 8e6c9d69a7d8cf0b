"""The entry point as a user runs it: --help, config validation, clean stop on SIGTERM."""

import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import yaml

from app.config import Config, documented_keys, load_config
from tests.helpers import ServerProcess, free_port

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


def test_a_database_url_of_another_kind_stops_the_start_naming_it(tmp_path):
    result = run("--data-dir", str(tmp_path / "data"), "--db-url", "mysql://brewer@cellar/beer")
    assert result.returncode == 2
    assert "storage.db_url" in result.stderr and "Traceback" not in result.stderr


def test_a_postgresql_that_cannot_be_reached_is_one_clear_line_and_exit_1(tmp_path):
    # nothing listens on the port: PostgreSQL down at boot, say; systemd starts us again
    url = f"postgresql://brewer@127.0.0.1:{free_port()}/beer"
    result = run("--data-dir", str(tmp_path / "data"), "--port", "0", "--db-url", url)
    assert result.returncode == 1
    assert "cannot start: the database cannot be opened" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_stops_the_start_and_the_process_exits(tmp_path):
    # the sample board comes online while the failed start is being undone: that used to
    # leave the board's task waiting for ever, and the process with it
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--data-dir", str(tmp_path / "data"), "--address", "127.0.0.1", "--port", str(port))
    assert result.returncode == 1
    assert "cannot start: [Errno 98] Address already in use" in result.stderr
    assert "Traceback" not in result.stderr


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
    server = ServerProcess(tmp_path)
    try:
        server.wait_serving()
        assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700  # it holds secrets
        started = time.monotonic()
        code = server.stop(timeout_s=10)
        assert time.monotonic() - started < 10
    finally:
        server.stop()
    assert code == 0, server.log()
    assert "stopped" in server.log()
