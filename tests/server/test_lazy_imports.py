"""What the server imports only where it is used (docs/benchmarks.md "Server memory"):
a start on a database already at the newest revision, with the sample chamber, loads
neither Alembic nor the OpenAPI builder nor PyYAML; the document is still served when asked.

The server runs in a child process: this one has imported Alembic for its own tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.db.engine import current_revision, default_url, head_revision, make_engine, migrate

REPO = Path(__file__).resolve().parents[2]
LAZY = ("alembic", "app.api.openapi", "yaml")

CHILD = """
import asyncio, json, sys
from tornado.httpclient import AsyncHTTPClient
from app.config import build_config
from app.server import Maelstrom

LAZY = json.loads(sys.argv[2])


async def main():
    server = Maelstrom(build_config(json.loads(sys.argv[1])))
    await server.start()
    try:
        await asyncio.sleep(0.5)  # a few control ticks of the sample chamber
        at_start = [name for name in LAZY if name in sys.modules]
        url = f"http://127.0.0.1:{server.ports[0]}/api/openapi.json"
        response = await AsyncHTTPClient().fetch(url, raise_error=False)
        document = json.loads(response.body) if response.code == 200 else {}
        print(json.dumps({
            "at_start": at_start,
            "status": response.code,
            "openapi": document.get("openapi"),
            "paths": len(document.get("paths", {})),
            "builder_after_request": "app.api.openapi" in sys.modules,
        }))
    finally:
        await server.stop()


asyncio.run(main())
"""


def test_a_start_on_a_current_database_imports_none_of_the_lazy_modules(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    engine = make_engine(default_url(data_dir))
    migrate(engine)  # the second start's case: nothing left to migrate
    engine.dispose()
    config = {
        "server": {"address": "127.0.0.1", "port": 0},
        "storage": {"data_dir": str(data_dir)},
        "logging": {"level": "WARNING"},
        "control": {"sample_on_first_start": True},
        "ingest": {"port": 0},  # never the shared default port 1025
    }
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(config), json.dumps(LAZY)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["at_start"] == [], f"imported at start: {report['at_start']}"
    assert report["status"] == 200 and report["openapi"] == "3.1.0" and report["paths"] > 10
    assert report["builder_after_request"]
    assert current_revision(make_engine(default_url(data_dir))) == head_revision()
