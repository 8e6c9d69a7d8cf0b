"""The recorder on a virtual clock: a chamber's fields as one sample per interval (mean,
min, max of its ticks, at the first tick's time), gaps for missing readings, switch inputs
when the record has them, the interval setting applied from the next interval, the ingest's
`record`/`record_text` validated, and everything kept written by `stop`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.db.models import Sample, Series
from app.db.writer import DbWriter
from app.history.recorder import Recorder, SampleRefused
from tests.history.common import stored_samples

BASE = 1_763_856_000_000  # 2025-11-23T00:00:00Z


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


def tick(ms: int, **fields) -> dict:
    record = {
        "id": 1,
        "beer": 18.0,
        "fridge": 10.0,
        "room": None,
        "beer_set": 18.0,
        "fridge_set": 9.5,
        "heat": False,
        "cool": True,
        "heat_duty": 0.0,
        "cool_duty": 0.25,
        "ts": datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z"),
    }
    return record | fields


@pytest.fixture
def settings():
    return {"history_interval_s": 10.0, "history_raw_days": 30}


@pytest.fixture
def writer(io_loop, sessions):
    writer = DbWriter(sessions)
    io_loop.run_sync(lambda: _start(writer))
    yield writer
    io_loop.run_sync(writer.stop)


async def _start(writer: DbWriter) -> None:
    writer.start()


@pytest.mark.gen_test
async def test_each_interval_is_one_sample_per_field_with_mean_min_and_max(sessions, writer, settings):
    clock = Clock(BASE)
    recorder = Recorder(writer, settings.get, wall=clock)
    beers = [18.0, 18.5, 17.5, 19.0, 18.0, 18.0, 18.0, 18.0, 18.0, 18.0]
    for second, beer in enumerate(beers):  # 00:00:00.3 .. 00:00:09.3: one interval
        recorder.on_publish("chamber/1/data", tick(BASE + second * 1000 + 300, beer=beer, heat=second < 3))
    recorder.on_publish("chamber/1/data", tick(BASE + 10_300, beer=30.0))  # the next interval closes it
    recorder.on_publish("logs", {"entries": []})  # other channels pass by
    recorder.on_publish("chamber/1/datax", tick(BASE + 10_400))
    recorder.flush()
    await writer.drain()
    beer = stored_samples(sessions, "chamber/1/beer")
    assert beer == {BASE + 300: (sum(beers) / 10, 17.5, 19.0)}
    assert stored_samples(sessions, "chamber/1/heat") == {BASE + 300: (0.3, 0.0, 1.0)}  # on 3 ticks of 10
    assert stored_samples(sessions, "chamber/1/cool") == {BASE + 300: (1.0, None, None)}  # flat: no min, max
    assert stored_samples(sessions, "chamber/1/cool_duty") == {BASE + 300: (0.25, None, None)}
    assert stored_samples(sessions, "chamber/1/room") == {}  # never read: a gap, no series even
    with sessions() as session:
        units = dict(session.execute(select(Series.name, Series.unit)).all())
        kinds = dict(session.execute(select(Series.name, Series.kind)).all())
    assert set(units) == {
        f"chamber/1/{f}"
        for f in ("beer", "fridge", "beer_set", "fridge_set", "heat", "cool", "heat_duty", "cool_duty")
    }
    assert units["chamber/1/beer"] == "°C" and units["chamber/1/heat_duty"] == ""
    assert kinds["chamber/1/heat"] == "state" and kinds["chamber/1/fridge"] == "measurement"
    # the open interval is written at stop, partial as it is
    await recorder.stop()
    await writer.drain()
    assert stored_samples(sessions, "chamber/1/beer")[BASE + 10_300] == (30.0, None, None)


@pytest.mark.gen_test
async def test_a_lost_reading_leaves_a_gap_and_switches_are_recorded(sessions, writer, settings):
    clock = Clock(BASE)
    recorder = Recorder(writer, settings.get, wall=clock)
    for second in range(10):
        recorder.chamber_record(1, tick(BASE + second * 1000, beer=None, switches={"door": second == 4}))
    for second in range(10, 20):  # the beer comes back for part of the next interval
        beer = 18.0 if second >= 15 else None
        recorder.chamber_record(
            1, tick(BASE + second * 1000, beer=beer, switches={"door": False, "Bad Name": True, "beer": True})
        )
    clock.ms = BASE + 20_000  # no tick after it: the interval closes on the timer
    recorder.close_ended()
    await recorder.stop()
    await writer.drain()
    assert stored_samples(sessions, "chamber/1/beer") == {
        BASE + 10_000: (18.0, None, None)
    }  # first interval: no sample
    assert stored_samples(sessions, "chamber/1/door") == {
        BASE: (0.1, 0.0, 1.0),
        BASE + 10_000: (0.0, None, None),
    }
    with sessions() as session:
        names = set(session.scalars(select(Series.name)))
    assert not {n for n in names if "bad" in n.lower()}  # a switch no series name fits is not recorded


@pytest.mark.gen_test
async def test_the_interval_setting_applies_from_the_next_interval(sessions, writer, settings):
    recorder = Recorder(writer, settings.get, wall=Clock(BASE))
    for second in range(5):
        recorder.chamber_record(1, tick(BASE + second * 1000, beer=float(second)))
    settings["history_interval_s"] = 2.0
    for second in range(5, 9):
        recorder.chamber_record(1, tick(BASE + second * 1000, beer=float(second)))
    await recorder.stop()
    await writer.drain()
    assert stored_samples(sessions, "chamber/1/beer") == {
        BASE: (2.0, 0.0, 4.0),  # 0-4 s at 10 s, closed by the change
        BASE + 5_000: (5.0, None, None),  # [4, 6) at 2 s holds only 5 s
        BASE + 6_000: (6.5, 6.0, 7.0),
        BASE + 8_000: (8.0, None, None),
    }


@pytest.mark.gen_test
async def test_record_and_record_text_validate_and_batch_like_the_chambers(sessions, writer, settings):
    clock = Clock(BASE)
    recorder = Recorder(writer, settings.get, wall=clock)
    recorder.record("ispindel/gravity", BASE - 60_000, 1.048, unit="SG")
    recorder.record("airlock", None, 1, kind="counter")
    recorder.record("probe", BASE, 20.0, min=19.5, max=20.5)
    recorder.record_text("notes", BASE, "dry hopped 50 g Citra")
    recorder.record_text("pump", BASE, "on", kind="state")
    refused = [
        (("Bad",), {}, "series"),
        (("chamber/1/beer",), {}, "series"),
        (("x" * 65,), {}, "series"),
        (("t",), {"ts_ms": BASE + 6 * 60_000}, "ts"),  # too far ahead
        (("t",), {"ts_ms": BASE - 31 * 86_400_000}, "ts"),  # older than the raw days
        (("t",), {"ts_ms": 1.5}, "ts"),
        (("t",), {"value": float("nan")}, "value"),
        (("t",), {"value": True}, "value"),
        (("t",), {"min": 21.0}, "value"),
        (("t",), {"kind": "event"}, "kind"),
        (("t",), {"unit": "x" * 17}, "unit"),
    ]
    for args, changes, field in refused:
        keyword = {"ts_ms": BASE, "value": 20.0} | changes
        with pytest.raises(SampleRefused) as error:
            recorder.record(*args, keyword.pop("ts_ms"), keyword.pop("value"), **keyword)
        assert error.value.field == field, (args, changes)
    for text, kind in (("", "event"), ("a\nb", "event"), ("x" * 1025, "event"), ("on", "measurement")):
        with pytest.raises(SampleRefused):
            recorder.record_text("notes", BASE, text, kind=kind)
    assert recorder.status()["waiting"] == 5  # nothing of the refused kept
    recorder.flush()
    await writer.drain()
    assert recorder.status() | {"interval_s": None} == {
        "interval_s": None,
        "open_chambers": 0,
        "waiting": 0,
        "queued": 5,
        "stored": 5,
        "refused": 0,
    }
    with sessions() as session:
        rows = {
            name: (ts, value, text, unit, kind)
            for name, ts, value, text, unit, kind in session.execute(
                select(Series.name, Sample.ts, Sample.value, Sample.text, Series.unit, Series.kind).join(
                    Sample
                )
            )
        }
    assert rows == {
        "ispindel/gravity": (BASE - 60_000, 1.048, None, "SG", "measurement"),
        "airlock": (BASE, 1.0, None, "", "counter"),
        "probe": (BASE, 20.0, None, "", "measurement"),
        "notes": (BASE, None, "dry hopped 50 g Citra", "", "event"),
        "pump": (BASE, None, "on", "", "state"),
    }


@pytest.mark.gen_test
async def test_a_sample_older_than_the_pruned_raw_history_is_refused_by_the_writer(
    sessions, writer, settings
):
    from sqlalchemy import update

    recorder = Recorder(writer, settings.get, wall=Clock(BASE))
    recorder.record("t", BASE, 1.0)
    recorder.flush()
    await writer.drain()
    with sessions.begin() as session:  # as retention leaves it after pruning up to BASE
        session.execute(update(Series).values(raw_from=BASE))
    recorder.record("t", BASE - 1, 2.0)  # within the raw days by the setting, but pruned there
    recorder.record("t", BASE + 1, 3.0)
    recorder.flush()
    await writer.drain()
    assert recorder.refused == 1 and recorder.stored == 2
    assert set(stored_samples(sessions, "t")) == {BASE, BASE + 1}
