"""History and ingest (issue 12), measured on the shipped code (run by hand).

    .venv/bin/python -m bench.history [--days 90] [--quick] [--db-url URL | --postgres] [--keep]

Every figure is printed beside a baseline measured in the same run, with its target:

1. Writes. `--days` of 10 s samples for 6 series shaped like a fermenter's (beer, fridge
   and room probes read at 1/16 °C, the beer setpoint, heat and cool duty) go through the
   shipped path of an ingested sample: `Recorder.record` (app/history/recorder.py) on the
   IOLoop, its transactions of `MAX_BATCH` samples (and its own 2 s flush) handed to the
   one `DbWriter` thread, `write_samples` (app/history/store.py) there. The feeder yields
   to the loop every 100 steps of 6 samples and waits while more than 4 batches are
   queued. Timed from the first `record` to the writer's commit of the last sample. The
   baseline: the rows as `write_samples` stores them, `executemany` on the bare DBAPI
   cursor into a fresh table of the same columns, key and foreign key (SQLite: a second
   file with the same pragmas; PostgreSQL: a second table), one transaction per
   `MAX_BATCH` rows. The days are cut into chunks; in each, both write the same rows, in
   turn first, so the ratio's spread shows the machine's noise. Target: ratio ≥ 0.5.
2. Roll-up of everything written (`RollupTask.run_once`), then retention at the default
   settings (`HistoryRetention.run_once` as of the last sample: raw samples older than
   `history_raw_days`, 30, deleted, SQLite's incremental vacuum). Database bytes after
   each, per million samples. No target.
3. Query. Over the last 30 days, 3 series, at most 1,000 points each: what
   `GET /api/history` runs (`query.find_series` + `query.history`, on the history's
   reader thread through `History.read`), against the same raw rows selected with the
   bare cursor on the same reader. Medians of alternating repetitions. Target: ≥ 50×
   faster. The same request through HTTP on the real server is printed too.
4. TCP ingest. The real server (`maelstrom.py`, the database just filled, a temporary
   `--data-dir`, free loopback ports, `--log-level WARNING`) with its sample chamber.
   10 connections `AUTH` with an API token made as docs/api.md says, then send
   measurement lines with their own timestamps, each keeping 2 batches of 100 lines in
   flight, for the load window; lines/s counts the `OK`s (an `ERR` is a problem), and
   every acknowledged line is then looked for in `GET /api/series`. The per-connection
   rate limit (50 lines/s, burst 200 by default) is raised in the server's config, or
   it alone would be measured. Then the same 10 connections each send one line every
   1/50 s, waiting for its answer: the most the default limit lets through. Baseline:
   the full-speed clients against a bare Tornado line answerer (bench/baseline_lines.py)
   that parses and stores nothing: what the clients and loopback can carry.
5. Tick lateness, idle first, then in each of the two ingest windows: the sample
   chamber's tick records on `chamber/<id>/data` carry the server's wall time of each
   tick (taken after its board read); a tick is due one `tick_period_s` after the one
   before started (app/control/loop.py), so the gap between two consecutive records'
   `ts` minus the period is how late the later one ran. Target: under 100 ms for the
   worst tick of each window.

The exit status is 1 when a target is missed or something went wrong (listed as a problem).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, func, insert, make_url, select, text
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from app.config import IngestConfig
from app.db.engine import default_url, make_engine, make_sessionmaker, migrate
from app.db.models import Rollup, RollupPending, Sample, Series
from app.db.writer import DbWriter
from app.history import History, query
from app.history.recorder import MAX_BATCH
from app.history.store import iso
from app.runtime_settings import SettingsStore

from .pg_cluster import PgCluster

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DAY_MS = 86_400_000
STEP_MS = 10_000  # history_interval_s at its default
SERIES: tuple[tuple[str, str], ...] = (
    ("bench/beer", "°C"),
    ("bench/fridge", "°C"),
    ("bench/room", "°C"),
    ("bench/beer_set", "°C"),
    ("bench/heat_duty", ""),
    ("bench/cool_duty", ""),
)
QUERY_SERIES = ("bench/beer", "bench/fridge", "bench/room")
QUERY_DAYS = 30
QUERY_POINTS = 1000
FEED_STEPS = 100  # steps of 6 samples between two yields to the loop
MAX_WAITING = 4  # batches queued at the writer before the feeder waits
TCP_CONNECTIONS = 10
TCP_BATCH = 100  # lines a client writes at once
TCP_WINDOW = 2 * TCP_BATCH  # lines a client keeps in flight
PACED_RATE = IngestConfig().rate_per_s  # the default limit of a connection: 50 lines/s
TARGET_WRITE_RATIO = 0.5
TARGET_QUERY_SPEEDUP = 50.0
TARGET_LATENESS_MS = 100.0
BARE_TABLE = "bench_bare_sample"

log = logging.getLogger("bench.history")
Reading = tuple[float, float, float]  # value, min, max
Step = tuple[int, tuple[Reading, ...]]


@dataclass(frozen=True)
class Plan:
    days: float
    chunks: int
    query_reps: int
    http_reps: int
    idle_s: float
    load_s: float
    baseline_s: float

    @property
    def steps(self) -> int:
        return int(self.days * DAY_MS // STEP_MS)

    @property
    def samples(self) -> int:
        return self.steps * len(SERIES)


def make_plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        days = 3.0 if args.days is None else args.days
        plan = Plan(days, chunks=2, query_reps=3, http_reps=2, idle_s=2.0, load_s=3.0, baseline_s=2.0)
    else:
        days = 90.0 if args.days is None else args.days
        plan = Plan(days, chunks=10, query_reps=11, http_reps=5, idle_s=10.0, load_s=20.0, baseline_s=10.0)
    if args.ingest_s is not None:
        plan = replace(plan, idle_s=args.ingest_s / 2, load_s=args.ingest_s, baseline_s=args.ingest_s / 2)
    return plan


# -- the data -----------------------------------------------------------------------------
class Fermenter:
    """The 6 series, 10 s apart, shaped like a fermenter on a repeating 14-day profile (19 °C,
    21 °C diacetyl rest, 4 °C crash). Each sample is what the recorder makes of ten 1 Hz
    ticks: a probe read at 1/16 °C flickers between two steps, so most probe samples have
    a min and max apart; the setpoint is flat; a duty varies a little while between 0 and 1."""

    def __init__(self, seed: int = 12) -> None:
        self.rng = random.Random(seed)
        self.beer = 19.0

    def _probe(self, temp: float) -> Reading:
        steps = temp * 16
        base = math.floor(steps)
        upper = min(10, max(0, round((steps - base) * 10 + self.rng.gauss(0, 1))))  # of the 10 ticks
        low, high = base / 16, (base + 1) / 16
        return (base + upper / 10) / 16, (low if upper < 10 else high), (high if upper > 0 else low)

    def _duty(self, duty: float) -> Reading:
        duty = min(1.0, max(0.0, duty))
        if duty in (0.0, 1.0):
            return duty, duty, duty
        spread = 0.01 * self.rng.random()
        return duty, max(0.0, duty - spread), min(1.0, duty + spread)

    def steps(self, first_ts: int, count: int) -> list[Step]:
        rng, out = self.rng, []
        for n in range(count):
            ts = first_ts + n * STEP_MS
            day = ts / DAY_MS
            cycle = day % 14
            beer_set = 19.0 if cycle < 4 else 21.0 if cycle < 7 else 4.0
            self.beer += (beer_set - self.beer) * (STEP_MS / 28_800_000) + rng.gauss(0, 0.003)
            sawtooth = (ts % 1_800_000) / 1_800_000  # a compressor cycle of 30 min
            fridge = beer_set - 1.5 + 2.0 * abs(sawtooth - 0.5) + rng.gauss(0, 0.02)
            room = 18.0 + 2.5 * math.sin(2 * math.pi * day) + rng.gauss(0, 0.05)
            out.append(
                (
                    ts,
                    (
                        self._probe(self.beer),
                        self._probe(fridge),
                        self._probe(room),
                        (beer_set, beer_set, beer_set),
                        self._duty((beer_set - self.beer - 0.2) * 2.0),
                        self._duty(0.35 + (self.beer - beer_set) * 2.0),
                    ),
                )
            )
        return out


def stored_rows(steps: Sequence[Step], ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """The rows `write_samples` stores for these samples (min and max NULL when equal to
    the value), as the bare baseline inserts them."""
    return [
        (series_id, ts, value, None if low == value else low, None if high == value else high, None)
        for ts, readings in steps
        for series_id, (value, low, high) in zip(ids, readings, strict=True)
    ]


# -- figures ------------------------------------------------------------------------------
def spread(values: Sequence[float], fmt: str = "{:.3g}") -> str:
    if not values:
        return "—"
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}..{fmt.format(max(values))}]"


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


@dataclass
class Results:
    backend: str = ""
    plan: Plan | None = None
    phases_s: dict[str, float] = field(default_factory=dict)
    # writes
    recorder_s: float = 0.0
    bare_s: float = 0.0
    written: int = 0
    chunk_ratios: list[float] = field(default_factory=list)
    chunk_recorder_rate: list[float] = field(default_factory=list)
    chunk_bare_rate: list[float] = field(default_factory=list)
    # roll-up, retention, size
    rollup_s: float = 0.0
    rollup_minutes: int = 0
    rollup_frames: int = 0
    retention_s: float = 0.0
    pruned: Any = None
    bytes_rolled_up: int = 0
    bytes_retained: int = 0
    raw_kept: int = 0
    rollups_kept: int = 0
    size_note: str = ""
    # query
    query_ms: list[float] = field(default_factory=list)
    bare_query_ms: list[float] = field(default_factory=list)
    query_resolutions: list[str] = field(default_factory=list)
    query_points: list[int] = field(default_factory=list)
    bare_rows: int = 0
    http_query_ms: list[float] = field(default_factory=list)
    http_series_ms: list[float] = field(default_factory=list)
    # ingest and ticks
    lines_per_s: float | None = None
    lines_per_s_each_second: list[float] = field(default_factory=list)
    lines_acked: int = 0
    lines_stored: int | None = None
    server_cpu_pct: float | None = None
    bare_lines_per_s: float | None = None
    bare_lines_each_second: list[float] = field(default_factory=list)
    tick_period_s: float = 1.0
    idle_lateness_ms: list[float] = field(default_factory=list)
    load_lateness_ms: list[float] = field(default_factory=list)
    paced_acked: int = 0
    paced_lines_per_s: float = 0.0
    paced_lateness_ms: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# -- the database -------------------------------------------------------------------------
def database_bytes(engine: Engine) -> tuple[int, str]:
    """The history's on-disk size: SQLite's file after a WAL checkpoint (what `ls` shows),
    PostgreSQL's history tables with their indexes and TOAST."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            path = Path(engine.url.database or "")
            wal = path.with_name(path.name + "-wal")
            size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
            return size, "the SQLite file after a WAL checkpoint"
        size = connection.execute(
            text(
                "SELECT sum(pg_total_relation_size(name::regclass)) "
                "FROM unnest(ARRAY['series', 'sample', 'rollup', 'rollup_pending']) AS name"
            )
        ).scalar()
        return int(size or 0), "PostgreSQL's history tables with indexes (pg_total_relation_size)"


