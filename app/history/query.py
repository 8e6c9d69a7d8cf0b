"""Chart queries: each series at the finest resolution whose points over the span fit the
number asked for, as stored (a gap is a gap: nothing is interpolated or filled).

Resolutions, finest first: the raw samples, then the 1 min, 15 min, 1 h and 1 day frames.
A resolution fits when the series holds at most `points` of them in the span; counting
stops at `points + 1`, so choosing never reads more rows than it may return. Raw samples
are a candidate only where they are all still kept (from the series' `raw_from` on). When
even the day frames do not fit, consecutive days are merged into frames of N days (exactly,
as the roll-up merges frames), resolution `"<N>d"`.

These functions run on a reader thread (app/history/service.py) with their own session.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ..db.models import Rollup, Sample, Series
from .store import floor_to, iso

DAY_MS = 86_400_000
RESOLUTIONS: tuple[tuple[str, int | None], ...] = (
    ("raw", None),
    ("1m", 60),
    ("15m", 900),
    ("1h", 3600),
    ("1d", 86400),
)
LATEST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last time ISO 8601 writes
Point = tuple[int, float, float, float]  # ts_ms, mean, min, max


@dataclass(frozen=True)
class SeriesRef:
    id: int
    name: str
    unit: str
    kind: str
    raw_from: int


def parse_time(text: str) -> int:
    """ISO 8601 (`2026-11-23T10:00:00Z`, an offset, or no zone: UTC) from 1970 on, as epoch ms."""
    moment = datetime.fromisoformat(text)  # ValueError for anything else
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = math.floor(moment.timestamp() * 1000)
    if not 0 <= ms <= LATEST_MS:
        raise ValueError("times must be from 1970 to 9999 (UTC)")
    return ms


def find_series(session: Session, names: Iterable[str]) -> dict[str, SeriesRef]:
    rows = session.execute(
        select(Series.id, Series.name, Series.unit, Series.kind, Series.raw_from).where(
            Series.name.in_(list(names))
        )
    )
    return {row.name: SeriesRef(*row) for row in rows}


def _raw_where(ref: SeriesRef, low: int, high: int) -> list[Any]:
    return [Sample.series_id == ref.id, Sample.ts >= low, Sample.ts <= high, Sample.value.is_not(None)]


def _frame_where(ref: SeriesRef, frame: int, low: int, high: int) -> list[Any]:
    # the frames that overlap [low, high]
    return [
        Rollup.series_id == ref.id,
        Rollup.frame == frame,
        Rollup.start >= floor_to(low, frame * 1000),
        Rollup.start <= high,
    ]


def _fits(session: Session, column: Any, where: list[Any], points: int) -> bool:
    bounded = select(column).where(*where).limit(points + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(bounded)) or 0) <= points


def series_points(
    session: Session, ref: SeriesRef, low: int, high: int, points: int
) -> tuple[str, list[Point]]:
    """(resolution, points) of one series over [low, high] (epoch ms)."""
    for label, frame in RESOLUTIONS:
        if frame is None:
            if low < ref.raw_from or not _fits(session, Sample.ts, _raw_where(ref, low, high), points):
                continue
            rows = session.execute(
                select(Sample.ts, Sample.value, Sample.min, Sample.max)
                .where(*_raw_where(ref, low, high))
                .order_by(Sample.ts)
            )
            return label, [
                (
                    ts,
                    value,
                    value if low_value is None else low_value,
                    value if high_value is None else high_value,
                )
                for ts, value, low_value, high_value in rows
            ]
        where = _frame_where(ref, frame, low, high)
        if _fits(session, Rollup.start, where, points):
            rows = session.execute(
                select(Rollup.start, Rollup.mean, Rollup.min, Rollup.max).where(*where).order_by(Rollup.start)
            )
            return label, [tuple(row) for row in rows]  # type: ignore[misc]
    return _merged_days(session, ref, low, high, points)


def _merged_days(
    session: Session, ref: SeriesRef, low: int, high: int, points: int
) -> tuple[str, list[Point]]:
    days = session.execute(
        select(Rollup.start, Rollup.count, Rollup.mean, Rollup.min, Rollup.max)
        .where(*_frame_where(ref, 86400, low, high))
        .order_by(Rollup.start)
    ).all()
    n = max(2, math.ceil(len(days) / points))
    while True:
        merged: dict[int, list[float]] = {}  # start -> [count, total, min, max]
        for start, count, mean, low_value, high_value in days:
            key = floor_to(start, n * DAY_MS)
            acc = merged.get(key)
            if acc is None:
                merged[key] = [count, mean * count, low_value, high_value]
            else:
                acc[0] += count
                acc[1] += mean * count
                acc[2] = min(acc[2], low_value)
                acc[3] = max(acc[3], high_value)
        if len(merged) <= points:
            return f"{n}d", [
                (start, total / count, lo, hi) for start, (count, total, lo, hi) in sorted(merged.items())
            ]
        n += 1


TEXT_SERIES_KINDS = ("event", "state")


def series_events(session: Session, ref: SeriesRef, low: int, high: int, limit: int) -> tuple[list, bool]:
    """The newest `limit` texts of an event or state series in [low, high], oldest first,
    and whether older ones in the span were left out. Texts are never rolled up: a gap in
    them is a span with nothing to say, and pruned raw days have none."""
    rows = session.execute(
        select(Sample.ts, Sample.text)
        .where(Sample.series_id == ref.id, Sample.ts >= low, Sample.ts <= high, Sample.text.is_not(None))
        .order_by(Sample.ts.desc())
        .limit(limit + 1)
    ).all()
    return [[ts, text] for ts, text in reversed(rows[:limit])], len(rows) > limit


def history(session: Session, refs: Sequence[SeriesRef], low: int, high: int, points: int) -> dict[str, Any]:
    """The body of `GET /api/history` (protocol.md §4). Numbers come as `points`; the texts
    of an event or state series as `events`, at most `points` of them, the newest, with
    `truncated` when older ones were left out."""
    result = []
    for ref in refs:
        entry: dict[str, Any] = {"name": ref.name, "unit": ref.unit, "kind": ref.kind}
        # a state series holds numbers (a relay's 1/0) or texts (a categorical state), an
        # event series texts: numbers come as points, texts as events
        resolution, found = series_points(session, ref, low, high, points)
        events, truncated = (
            series_events(session, ref, low, high, points) if ref.kind in TEXT_SERIES_KINDS else ([], False)
        )
        entry.update(
            resolution=resolution, points=[list(p) for p in found], events=events, truncated=truncated
        )
        result.append(entry)
    return {"series": result}


# Built once: the status and the series list run them for every series.
_FIRST_RAW = select(Sample.ts).where(Sample.series_id == bindparam("series_id")).order_by(Sample.ts).limit(1)
_LAST_RAW = (
    select(Sample.ts).where(Sample.series_id == bindparam("series_id")).order_by(Sample.ts.desc()).limit(1)
)
_MINUTES = select(Rollup.start).where(Rollup.series_id == bindparam("series_id"), Rollup.frame == 60)
_FIRST_MINUTE = _MINUTES.order_by(Rollup.start).limit(1)
_LAST_MINUTE = _MINUTES.order_by(Rollup.start.desc()).limit(1)
_ROLLED_UP = select(func.sum(Rollup.count)).where(
    Rollup.series_id == bindparam("series_id"), Rollup.frame == 86400
)


def data_span(session: Session, series_id: int) -> tuple[int | None, int | None]:
    """The first and last time (epoch ms) a series holds data, raw or rolled up: four seeks
    on the primary keys, however many samples it holds."""
    params = {"series_id": series_id}
    first = session.scalar(_FIRST_RAW, params)
    last = session.scalar(_LAST_RAW, params)
    # rolled-up minutes reach further back once raw samples are pruned (and start on the minute)
    first_frame = session.scalar(_FIRST_MINUTE, params)
    if first_frame is not None and (first is None or first_frame < floor_to(first, 60_000)):
        first = first_frame
    if last is None:
        last = session.scalar(_LAST_MINUTE, params)
    return first, last


def rolled_up(session: Session, series_id: int) -> int:
    """Numeric samples the series' day frames hold: every one ever rolled up, raw samples
    pruned since included (one row per day read, never the samples)."""
    return int(session.scalar(_ROLLED_UP, {"series_id": series_id}) or 0)


def series_list(session: Session) -> list[dict[str, Any]]:
    """The body of `GET /api/series`: each series with its raw sample count (kept in
    `Series.samples` by every write and delete, so nothing is counted here) and the first
    and last time it holds data (raw or rolled up), by name."""
    listed = []
    for series_id, name, unit, kind, count in session.execute(
        select(Series.id, Series.name, Series.unit, Series.kind, Series.samples).order_by(Series.name)
    ):
        first, last = data_span(session, series_id)
        listed.append(
            {
                "name": name,
                "unit": unit,
                "kind": kind,
                "count": int(count),
                "first": None if first is None else iso(first),
                "last": None if last is None else iso(last),
            }
        )
    return listed


def latest_samples(session: Session, limit: int) -> list[tuple[str, str, str, int, float]]:
    """`(name, unit, kind, ts_ms, value)`: the newest raw sample of each measurement or
    counter series fed from outside (not the server's own `chamber/...`), at most `limit`
    series by name. What the server shows of a chamber's `gravity_series` after a restart."""
    found = []
    series = (
        select(Series.id, Series.name, Series.unit, Series.kind)
        .where(Series.kind.in_(("measurement", "counter")), ~Series.name.startswith("chamber/"))
        .order_by(Series.name)
        .limit(limit)
    )
    for series_id, name, unit, kind in session.execute(series).all():
        newest = session.execute(
            select(Sample.ts, Sample.value)
            .where(Sample.series_id == series_id, Sample.value.is_not(None))
            .order_by(Sample.ts.desc())
            .limit(1)
        ).first()
        if newest is not None:
            found.append((name, unit, kind, int(newest.ts), float(newest.value)))
    return found


def series_status(session: Session, listed: int) -> dict[str, Any]:
    """`series` of `GET /api/status`: how many series, their raw samples in all, and the
    `listed` series with the most samples, each with its roll-ups and span. Nothing is
    counted: the sample counts are `Series.samples` and the rest are seeks on the keys and
    one row per day read (`rolled_up`), cheap whatever the number of samples."""
    count, samples = session.execute(select(func.count(Series.id), func.sum(Series.samples))).one()
    top = session.execute(
        select(Series.id, Series.name, Series.unit, Series.kind, Series.samples)
        .order_by(Series.samples.desc(), Series.name)
        .limit(listed)
    ).all()
    shown = []
    for series_id, name, unit, kind, stored in top:
        first, last = data_span(session, series_id)
        shown.append(
            {
                "name": name,
                "unit": unit,
                "kind": kind,
                "samples": int(stored),
                "rolled_up": rolled_up(session, series_id),
                "first": None if first is None else iso(first),
                "last": None if last is None else iso(last),
            }
        )
    return {"count": int(count), "samples": int(samples or 0), "listed": shown}


CSV_HEADER = ("series", "unit", "resolution", "time", "ts_ms", "mean", "min", "max")


def _fahrenheit(celsius: float) -> float:
    return round(celsius * 9 / 5 + 32, 4)


def to_csv(body: dict[str, Any], units: str = "C") -> str:
    """The history body as CSV, one row per point (long format: series with gaps or of
    different resolutions stay apart). °C series in °F when `units` is F."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for series in body["series"]:
        convert = units == "F" and series["unit"] == "°C"
        unit = "°F" if convert else series["unit"]
        for ts, *values in series["points"]:
            if convert:
                values = [_fahrenheit(v) for v in values]
            writer.writerow(
                [series["name"], unit, series["resolution"], iso(ts), ts, *(repr(v) for v in values)]
            )
        for ts, text in series.get("events", ()):  # the text in the mean's column
            writer.writerow([series["name"], unit, series["resolution"], iso(ts), ts, text, "", ""])
    return out.getvalue()
