"""Fixtures that start real things: a Maelstrom server on a free loopback port with its
data directory in a temp dir. Clients are in `tests/helpers.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.config import build_config
from app.db.engine import make_engine, make_sessionmaker, migrate
from app.server import Maelstrom
from tests.pg_cluster import PgCluster

BACKENDS = ("sqlite", "postgresql")


def run_on_both_databases(metafunc: pytest.Metafunc) -> None:
    """`pytest_generate_tests` of the directories whose tests run on SQLite and PostgreSQL
    (db, api, history): each test that uses `db_url` (the `server` fixture does) runs once
    per backend, but for a test marked `sqlite_only` (it is about SQLite's own file)."""
    if "db_url" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("db_url", BACKENDS[:1] if only_sqlite else BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = PgCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLAlchemy URL of an empty database: a SQLite file in the test's temp dir, or (where
    the directory runs tests on both) a fresh database in the session's PostgreSQL cluster."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return request.getfixturevalue("pg_cluster").create_database()
    (tmp_path / "data").mkdir(exist_ok=True)
    return f"sqlite:///{tmp_path / 'data' / 'db'}"


@pytest.fixture
def db_engine(db_url: str):
    """An engine on a migrated empty database (`db_url`)."""
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(db_engine):
    return make_sessionmaker(db_engine)


@pytest.fixture
def server_config(tmp_path: Path, db_url: str) -> dict[str, Any]:
    """Raw config for the `server` fixture; a test may change it before the server starts.
    On SQLite the server keeps its default database path, <data_dir>/db."""
    storage: dict[str, Any] = {"data_dir": str(tmp_path / "data")}
    if not db_url.startswith("sqlite"):
        storage["db_url"] = db_url
    return {
        "server": {"address": "127.0.0.1", "port": 0},
        "storage": storage,
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