class BareTable:
    """The baseline's fresh table: the sample table's columns, key and foreign key (a copy
    of the series table beside it in SQLite's second file), written with the bare cursor."""

    def __init__(self, engine: Engine, work: Path) -> None:
        self.main = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.engine = make_engine(f"sqlite:///{work / 'bare.db'}") if self.sqlite else engine
        metadata = MetaData()
        self.series = Series.__table__.to_metadata(metadata)
        self.table = Sample.__table__.to_metadata(metadata, name=BARE_TABLE)
        self.table.primary_key.name = f"pk_{BARE_TABLE}"  # PostgreSQL: pk_sample is the sample table's
        for constraint in self.table.foreign_key_constraints:
            constraint.name = f"fk_{BARE_TABLE}_series_id_series"
        metadata.create_all(self.engine, tables=[self.series, self.table] if self.sqlite else [self.table])
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        self.statement = (
            f"INSERT INTO {BARE_TABLE} (series_id, ts, value, min, max, text) VALUES "
            f"({', '.join([mark] * 6)})"
        )
        self.connection: Any = None

    def copy_series(self) -> None:
        """SQLite's second file gets the series rows the foreign key needs."""
        if not self.sqlite:
            return
        with self.main.connect() as source:
            rows = [dict(row._mapping) for row in source.execute(select(Series.__table__))]
        with self.engine.begin() as target:
            target.execute(insert(self.series), rows)

    def write(self, rows: Sequence[tuple[Any, ...]]) -> float:
        """executemany per MAX_BATCH rows, each its own transaction; the seconds it took."""
        if self.connection is None:
            self.connection = self.engine.raw_connection()
        connection = self.connection
        cursor = connection.cursor()
        started = time.perf_counter()
        for start in range(0, len(rows), MAX_BATCH):
            cursor.executemany(self.statement, rows[start : start + MAX_BATCH])
            connection.commit()
        elapsed = time.perf_counter() - started
        cursor.close()
        return elapsed

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(self.table)).scalar() or 0)

    def drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.sqlite:
            self.engine.dispose()
        else:
            self.table.drop(self.engine)


