"""Chart queries: the finest resolution whose points fit, never more than `points` points,
raw samples only where all are still kept, gaps left as gaps, days merged when even the
day frames do not fit; the series list. Real SQLite file, samples written and rolled up
as the server does."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from app.db.models import Series
from app.history.query import find_series, history, parse_time, series_list, series_points, to_csv
from app.history.store import NewSample
from tests.history.common import counted_and_stored, roll_up_all, stored_samples, write

BASE = 1_763_856_000_000  # 2025-11-23T00:00:00Z
HOUR = 3_600_000
DAY = 24 * HOUR


def points_of(sessions, name: str, low: int, high: int, points: int) -> tuple[str, list]:
    with sessions() as session:
        ref = find_series(session, [name])[name]
        return series_points(session, ref, low, high, points)


@pytest.fixture
def two_days(sessions):
    """Two days of 10 s samples of `t` (17280), rolled up."""
    write(
        sessions,
        [
            NewSample("t", BASE + i * 10_000, float(i % 100), i % 100 - 0.5, i % 100 + 0.5)
            for i in range(17_280)
        ],
    )
    roll_up_all(sessions)
    return sessions


@pytest.mark.parametrize(
    ("span", "points", "resolution", "count"),
    [
        (HOUR, 360, "1m", 61),  # 361 samples in [from, to] do not fit 360: minute frames
        (HOUR, 361, "raw", 361),
        (HOUR, 1000, "raw", 361),
        (6 * HOUR, 1000, "1m", 361),  # 2161 raw do not fit; 361 minutes (both ends) do
        (DAY, 1000, "15m", 97),
        (DAY, 96, "1h", 25),
        (2 * DAY - 1, 48, "1h", 48),
        (2 * DAY - 1, 47, "1d", 2),
        (2 * DAY - 1, 1, "3d", 1),  # merged, still at most `points` (N-day frames start on the epoch)
    ],
)
def test_the_finest_resolution_that_fits_is_chosen_and_points_are_bounded(
    two_days, span, points, resolution, count
):
    chosen, found = points_of(two_days, "t", BASE, BASE + span, points)
    assert chosen == resolution
    assert len(found) == count <= points
    assert [p[0] for p in found] == sorted(p[0] for p in found)


def test_points_carry_mean_min_and_max(two_days):
    _, raw = points_of(two_days, "t", BASE, BASE + 30_000, 100)
    assert [list(p) for p in raw] == [
        [BASE, 0.0, -0.5, 0.5],
        [BASE + 10_000, 1.0, 0.5, 1.5],
        [BASE + 20_000, 2.0, 1.5, 2.5],
        [BASE + 30_000, 3.0, 2.5, 3.5],
    ]
    _, minutes = points_of(two_days, "t", BASE, BASE + 59_999, 1)
    assert list(minutes[0]) == [BASE, 2.5, -0.5, 5.5]  # samples 0-5 of the first minute


def test_a_gap_stays_a_gap(sessions):
    # an hour of 10 s samples, three hours of nothing, another hour
    samples = [NewSample("g", BASE + i * 10_000, 1.0) for i in range(360)]
    samples += [NewSample("g", BASE + 4 * HOUR + i * 10_000, 2.0) for i in range(360)]
    write(sessions, samples)
    roll_up_all(sessions)
    for points, resolution in ((1000, "raw"), (400, "1m"), (30, "15m"), (6, "1h")):
        chosen, found = points_of(sessions, "g", BASE, BASE + 5 * HOUR - 1, points)
        assert chosen == resolution
        inside_gap = [p for p in found if BASE + HOUR <= p[0] < BASE + 4 * HOUR]
        assert inside_gap == [], (resolution, inside_gap[:3])
        assert {p[1] for p in found} == {1.0, 2.0}  # nothing made up between them


def test_raw_samples_are_not_chosen_where_some_were_pruned(two_days):
    with two_days.begin() as session:
        session.execute(update(Series).where(Series.name == "t").values(raw_from=BASE + HOUR))
    assert points_of(two_days, "t", BASE, BASE + 10 * 60_000, 1000)[0] == "1m"  # raw fits, but is partly gone
    assert points_of(two_days, "t", BASE + HOUR, BASE + HOUR + 10 * 60_000, 1000)[0] == "raw"


def test_an_empty_span_has_no_points(two_days):
    assert points_of(two_days, "t", BASE + 3 * DAY, BASE + 4 * DAY, 1000) == ("raw", [])


def test_history_body_and_csv(two_days):
    write(two_days, [NewSample("room", BASE + 5_000, 20.0, unit="°C")])
    with two_days() as session:
        refs = find_series(session, ["t", "room"])
        body = history(session, [refs["room"], refs["t"]], BASE, BASE + 10_000, 100)
    assert [s["name"] for s in body["series"]] == ["room", "t"]
    assert body["series"][0] == {
        "name": "room",
        "unit": "°C",
        "kind": "measurement",
        "resolution": "raw",
        "points": [[BASE + 5_000, 20.0, 20.0, 20.0]],
        "events": [],
        "truncated": False,
    }
    text = to_csv(body, "F")
    assert text.splitlines() == [
        "series,unit,resolution,time,ts_ms,mean,min,max",
        f"room,°F,raw,2025-11-23T00:00:05.000Z,{BASE + 5_000},68.0,68.0,68.0",
        f"t,,raw,2025-11-23T00:00:00.000Z,{BASE},0.0,-0.5,0.5",
        f"t,,raw,2025-11-23T00:00:10.000Z,{BASE + 10_000},1.0,0.5,1.5",
    ]
    assert "20.0,20.0,20.0" in to_csv(body, "C")


def test_events_come_as_texts_the_newest_within_the_bound(two_days):
    notes = [
        NewSample("notes", BASE + n * 60_000, None, text=f"note {n}", kind="event") for n in range(5)
    ]
    write(two_days, notes)
    with two_days() as session:
        ref = find_series(session, ["notes"])["notes"]
        everything = history(session, [ref], BASE, BASE + 86_400_000, 100)["series"][0]
        newest = history(session, [ref], BASE, BASE + 86_400_000, 2)["series"][0]
        between = history(session, [ref], BASE + 60_000, BASE + 120_000, 100)["series"][0]
    assert everything["kind"] == "event" and everything["points"] == []
    assert everything["events"] == [[BASE + n * 60_000, f"note {n}"] for n in range(5)]
    assert everything["truncated"] is False
    assert newest["events"] == [[BASE + 180_000, "note 3"], [BASE + 240_000, "note 4"]]
    assert newest["truncated"] is True
    assert between["events"] == [[BASE + 60_000, "note 1"], [BASE + 120_000, "note 2"]]
    rows = to_csv({"series": [between]}).splitlines()
    assert rows[1] == f"notes,,raw,2025-11-23T00:01:00.000Z,{BASE + 60_000},note 1,,"


def test_series_list(two_days):
    write(two_days, [NewSample("notes", BASE + HOUR, None, text="dry hopped", kind="event")])
    with two_days() as session:
        listed = series_list(session)
    assert listed == [
        {
            "name": "notes",
            "unit": "",
            "kind": "event",
            "count": 1,
            "first": "2025-11-23T01:00:00.000Z",
            "last": "2025-11-23T01:00:00.000Z",
        },
        {
            "name": "t",
            "unit": "",
            "kind": "measurement",
            "count": 17_280,
            "first": "2025-11-23T00:00:00.000Z",
            "last": "2025-11-24T23:59:50.000Z",
        },
    ]


def test_times_parse_as_iso_8601_utc():
    assert parse_time("2025-11-23T00:00:00Z") == BASE
    assert parse_time("2025-11-23T01:00:00+01:00") == BASE
    assert parse_time("2025-11-23T00:00:00") == BASE  # no zone: UTC
    assert parse_time("2025-11-23") == BASE
    assert parse_time("2025-11-23T00:00:00.250Z") == BASE + 250
    assert parse_time("1970-01-01T00:00:00Z") == 0
    for bad in (
        "yesterday",
        "",
        "2025-13-01",
        "1763856000000",
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00",
    ):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_the_listed_count_is_kept_by_the_writes_and_a_resent_sample_counts_once(sessions):
    write(sessions, [NewSample("t", BASE + i * 10_000, 1.0) for i in range(10)])
    # a resent backlog: five samples again (new values replace the old) and five new ones
    written = write(sessions, [NewSample("t", BASE + i * 10_000, 2.0) for i in range(5, 15)])
    assert written.stored == 10
    (listed,) = series_list(sessions())
    assert listed["count"] == 15
    assert counted_and_stored(sessions, "t") == (15, 15)
    assert sorted(stored_samples(sessions, "t").items())[4:6] == [
        (BASE + 40_000, (1.0, None, None)),
        (BASE + 50_000, (2.0, None, None)),  # replaced
    ]
