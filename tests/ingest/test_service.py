"""IngestService without a server: all or nothing per batch, sinks before the hub, a
broken sink never stops live data."""

from __future__ import annotations

import logging

import pytest

from app.ingest.service import IngestService, sample_message
from app.ingest.sink import Sample
from app.ingest.validate import IngestError
from app.pubsub.hub import Hub
from tests.ingest.conftest import RecordingSink

NOW_S = 1_763_892_000.0
NOW_MS = int(NOW_S * 1000)


class Subscriber:
    def __init__(self) -> None:
        self.messages = []

    def deliver(self, message) -> None:
        self.messages.append(message)


def service(max_series: int = 1000) -> tuple[IngestService, Subscriber, RecordingSink]:
    hub = Hub()
    watcher = Subscriber()
    hub.subscribe(watcher, "ingest/#")
    ingest = IngestService(hub, max_series=max_series, clock=lambda: NOW_S)
    sink = RecordingSink()
    ingest.sinks.append(sink)
    return ingest, watcher, sink


def test_a_batch_is_recorded_then_published_in_order():
    ingest, watcher, sink = service()
    batch = [
        Sample("spindel/gravity", NOW_MS, "measurement", 1.048, unit="SG"),
        Sample("spindel/angle", NOW_MS, "measurement", 45.0, unit="°"),
    ]
    messages = ingest.submit(batch)
    assert sink.batches == [batch]
    assert [m.channel for m in watcher.messages] == ["ingest/spindel/gravity", "ingest/spindel/angle"]
    assert [m.data for m in watcher.messages] == messages
    assert messages[0] == {
        "series": "spindel/gravity",
        "ts": "2025-11-23T10:00:00.000Z",
        "kind": "measurement",
        "value": 1.048,
        "unit": "SG",
    }


@pytest.mark.parametrize(
    "bad",
    [
        Sample("chamber/1/beer", NOW_MS, "measurement", 1.0),
        Sample("Bad", NOW_MS, "measurement", 1.0),
        Sample("x", NOW_MS, "measurement", float("nan")),
        Sample("x", NOW_MS, "measurement", None),
        Sample("x", NOW_MS, "measurement", 1.0, text="and text"),
        Sample("x", NOW_MS, "event", None, text=""),
        Sample("x", NOW_MS, "event", 1.0, text="note"),
        Sample("x", NOW_MS, "state", None, text="has space"),
        Sample("x", NOW_MS, "gauge", 1.0),  # type: ignore[arg-type]
        Sample("x", 0, "measurement", 1.0),
        Sample("x", NOW_MS + 301_000, "measurement", 1.0),
        Sample("x", NOW_MS, "measurement", 1.0, unit="u" * 17),
        Sample("x", NOW_MS, "measurement", True),
        Sample("x", NOW_MS, "measurement", 10**400),  # an int beyond float's range
    ],
)
def test_one_bad_sample_refuses_the_whole_batch_and_changes_nothing(bad):
    ingest, watcher, sink = service()
    with pytest.raises(IngestError):
        ingest.submit([Sample("good", NOW_MS, "measurement", 1.0), bad])
    assert sink.batches == [] and watcher.messages == []


def test_max_series_counts_distinct_series_and_refuses_a_batch_that_would_pass_it():
    ingest, watcher, sink = service(max_series=2)
    ingest.submit([Sample("a", NOW_MS, "measurement", 1.0)])
    with pytest.raises(IngestError, match="max_series is 2"):
        ingest.submit([Sample("b", NOW_MS, "measurement", 1.0), Sample("c", NOW_MS, "measurement", 1.0)])
    ingest.submit([Sample("b", NOW_MS, "measurement", 1.0), Sample("a", NOW_MS, "measurement", 2.0)])
    assert [m.data["series"] for m in watcher.messages] == ["a", "b", "a"]


def test_a_failing_sink_is_logged_and_the_rest_goes_on(caplog):
    ingest, watcher, sink = service()

    class Broken:
        def record(self, samples):
            raise RuntimeError("disk gone")

    ingest.sinks.insert(0, Broken())
    with caplog.at_level(logging.ERROR, logger="app.ingest.service"):
        ingest.submit([Sample("a", NOW_MS, "measurement", 1.0)])
    assert "ingest sink" in caplog.text and "disk gone" in caplog.text
    assert len(sink.samples) == 1 and len(watcher.messages) == 1


def test_events_and_states_carry_text_not_value():
    assert sample_message(Sample("pump", NOW_MS, "state", text="on")) == {
        "series": "pump",
        "ts": "2025-11-23T10:00:00.000Z",
        "kind": "state",
        "text": "on",
    }


class Refusing(RecordingSink):
    """A sink that checks: refuses any sample of series `refused`, or fails checking."""

    def __init__(self, refused: str = "", broken: bool = False) -> None:
        super().__init__()
        self.refused = refused
        self.broken = broken

    def check(self, samples) -> None:
        if self.broken:
            raise RuntimeError("store gone")
        for sample in samples:
            if sample.series == self.refused:
                raise IngestError(f"{sample.series} not kept: no room", "series")


def test_a_sink_that_refuses_one_sample_refuses_the_batch_before_any_sink_or_the_hub():
    ingest, watcher, sink = service()
    ingest.sinks.insert(0, Refusing(refused="spindel/angle"))  # the other sink comes first
    ingest.sinks.append(Refusing(refused="spindel/angle"))
    batch = [
        Sample("spindel/gravity", NOW_MS, "measurement", 1.048, unit="SG"),
        Sample("spindel/angle", NOW_MS, "measurement", 45.0),
    ]
    with pytest.raises(IngestError) as error:
        ingest.submit(batch)
    assert error.value.reason == "spindel/angle not kept: no room" and error.value.field == "series"
    assert sink.batches == [] and all(s.batches == [] for s in ingest.sinks)
    assert watcher.messages == [] and ingest.accepted == 0
    ingest.submit(batch[:1])
    assert [m.channel for m in watcher.messages] == ["ingest/spindel/gravity"]


def test_a_sink_whose_check_fails_is_logged_and_the_batch_goes_on(caplog):
    ingest, watcher, sink = service()
    ingest.sinks.insert(0, Refusing(broken=True))
    with caplog.at_level(logging.ERROR, logger="app.ingest.service"):
        ingest.submit([Sample("beer_temp", NOW_MS, "measurement", 19.5)])
    assert "failed checking" in caplog.text
    assert len(sink.samples) == 1 and len(watcher.messages) == 1