class VirtualWall:
    """The recorder's clock while it is fed the past: the time of the sample being fed, so
    its window (history_raw_days back, 5 min ahead) moves with the data."""

    def __init__(self) -> None:
        self.now_s = time.time()

    def __call__(self) -> float:
        return self.now_s


async def feed(history: History, writer: DbWriter, wall: VirtualWall, steps: Sequence[Step]) -> float:
    """Every sample of `steps` through `Recorder.record`; seconds until the last committed."""
    recorder = history.recorder
    record = recorder.record
    started = time.perf_counter()
    for n, (ts, readings) in enumerate(steps, 1):
        wall.now_s = ts / 1000
        for (name, unit), (value, low, high) in zip(SERIES, readings, strict=True):
            record(name, ts, value, unit=unit, min=low, max=high)
        if n % FEED_STEPS == 0:
            await asyncio.sleep(0)
            while writer.pending > MAX_WAITING:  # noqa: ASYNC110 - the writer has no event for it
                await asyncio.sleep(0.002)
    recorder.flush()
    await writer.drain(timeout_s=600)
    return time.perf_counter() - started


async def write_phase(
    results: Results,
    plan: Plan,
    history: History,
    writer: DbWriter,
    wall: VirtualWall,
    bare: BareTable,
    engine: Engine,
    first_ts: int,
) -> None:
    fermenter = Fermenter()
    per_chunk = math.ceil(plan.steps / plan.chunks)
    ids: list[int] = []
    done = 0
    chunk = 0
    while done < plan.steps:
        count = min(per_chunk, plan.steps - done)
        steps = fermenter.steps(first_ts + done * STEP_MS, count)
        samples = count * len(SERIES)
        stored_before = history.recorder.stored
        timings: dict[str, float] = {}
        # the recorder goes first in the first chunk: it creates the series the bare rows name
        for who in ("recorder", "bare") if chunk % 2 == 0 else ("bare", "recorder"):
            if who == "recorder":
                timings[who] = await feed(history, writer, wall, steps)
                if not ids:
                    ids = series_ids(engine)
                    bare.copy_series()
            else:
                rows = stored_rows(steps, ids)
                timings[who] = bare.write(rows)
        if history.recorder.stored - stored_before != samples:
            results.problems.append(
                f"chunk {chunk + 1}: {history.recorder.stored - stored_before} of {samples} samples stored"
            )
        results.recorder_s += timings["recorder"]
        results.bare_s += timings["bare"]
        results.chunk_recorder_rate.append(samples / timings["recorder"])
        results.chunk_bare_rate.append(samples / timings["bare"])
        results.chunk_ratios.append(timings["bare"] / timings["recorder"])
        done += count
        chunk += 1
        results.written += samples
        print(
            f"  chunk {chunk}/{plan.chunks}: {samples:,} samples, recorder {timings['recorder']:.2f} s, "
            f"bare {timings['bare']:.2f} s",
            flush=True,
        )
    if history.recorder.refused:
        results.problems.append(f"the recorder's writes refused {history.recorder.refused} samples")
    if bare.count() != results.written:
        results.problems.append(f"the bare table holds {bare.count()} rows of {results.written}")


