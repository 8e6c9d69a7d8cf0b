"""Writing samples: the one path by which a sample reaches the database (the recorder's
batches; the ingest and the benchmark call the same function). It runs on the database
writer's thread, inside the writer's transaction, and marks each sample's minute as pending
roll-up in that same transaction, so no sample is ever stored without its frames being
recomputed later, whatever stops the process in between.

Also the few helpers shared by the history modules: series names, times as epoch ms, and
an upsert that speaks SQLite's and PostgreSQL's `ON CONFLICT`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..db.models import SERIES_KINDS, RollupPending, Sample, Series, utcnow

SERIES_NAME = re.compile(r"[a-z0-9_./-]{1,64}")
MINUTE_MS = 60_000
TEXT_KINDS = ("event", "state")
VALUE_KINDS = ("measurement", "counter", "state")
assert set(TEXT_KINDS) | set(VALUE_KINDS) == set(SERIES_KINDS)
MAX_TEXT = 1024  # as the ingest line limit: an event is a note, not a document
MAX_UNIT = 16


@dataclass(frozen=True, slots=True)
class NewSample:
    """A sample to store. `unit` and `kind` are used when the series is created by it."""

    series: str
    ts: int  # epoch ms
    value: float | None
    min: float | None = None
    max: float | None = None
    text: str | None = None
    unit: str = ""
    kind: str = "measurement"


@dataclass(frozen=True)
class Written:
    stored: int
    refused: int  # older than their series' `raw_from`: that minute may be pruned already


def to_ms(moment: datetime) -> int:
    return (
        int(moment.timestamp() * 1000)
        if moment.tzinfo
        else int(moment.replace(tzinfo=UTC).timestamp() * 1000)
    )


def iso(ms: int) -> str:
    """Epoch ms as ISO 8601 UTC with milliseconds and a Z."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def floor_to(ms: int, step_ms: int) -> int:
    return ms - ms % step_ms


def check_sample(series: str, value: float | None, low: float | None, high: float | None) -> None:
    """ValueError naming the problem for a sample no series may hold."""
    if not SERIES_NAME.fullmatch(series):
        raise ValueError(f"series name {series!r} must be 1-64 of a-z 0-9 _ . / -")
    for name, number in (("value", value), ("min", low), ("max", high)):
        if number is not None and (isinstance(number, bool) or not math.isfinite(number)):
            raise ValueError(f"{name} must be a finite number")
    if value is not None and ((low is not None and low > value) or (high is not None and high < value)):
        raise ValueError("min must be at most value and max at least value")


_UPSERTS: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Any] = {}


def upsert(
    connection: Session | Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Iterable[str],
    update: Iterable[str] = (),
) -> int:
    """INSERT ... ON CONFLICT (keys) DO UPDATE the `update` columns, or DO NOTHING; SQLite and
    PostgreSQL spell it the same way, through their own SQLAlchemy dialects. Returns the
    rows written (with DO NOTHING: the new ones; both drivers sum an executemany's counts).
    The statement is built once per table (building one costs more than running it)."""
    if not rows:
        return 0
    if isinstance(connection, Session):
        connection = connection.connection()
    dialect = connection.dialect.name
    key = (dialect, table.name, tuple(keys), tuple(update))
    statement = _UPSERTS.get(key)
    if statement is None:
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        elif dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            raise NotImplementedError(f"history needs SQLite or PostgreSQL, not {dialect}")
        statement = dialect_insert(table)
        if key[3]:
            excluded = statement.excluded
            statement = statement.on_conflict_do_update(
                index_elements=list(key[2]), set_={column: excluded[column] for column in key[3]}
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(key[2]))
            if dialect == "postgresql":
                # psycopg reports -1 for the rowcount of a batched insert: the rows that went
                # in are counted from what RETURNING gives back
                statement = statement.returning(table.c[key[2][0]])
        _UPSERTS[key] = statement
    result = connection.execute(statement, list(rows))
    if dialect == "postgresql" and not key[3]:
        return len(result.all())
    return int(result.rowcount)


_SERIES = Series.__table__
_COUNT_SAMPLES = (
    update(_SERIES)
    .where(_SERIES.c.id == bindparam("series_id_"))
    .values(samples=_SERIES.c.samples + bindparam("added"))
)


def count_samples(connection: Session | Connection, added: dict[int, int]) -> None:
    """Add to (or, negative, take from) the series' stored sample counts, in the open
    transaction of the write or delete that changed them (`Series.samples`)."""
    params = [{"series_id_": series_id, "added": n} for series_id, n in sorted(added.items()) if n]
    if params:
        connection.execute(_COUNT_SAMPLES, params)


def series_ids(session: Session, samples: Iterable[NewSample]) -> dict[str, tuple[int, int]]:
    """name -> (id, raw_from) for every series the samples name, creating the missing ones
    with the unit and kind of their first sample."""
    first: dict[str, NewSample] = {}
    for sample in samples:
        first.setdefault(sample.series, sample)
    found = {
        name: (series_id, raw_from)
        for series_id, name, raw_from in session.execute(
            select(Series.id, Series.name, Series.raw_from).where(Series.name.in_(first))
        )
    }
    missing = [first[name] for name in first if name not in found]
    if missing:
        now = utcnow()
        session.execute(
            insert(Series),
            [
                {"name": s.series, "unit": s.unit, "kind": s.kind, "created_at": now, "raw_from": 0}
                for s in missing
            ],
        )
        found.update(
            (name, (series_id, 0))
            for series_id, name in session.execute(
                select(Series.id, Series.name).where(Series.name.in_([s.series for s in missing]))
            )
        )
    return found


def write_samples(session: Session, samples: Sequence[NewSample]) -> Written:
    """Store `samples` (validated by the caller) in the open transaction. A sample at the
    time of one already stored for its series replaces it: a resent backlog counts once."""
    ids = series_ids(session, samples)
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    minutes: set[tuple[int, int]] = set()
    refused = 0
    for sample in samples:
        series_id, raw_from = ids[sample.series]
        if sample.ts < raw_from:
            refused += 1
            continue
        value = sample.value
        rows[(series_id, sample.ts)] = {
            "series_id": series_id,
            "ts": sample.ts,
            "value": value,
            # NULL costs no bytes in SQLite: most intervals of a setpoint or a duty are flat
            "min": None if sample.min is None or sample.min == value else sample.min,
            "max": None if sample.max is None or sample.max == value else sample.max,
            "text": sample.text,
        }
        minutes.add((series_id, floor_to(sample.ts, MINUTE_MS)))
    # new samples go in as they are and are counted (the driver's rowcount of one
    # executemany per series); only a series some of whose samples replace stored ones (a
    # resent backlog, rare) is written again as an update
    by_series: dict[int, list[dict[str, Any]]] = {}
    for key, row in rows.items():
        by_series.setdefault(key[0], []).append(row)
    keys = ("series_id", "ts")
    added = {}
    for series_id, series_rows in by_series.items():
        added[series_id] = upsert(session, Sample.__table__, series_rows, keys)
        if added[series_id] < len(series_rows):
            upsert(session, Sample.__table__, series_rows, keys, ("value", "min", "max", "text"))
    count_samples(session.connection(), added)
    upsert(
        session,
        RollupPending.__table__,
        [{"series_id": series_id, "start": start} for series_id, start in sorted(minutes)],
        ("series_id", "start"),
    )
    return Written(len(rows), refused)
