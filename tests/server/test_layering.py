"""app/api and app/pubsub share their web plumbing through app/web and never import each
other (design.md "Layout": a package talks to another only through a small interface)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, as an absolute dotted name (relative imports resolved)."""
    package = ".".join(path.relative_to(APP.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # `from .. import api` imports the package itself
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def offenders(package: str, forbidden: str) -> list[str]:
    """Each import of app/<forbidden> (or a module of it) in app/<package>."""
    return [
        f"{path.relative_to(APP.parent)} imports {module}"
        for path in sorted((APP / package).rglob("*.py"))
        for module in sorted(imported_modules(path))
        if module == f"app.{forbidden}" or module.startswith(f"app.{forbidden}.")
    ]


def test_the_import_resolver_sees_relative_and_absolute_imports():
    source = APP / "pubsub" / "http.py"
    modules = imported_modules(source)
    assert "app.web.errors" in modules and "app.pubsub.errors" in modules


@pytest.mark.parametrize(("package", "forbidden"), [("api", "pubsub"), ("pubsub", "api")])
def test_api_and_pubsub_do_not_import_each_other(package, forbidden):
    found = offenders(package, forbidden)
    assert not found, found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("control", "history"), ("history", "control"), ("history", "pubsub"), ("history", "api")],
)
def test_the_control_loop_and_the_history_know_nothing_of_each_other(package, forbidden):
    """The server hands the control loop's records to the history (app/server.py); the
    history writes through the database writer and is read by the API, never the reverse."""
    found = offenders(package, forbidden)
    assert not found, found


def test_the_control_loop_knows_nothing_of_the_ingest():
    """The server hands the control loop a lookup of the latest samples and feeds the
    series alarm rules through the ingest's sink seam (app/server.py)."""
    found = offenders("control", "ingest")
    assert not found, found
