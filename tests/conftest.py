"""Fixtures that start real things: a Maelstrom server on a free loopback port with its
data directory in a temp dir. Clients are in `tests/helpers.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.config import build_config
from app.server import Maelstrom


@pytest.fixture
def server_config(tmp_path: Path) -> dict[str, Any]:
    """Raw config for the `server` fixture; a test may change it before the server starts."""
    return {
        "server": {"address": "127.0.0.1", "port": 0},
        "storage": {"data_dir": str(tmp_path / "data")},
        "logging": {"level": "DEBUG"},
        "pubsub": {},
        "control": {"sample_on_first_start": False},  # tests build what they need
        "ingest": {"port": 0},  # never the shared default port 1025
    }


@pytest.fixture
def server(io_loop, server_config: dict[str, Any]):
    maelstrom = Maelstrom(build_config(server_config))
    io_loop.run_sync(maelstrom.start)
    _, maelstrom.test_token = io_loop.run_sync(lambda: maelstrom.auth.issue_token("tests"))
    maelstrom.base_url = f"http://127.0.0.1:{maelstrom.ports[0]}"
    maelstrom.ws_url = f"ws://127.0.0.1:{maelstrom.ports[0]}/socket"
    yield maelstrom
    io_loop.run_sync(maelstrom.stop)
