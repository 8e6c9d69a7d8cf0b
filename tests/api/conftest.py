"""Tests here run on SQLite and on PostgreSQL (see `run_on_both_databases`)."""

from tests.conftest import run_on_both_databases as pytest_generate_tests  # noqa: F401
