"""Ingest fixtures: a sink that keeps what it is handed (the line client is in tests/helpers.py)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from app.ingest.sink import Sample


class RecordingSink:
    """Stands where the history recorder will: keeps every batch it is handed."""

    def __init__(self) -> None:
        self.batches: list[list[Sample]] = []

    def record(self, samples: Sequence[Sample]) -> None:
        self.batches.append(list(samples))

    @property
    def samples(self) -> list[Sample]:
        return [sample for batch in self.batches for sample in batch]


@pytest.fixture
def sink(server) -> RecordingSink:
    recording = RecordingSink()
    server.ingest.sinks.append(recording)
    return recording


@pytest.fixture
def fixed_times_kept(server, io_loop):
    """The tests' fixed times (2025-11-23) are older than the 30 days of raw samples the
    history keeps by default, so it would refuse them (ERR, 400): keep the most, ten years
    (enough for those times until late 2035)."""
    from tests.helpers import http

    status, reply = io_loop.run_sync(
        lambda: http(server, "PATCH", "/api/settings/history_raw_days", {"value": 3650})
    )
    assert status == 200, reply