def series_ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        found = dict(connection.execute(select(Series.name, Series.id)).all())
    return [found[name] for name, _ in SERIES]


def count_rows(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return (
            int(connection.execute(select(func.count()).select_from(Sample)).scalar() or 0),
            int(connection.execute(select(func.count()).select_from(Rollup)).scalar() or 0),
            int(connection.execute(select(func.count()).select_from(RollupPending)).scalar() or 0),
        )


async def query_phase(results: Results, plan: Plan, history: History, last_ts: int) -> None:
    low, high = last_ts - QUERY_DAYS * DAY_MS, last_ts
    names = list(QUERY_SERIES)

    def shipped(session: Any) -> dict[str, Any]:  # what HistoryHandler.get hands History.read
        refs = query.find_series(session, names)
        return query.history(session, [refs[name] for name in names], low, high, QUERY_POINTS)

    refs = await history.read(lambda session: query.find_series(session, names))
    ids = [refs[name].id for name in names]

    def bare(session: Any) -> int:
        cursor = session.connection().connection.cursor()
        mark = "?" if session.bind.dialect.paramstyle == "qmark" else "%s"
        statement = (
            f"SELECT ts, value, min, max FROM sample WHERE series_id = {mark} "
            f"AND ts >= {mark} AND ts <= {mark} AND value IS NOT NULL ORDER BY ts"
        )
        rows = 0
        for series_id in ids:
            cursor.execute(statement, (series_id, low, high))
            rows += len(cursor.fetchall())
        cursor.close()
        return rows

    for rep in range(plan.query_reps):
        for who in ("shipped", "bare") if rep % 2 == 0 else ("bare", "shipped"):
            started = time.perf_counter()
            if who == "shipped":
                body = await history.read(shipped)
                results.query_ms.append((time.perf_counter() - started) * 1000)
                results.query_resolutions = [s["resolution"] for s in body["series"]]
                results.query_points = [len(s["points"]) for s in body["series"]]
            else:
                results.bare_rows = await history.read(bare)
                results.bare_query_ms.append((time.perf_counter() - started) * 1000)
    if any(points > QUERY_POINTS for points in results.query_points):
        results.problems.append(f"the query returned {results.query_points} points, more than {QUERY_POINTS}")


async def in_process(results: Results, plan: Plan, url: str, work: Path) -> int:
    """Writes, roll-up, retention and the query, in this process; the last sample's time."""
    engine = make_engine(url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            if connection.execute(select(func.count()).select_from(Series)).scalar():
                raise SystemExit(
                    f"{engine.url.render_as_string()} holds history already: give an empty database"
                )
        sessions = make_sessionmaker(engine)
        settings = SettingsStore(sessions)
        settings.load()
        writer = DbWriter(sessions)
        writer.start()
        wall = VirtualWall()
        history = History(writer, sessions, settings.get, wall=wall)
        # the readers and the recorder's 2 s flush as the server runs them; the roll-up and
        # retention timers are stopped, each is run once below, timed
        history.start()
        await history.rollup.stop()
        await history.retention.stop()
        bare = BareTable(engine, work)
        last_ts = int(time.time() * 1000) // STEP_MS * STEP_MS
        first_ts = last_ts - (plan.steps - 1) * STEP_MS
        try:
            print(
                f"writing {plan.days:g} days: {plan.samples:,} samples of {len(SERIES)} series ...",
                flush=True,
            )
            started = time.perf_counter()
            await write_phase(results, plan, history, writer, wall, bare, engine, first_ts)
            results.phases_s["writes (both)"] = time.perf_counter() - started
            bare.drop()

            print("rolling up ...", flush=True)
            started = time.perf_counter()
            results.rollup_frames = await history.rollup.run_once()
            results.rollup_s = time.perf_counter() - started
            results.rollup_minutes = history.rollup.minutes_done
            results.phases_s["roll-up"] = results.rollup_s
            samples, _, pending = count_rows(engine)
            if pending:
                results.problems.append(f"{pending} minutes still pending roll-up")
            results.bytes_rolled_up, results.size_note = database_bytes(engine)

            print("retention ...", flush=True)
            wall.now_s = last_ts / 1000
            started = time.perf_counter()
            results.pruned = await history.retention.run_once(now_s=last_ts / 1000)
            results.retention_s = time.perf_counter() - started
            results.phases_s["retention"] = results.retention_s
            results.raw_kept, results.rollups_kept, _ = count_rows(engine)
            results.bytes_retained, _ = database_bytes(engine)
            kept_days = settings.get("history_raw_days")
            expected = min(plan.steps, kept_days * DAY_MS // STEP_MS) * len(SERIES)
            if abs(results.raw_kept - expected) > 7 * len(SERIES):  # the cutoff is on the minute
                results.problems.append(f"{results.raw_kept} raw samples kept, about {expected} expected")

            print("querying ...", flush=True)
            started = time.perf_counter()
            await query_phase(results, plan, history, last_ts)
            results.phases_s["query"] = time.perf_counter() - started
        finally:
            await history.stop()
            await writer.stop()
        return last_ts
    finally:
        engine.dispose()


# -- the real server ----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process in clock ticks (Linux), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


class Process:
    """A server subprocess with its output in a file."""

    def __init__(self, argv: list[str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(argv, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)

    async def wait_port(self, port: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"exited at start: {self.tail()}")
            try:
                _, stream = await asyncio.open_connection(HOST, port)
                stream.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError(f"no answer on port {port} within {timeout_s:.0f} s: {self.tail()}")

    def tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()
        return int(self.popen.returncode)


class Rest:
    """The REST API with an API token, made as docs/api.md says: log in with the initial
    password, then `POST /api/tokens` (urllib, on a thread)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.headers: dict[str, str] = {}
        self.token = ""

    def _call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data,
            {"Content-Type": "application/json", **self.headers, **(headers or {})},
            method=method,
        )
        with self.opener.open(request, timeout=60) as answer:
            payload = answer.read()
        return json.loads(payload) if payload else None

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        return await asyncio.to_thread(self._call, method, path, body, headers)

    async def log_in(self, data_dir: Path) -> None:
        password = (data_dir / "initial-password").read_text().strip()
        xsrf = (await self.call("POST", "/api/login", {"password": password}))["xsrf"]
        made = await self.call("POST", "/api/tokens", {"name": "history bench"}, {"X-XSRFToken": xsrf})
        self.token = made["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}


class Ticks:
    """The chamber's tick records as the server published them: (server ts, epoch s)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self, port: int, token: str, chamber_id: int) -> None:
        request = HTTPRequest(f"ws://{HOST}:{port}/socket", headers={"Authorization": f"Bearer {token}"})
        connection = await websocket_connect(request)
        channel = f"chamber/{chamber_id}/data"
        connection.write_message(json.dumps({"action": "subscribe", "channel": channel, "id": 1}))

        async def read() -> None:
            while (message := await connection.read_message()) is not None:
                frame = json.loads(message)
                if frame.get("channel") == channel:
                    stamp = frame["data"].get("ts")
                    self.stamps.append(datetime.fromisoformat(stamp).timestamp())

        self.task = asyncio.ensure_future(read())
        self._connection = connection

    def lateness_ms(self, since: float, until: float, period_s: float) -> list[float]:
        """How late each tick with its ts in [since, until) ran: its gap to the one before
        minus the period."""
        return [
            (later - earlier - period_s) * 1000
            for earlier, later in zip(self.stamps, self.stamps[1:], strict=False)
            if since <= later < until
        ]

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self._connection.close()


async def line_client(
    port: int, token: str, number: int, until: float, t0: float, buckets: list[int], problems: list[str]
) -> int:
    """One connection: AUTH, then measurement lines with their own times (1 ms apart, from
    20 minutes ago) in batches, TCP_WINDOW lines in flight, until `until`; the OKs."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"AUTH {token}\n".encode())
    answer = await reader.readline()
    if answer != b"OK\n":
        problems.append(f"connection {number}: AUTH answered {answer!r}")
        writer.close()
        return 0
    series = f"bench/tcp{number:02d}"
    first_ms = int(time.time() * 1000) - 20 * 60_000
    seq = 0

    def batch() -> bytes:
        nonlocal seq
        lines = []
        for _ in range(TCP_BATCH):
            value = 18.0 + (seq % 400) / 100
            lines.append(f"{series} {value:.2f} @{(first_ms + seq) / 1000:.3f}\n")
            seq += 1
        return "".join(lines).encode()

    sent = received = ok = 0
    while sent - received < TCP_WINDOW:
        writer.write(batch())
        sent += TCP_BATCH
    while True:
        data = await reader.read(65536)
        if not data:
            problems.append(f"connection {number}: closed by the server after {received} answers")
            break
        now = time.monotonic()
        count = data.count(b"\n")
        received += count
        errors = data.count(b"ERR")
        ok += count - errors
        if errors and not any(p.startswith(f"connection {number}:") for p in problems):
            start = data.find(b"ERR")
            reason = data[start : data.find(b"\n", start)].decode(errors="replace")
            problems.append(f"connection {number}: {reason!r}")
        second = int(now - t0)
        if 0 <= second < len(buckets):
            buckets[second] += count - errors
        if now < until:
            while sent - received < TCP_WINDOW:
                writer.write(batch())
                sent += TCP_BATCH
            await writer.drain()
        elif received >= sent:
            break
    writer.close()
    return ok


async def ingest_load(
    port: int, token: str, seconds: float, problems: list[str]
) -> tuple[float, list[float], int]:
    """10 connections for `seconds`: (lines/s over the window, lines/s each whole second, OKs)."""
    t0 = time.monotonic()
    whole = max(1, int(seconds))
    buckets = [0] * (whole + 2)
    oks = await asyncio.gather(
        *(
            line_client(port, token, n, t0 + seconds, t0, buckets, problems)
            for n in range(1, TCP_CONNECTIONS + 1)
        )
    )
    in_window = sum(buckets[:whole])
    return in_window / whole, [float(b) for b in buckets[:whole]], sum(oks)


async def paced_client(
    port: int, token: str, number: int, until: float, rate_per_s: float, problems: list[str]
) -> int:
    """One connection sending a line every 1/`rate_per_s` s and waiting for its answer, as a
    logger within the default rate limit does; the OKs. Each line carries its own time (now,
    1 ms after the one before at least): two lines the server stamped in the same
    millisecond would be one sample, the later replacing the earlier."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"AUTH {token}\n".encode())
    if (answer := await reader.readline()) != b"OK\n":
        problems.append(f"paced connection {number}: AUTH answered {answer!r}")
        writer.close()
        return 0
    series = f"bench/paced{number:02d}"
    ok = last_ms = 0
    due = time.monotonic() + number / (rate_per_s * TCP_CONNECTIONS)  # the connections staggered
    while due < until:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        last_ms = max(int(time.time() * 1000), last_ms + 1)
        writer.write(f"{series} {19.0 + (ok % 100) / 100:.2f} @{last_ms / 1000:.3f}\n".encode())
        answer = await reader.readline()
        if answer != b"OK\n":
            problems.append(f"paced connection {number}: {answer!r}")
            break
        ok += 1
        due += 1 / rate_per_s
    writer.close()
    return ok


async def stored_lines(rest: Rest, wanted: int, timeout_s: float = 30.0) -> int:
    """The samples of the bench's TCP series in `GET /api/series`, once they reach `wanted`
    (the recorder flushes every 2 s) or the time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        listed = await rest.call("GET", "/api/series")
        stored = sum(s["count"] for s in listed if s["name"].startswith(("bench/tcp", "bench/paced")))
        if stored >= wanted or time.monotonic() > deadline:
            return stored
        await asyncio.sleep(1.0)


async def server_phase(results: Results, plan: Plan, url: str, work: Path, last_ts: int) -> None:
    port, ingest_port = free_port(), free_port()
    config = work / "maelstrom.yaml"
    config.write_text(
        "ingest:\n"
        f"  address: {HOST}\n"
        f"  port: {ingest_port}\n"
        "  rate_per_s: 1000000000  # the default 50 lines/s a connection would be all we measure\n"
        "  burst: 1000000000\n"
    )
    data_dir = work / "data"
    argv = [sys.executable, str(ROOT / "maelstrom.py"), "--config", str(config), "--address", HOST]
    argv += ["--port", str(port), "--data-dir", str(data_dir), "--db-url", url, "--log-level", "WARNING"]
    server = Process(argv, work / "server.log")
    ticks = Ticks()
    try:
        await server.wait_port(port)
        await server.wait_port(ingest_port)
        rest = Rest(f"http://{HOST}:{port}")
        deadline = time.monotonic() + 30
        while not (data_dir / "initial-password").exists() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        await rest.log_in(data_dir)
        results.tick_period_s = float((await rest.call("GET", "/api/settings/tick_period_s"))["value"])
        chambers = await rest.call("GET", "/api/chambers")
        if not chambers:
            raise RuntimeError("the server has no chamber: the sample was not installed")
        await ticks.start(port, rest.token, chambers[0]["id"])
        deadline = time.monotonic() + 30
        while len(ticks.stamps) < 3:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no ticks on chamber/{chambers[0]['id']}/data within 30 s")
            await asyncio.sleep(0.1)

        print(
            f"server: idle {plan.idle_s:g} s, then {TCP_CONNECTIONS} ingest connections "
            f"for {plan.load_s:g} s ...",
            flush=True,
        )
        idle_from = time.time()
        await asyncio.sleep(plan.idle_s)
        load_from = time.time()
        cpu0, clock0 = cpu_ticks(server.popen.pid), time.monotonic()
        rate, each, acked = await ingest_load(ingest_port, rest.token, plan.load_s, results.problems)
        cpu1, clock1 = cpu_ticks(server.popen.pid), time.monotonic()
        load_until = time.time()
        await asyncio.sleep(2 * results.tick_period_s)  # the ticks of the load window's end arrive
        results.lines_per_s, results.lines_per_s_each_second, results.lines_acked = rate, each, acked
        if cpu0 is not None and cpu1 is not None:
            results.server_cpu_pct = 100 * (cpu1 - cpu0) / os.sysconf("SC_CLK_TCK") / (clock1 - clock0)
        print(
            f"server: {TCP_CONNECTIONS} connections at {PACED_RATE:g} lines/s each for {plan.load_s:g} s ...",
            flush=True,
        )
        paced_from = time.time()
        until = time.monotonic() + plan.load_s
        paced = await asyncio.gather(
            *(
                paced_client(ingest_port, rest.token, n, until, PACED_RATE, results.problems)
                for n in range(1, TCP_CONNECTIONS + 1)
            )
        )
        paced_until = time.time()
        results.paced_acked = sum(paced)
        results.paced_lines_per_s = results.paced_acked / (paced_until - paced_from)
        await asyncio.sleep(2 * results.tick_period_s)
        period = results.tick_period_s
        results.idle_lateness_ms = ticks.lateness_ms(idle_from, load_from, period)
        results.load_lateness_ms = ticks.lateness_ms(load_from, load_until, period)
        results.paced_lateness_ms = ticks.lateness_ms(paced_from, paced_until, period)
        results.lines_stored = await stored_lines(rest, acked + results.paced_acked)
        if results.lines_stored != acked + results.paced_acked:
            results.problems.append(
                f"{results.lines_stored} of {acked + results.paced_acked} acknowledged lines found stored"
            )

        params = urllib.parse.urlencode(
            {
                "series": ",".join(QUERY_SERIES),
                "from": iso(last_ts - QUERY_DAYS * DAY_MS),
                "to": iso(last_ts),
                "points": QUERY_POINTS,
            }
        )
        for _ in range(plan.http_reps):
            started = time.perf_counter()
            await rest.call("GET", f"/api/history?{params}")
            results.http_query_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await rest.call("GET", "/api/series")
            results.http_series_ms.append((time.perf_counter() - started) * 1000)
    finally:
        ticks.stop()
        code = server.stop()
        if code != 0:
            results.problems.append(f"the server exited with {code} on SIGTERM; see {server.log_path}")
        if "Traceback" in server.log_path.read_text(errors="replace"):
            results.problems.append(f"a traceback in the server's log: {server.log_path}")

    bare_port = free_port()
    baseline = Process(
        [sys.executable, "-m", "bench.baseline_lines", "--port", str(bare_port)], work / "bare.log"
    )
    try:
        await baseline.wait_port(bare_port)
        print(
            f"baseline line answerer: {TCP_CONNECTIONS} connections for {plan.baseline_s:g} s ...", flush=True
        )
        problems: list[str] = []
        rate, each, _ = await ingest_load(bare_port, "bench", plan.baseline_s, problems)
        results.bare_lines_per_s, results.bare_lines_each_second = rate, each
        results.problems += [f"baseline: {problem}" for problem in problems]
    finally:
        baseline.stop()


# -- report -------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(results: Results) -> bool:
    plan = results.plan
    assert plan is not None
    rows: list[tuple[str, ...]] = [("figure", "Maelstrom", "baseline (same run)", "ratio", "target", "")]
    passed = True

    recorder_rate = results.written / results.recorder_s if results.recorder_s else 0.0
    bare_rate = results.written / results.bare_s if results.bare_s else 0.0
    ratio = recorder_rate / bare_rate if bare_rate else 0.0
    ok = ratio >= TARGET_WRITE_RATIO
    passed &= ok
    rows.append(
        (
            "write samples/s, recorder vs bare executemany",
            f"{recorder_rate:,.0f}",
            f"{bare_rate:,.0f}",
            f"{ratio:.2f}",
            f"ratio ≥ {TARGET_WRITE_RATIO:g}",
            verdict(ok),
        )
    )
    rows.append(
        (
            "  each chunk",
            spread(results.chunk_recorder_rate, "{:,.0f}"),
            spread(results.chunk_bare_rate, "{:,.0f}"),
            spread(results.chunk_ratios, "{:.2f}"),
            "",
            "",
        )
    )
    rows.append(
        (
            "  µs a sample",
            f"{1e6 / recorder_rate:.1f}" if recorder_rate else "—",
            f"{1e6 / bare_rate:.1f}" if bare_rate else "—",
            "",
            "",
            "",
        )
    )

    shipped, bare = results.query_ms, results.bare_query_ms
    speedup = statistics.median(bare) / statistics.median(shipped) if shipped and bare else 0.0
    ok = speedup >= TARGET_QUERY_SPEEDUP
    passed &= ok
    rows.append(
        (
            f"{QUERY_DAYS}-day query ms, {len(QUERY_SERIES)} series ≤ {QUERY_POINTS} points vs raw rows",
            spread(shipped),
            spread(bare),
            f"{speedup:.0f}×",
            f"≥ {TARGET_QUERY_SPEEDUP:g}× faster",
            verdict(ok),
        )
    )
    rows.append(
        (
            "  resolution, points / raw rows",
            f"{','.join(results.query_resolutions)}, {sum(results.query_points)}",
            f"{results.bare_rows:,} rows",
            "",
            "",
            "",
        )
    )
    if results.http_query_ms:
        rows.append(("  the same by GET /api/history (HTTP)", spread(results.http_query_ms), "", "", "", ""))
    if results.http_series_ms:
        rows.append(
            ("GET /api/series ms (HTTP), every series", spread(results.http_series_ms), "", "", "", "")
        )

    million = results.written / 1e6
    rows.append(
        (
            "database bytes per million samples written",
            f"{results.bytes_retained / million:,.0f}",
            f"{results.bytes_rolled_up / million:,.0f} before retention",
            "",
            "none set",
            "",
        )
    )
    kept = results.raw_kept / 1e6
    rows.append(
        (
            "  per million raw samples kept",
            f"{results.bytes_retained / kept:,.0f}" if kept else "—",
            f"{results.bytes_rolled_up / million:,.0f}",
            "",
            "",
            "",
        )
    )
    rows.append(
        (
            "  database MiB, raw samples, roll-ups",
            f"{results.bytes_retained / 2**20:,.1f} MiB",
            f"{results.bytes_rolled_up / 2**20:,.1f} MiB",
            "",
            "",
            "",
        )
    )

    if results.lines_per_s is not None:
        bare_lines = results.bare_lines_per_s or 0.0
        rows.append(
            (
                f"TCP ingest lines/s, {TCP_CONNECTIONS} connections",
                f"{results.lines_per_s:,.0f}",
                f"{bare_lines:,.0f} bare line answerer",
                f"{results.lines_per_s / bare_lines:.2f}" if bare_lines else "—",
                "none set",
                "",
            )
        )
        rows.append(
            (
                "  each second",
                spread(results.lines_per_s_each_second, "{:,.0f}"),
                spread(results.bare_lines_each_second, "{:,.0f}"),
                "",
                "",
                "",
            )
        )
        cpu = "—" if results.server_cpu_pct is None else f"{results.server_cpu_pct:.0f} %"
        acked = results.lines_acked + results.paced_acked
        rows.append(
            (
                "  acknowledged, stored; server CPU",
                f"{acked:,}, {results.lines_stored:,}; {cpu}",
                "",
                "",
                "",
                "",
            )
        )
        idle = results.idle_lateness_ms
        windows = (
            ("tick lateness ms, ingest at full speed", results.load_lateness_ms),
            (
                f"tick lateness ms, {TCP_CONNECTIONS} × {PACED_RATE:g} lines/s "
                f"({results.paced_lines_per_s:,.0f}/s in all)",
                results.paced_lateness_ms,
            ),
        )
        for label, load in windows:
            worst = max(load) if load else math.inf
            ok = worst < TARGET_LATENESS_MS
            passed &= ok
            rows.append(
                (
                    f"{label}, worst",
                    f"{worst:.1f}" if load else "no tick in the window",
                    f"{max(idle):.1f} idle" if idle else "—",
                    "",
                    f"< {TARGET_LATENESS_MS:g} ms",
                    verdict(ok),
                )
            )
            rows.append(
                (
                    "  median, p99 (ticks)",
                    f"{statistics.median(load):.1f}, {percentile(load, 0.99):.1f} ({len(load)})"
                    if load
                    else "—",
                    f"{statistics.median(idle):.1f}, {percentile(idle, 0.99):.1f} ({len(idle)})"
                    if idle
                    else "—",
                    "",
                    "",
                    "",
                )
            )

    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    print("\n".join(lines))

    pruned = results.pruned
    per_s = results.rollup_minutes / results.rollup_s if results.rollup_s else 0.0
    print(
        f"\nroll-up: {results.rollup_minutes:,} pending minutes, {results.rollup_frames:,} frames in "
        f"{results.rollup_s:.1f} s ({per_s:,.0f} minutes/s); "
        f"retention: {pruned.samples if pruned else 0:,} raw samples deleted, "
        f"{pruned.pages_freed if pruned else 0:,} pages freed, {pruned.transactions if pruned else 0} "
        f"transactions in {results.retention_s:.1f} s; kept {results.raw_kept:,} raw samples and "
        f"{results.rollups_kept:,} roll-ups; size: {results.size_note}"
    )
    if results.lines_per_s is not None:
        print(
            "tick lateness: each tick record's own `ts` (the server's wall clock, after its board read) "
            f"minus the previous one's minus tick_period_s ({results.tick_period_s:g} s): the loop "
            "schedules a tick one period after the last one started, so a longer gap is a late tick "
            "(a missed tick shows as a whole period)"
        )
    print("phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in results.phases_s.items()))
    return passed


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo") as info:
            model = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), ""
            )
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{model or 'cpu'}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; load average {load:.2f}"
    )


async def run(args: argparse.Namespace, plan: Plan, url: str, work: Path) -> Results:
    results = Results(plan=plan)
    results.backend = make_url(url).get_backend_name()
    started = time.perf_counter()
    last_ts = await in_process(results, plan, url, work)
    if not args.no_server:
        phase = time.perf_counter()
        try:
            await server_phase(results, plan, url, work, last_ts)
        except (RuntimeError, OSError) as error:
            results.problems.append(f"server phase: {error}")
        results.phases_s["server"] = time.perf_counter() - phase
    results.phases_s["all"] = time.perf_counter() - started
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, help="days of 10 s samples to write (default 90; --quick: 3)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 3 days, short windows, few repetitions"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db-url", help="an empty database (default: SQLite in the temporary data dir)")
    where.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL cluster (bench/pg_cluster.py)"
    )
    parser.add_argument(
        "--ingest-s", type=float, help="each ingest window (default 20, --quick 3); idle and baseline half"
    )
    parser.add_argument("--no-server", action="store_true", help="skip the TCP ingest and tick lateness part")
    parser.add_argument(
        "--keep", action="store_true", help="keep the data dir, database and logs (path printed)"
    )
    args = parser.parse_args(argv)
    if args.days is not None and args.days <= 0:
        parser.error("--days must be positive")
    plan = make_plan(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    work = Path(tempfile.mkdtemp(prefix="maelstrom-history-bench-"))
    (work / "data").mkdir(mode=0o700)
    cluster = PgCluster(keep=args.keep) if args.postgres else None
    try:
        if cluster is not None:
            print("starting a throwaway PostgreSQL cluster ...", flush=True)
            url = cluster.start().url
        else:
            url = args.db_url or default_url(work / "data")
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{machine()}; started {started}", flush=True)
        results = asyncio.run(run(args, plan, url, work))
        print(
            f"\nhistory bench on {results.backend}: {plan.days:g} days × {len(SERIES)} series × 10 s = "
            f"{results.written:,} samples; {time.strftime('%Y-%m-%d %H:%M:%S')}, {machine()}"
        )
        passed = report(results)
        for problem in results.problems:
            print(f"problem: {problem}")
        print(
            "all targets met"
            if passed and not results.problems
            else "exit status 1: a target missed, or a problem above"
        )
        return 0 if passed and not results.problems else 1
    finally:
        if cluster is not None:
            cluster.stop()
        if args.keep:
            print(f"kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
