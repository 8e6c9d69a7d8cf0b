"""The one database writer: a thread that runs every write in order, in short transactions
(fire-and-forget writes queued together share one), so a slow SD card or another process
holding the database's write lock delays the write, never the IOLoop (a control tick, a
WebSocket frame, a REST read).

Two ways in:
- `submit(kind, work)` from a coroutine that needs the result (a REST handler): the
  returned future resolves on the loop once the transaction committed, or raises its error;
  a submitted write is tried once: one that could not start within `submit_wait_s`
  (queued behind writes waiting for the lock) fails with `WriterBusy` without running,
  one that then finds the database locked past SQLite's busy timeout fails with that
  error (`is_busy` is true for both; the REST API answers 503);
- `enqueue(kind, work)` for writes nobody waits on (a tick's run state, alarms, logs): a
  write that fails because the database is locked or busy is tried again, in order, until
  it lands; any other failure is logged once per kind and reported through `on_failure`,
  and `on_recovered` is called when a write of that kind succeeds again.

`work` is a callable taking an open `Session` inside `sessions.begin()`; it must not touch
objects owned by the loop's thread other than plain values it captured.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Session], Any]
RETRY_S = (0.05, 2.0)  # backoff between tries of a write that found the database locked
BATCH_MAX = 200  # fire-and-forget writes queued together share one transaction, up to this many
MAX_QUEUED = 10_000  # fire-and-forget writes waiting; beyond this the oldest kinds are reported
SUBMIT_WAIT_S = 5.0  # as long as SQLite's busy timeout (db/engine.py) lets one write wait


class WriterBusy(RuntimeError):
    """A submitted write that could not start in time; it was not run."""


# PostgreSQL's lock_not_available (lock_timeout ran out) and deadlock_detected: the
# statement was cancelled and its transaction rolled back, so it can be tried again
_PG_LOCKED = ("55P03", "40P01")


def is_locked(error: BaseException) -> bool:
    """Another writer holds the lock ('database is locked' / 'busy' from SQLite, a lock
    timeout or deadlock from PostgreSQL); nothing was written, try again."""
    if not isinstance(error, OperationalError):
        return False
    original = getattr(error, "orig", error)
    if getattr(original, "sqlstate", None) in _PG_LOCKED:
        return True
    text = str(original).lower()
    return "locked" in text or "busy" in text


def is_busy(error: BaseException) -> bool:
    """A submitted write refused because the database stayed locked: nothing was written."""
    return isinstance(error, WriterBusy) or is_locked(error)


@dataclass
class _Job:
    kind: str
    work: Work
    future: asyncio.Future[Any] | None = None  # None: fire and forget, retried while locked
    then: Callable[[Any], None] | None = None  # called on the loop with the result, after commit
    queued_at: float = field(default_factory=time.monotonic)
    wait_s: float | None = None  # a submitted job not started this long after queued_at is refused


class DbWriter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        on_failure: Callable[[str, BaseException], None] | None = None,
        on_recovered: Callable[[str], None] | None = None,
        max_queued: int = MAX_QUEUED,
        submit_wait_s: float = SUBMIT_WAIT_S,
    ) -> None:
        """`on_failure(kind, error)` and `on_recovered(kind)` are called on the loop's thread."""
        self._sessions = sessions
        self._on_failure = on_failure or (lambda kind, error: None)
        self._on_recovered = on_recovered or (lambda kind: None)
        self.max_queued = max_queued
        self.submit_wait_s = submit_wait_s
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._failing: set[str] = set()  # kinds whose last write failed (touched on the writer thread)
        self._idle = threading.Event()
        self._idle.set()
        self.written = 0
        self.dropped = 0

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="db-writer", daemon=True)
        self._thread.start()

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Write what is queued (up to `timeout_s`), then end the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        thread = self._thread
        await asyncio.get_running_loop().run_in_executor(None, thread.join, timeout_s)
        if thread.is_alive():
            log.error("database writer did not finish in %.0f s; %d writes lost", timeout_s, self.pending)
        self._thread = None

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every write queued so far has been tried (tests, shutdown, backups)."""
        marker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._put(_Job("drain", lambda session: None, marker))  # no start limit: it waits for all
        await asyncio.wait_for(marker, timeout_s)

    async def settled(self, timeout_s: float = 2.0) -> None:
        """Like `drain`, but gives up quietly after `timeout_s`: a reader that wants what was
        queued before it, yet must answer while the database is locked by someone else."""
        try:
            await self.drain(timeout_s)
        except TimeoutError:
            log.info("database writes still queued after %.1f s; answering with what is stored", timeout_s)

    # -- the loop's side ------------------------------------------------------------------
    def submit(self, kind: str, work: Callable[[Session], T]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._put(_Job(kind, work, future, wait_s=self.submit_wait_s))
        return future

    def enqueue(self, kind: str, work: Work, then: Callable[[Any], None] | None = None) -> None:
        """Write without waiting; `then(result)` runs on the loop once it committed."""
        if self._queue.qsize() >= self.max_queued:
            self.dropped += 1
            error = RuntimeError(f"{self._queue.qsize()} database writes queued; {kind} write dropped")
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("%s (%d dropped so far)", error, self.dropped)
            self._on_failure(kind, error)
            return
        self._put(_Job(kind, work, then=then))

    def _put(self, job: _Job) -> None:
        if self._thread is None:
            raise RuntimeError("the database writer is not running")
        self._idle.clear()
        self._queue.put(job)

    # -- the writer thread ----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if job.future is not None:
                self._do(job)
            else:
                batch, after, stop = self._more_enqueued(job)
                self._do_batch(batch)
                if after is not None:
                    self._do(after)
                if stop:
                    return
            if self._queue.empty():
                self._idle.set()

    def _more_enqueued(self, first: _Job) -> tuple[list[_Job], _Job | None, bool]:
        """`first` and the fire-and-forget writes queued right behind it (up to BATCH_MAX);
        the submitted write that ended the run, if one did; whether the stop marker did."""
        batch = [first]
        while len(batch) < BATCH_MAX:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return batch, None, True
            if job.future is not None:
                return batch, job, False
            batch.append(job)
        return batch, None, False

    def _do_batch(self, batch: list[_Job]) -> None:
        """Fire-and-forget writes queued together commit in one transaction: a burst (a
        script posting logs, an ingest backlog) costs one commit, not one each, which on
        PostgreSQL is the difference between a few hundred and thousands of writes a
        second. Should one of them fail for a reason other than a lock, the transaction is
        rolled back and each half is tried on its own, down to the one at fault, so the
        others still land (in order) and the bad one is reported as before."""
        if len(batch) == 1:
            self._do(batch[0])
            return
        try:
            results = self._commit(lambda session: [job.work(session) for job in batch], retry_locked=True)
        except Exception:
            half = len(batch) // 2  # nothing of the batch was committed
            self._do_batch(batch[:half])
            self._do_batch(batch[half:])
            return
        for job, result in zip(batch, results, strict=True):
            self._succeeded(job, result)

    def _do(self, job: _Job) -> None:
        waited = time.monotonic() - job.queued_at
        if job.wait_s is not None and waited > job.wait_s:
            # bounds how long a request waits behind writes stuck on another program's lock
            self._failed(job, WriterBusy(f"{job.kind} write waited {waited:.1f} s for the database"))
            return
        try:
            result = self._commit(job.work, retry_locked=job.future is None)
        except Exception as error:  # handed back or reported; the thread goes on
            self._failed(job, error)
            return
        self._succeeded(job, result)

    def _commit(self, work: Work, retry_locked: bool) -> Any:
        """`work(session)` in one transaction; a write nobody waits on that finds the
        database locked is tried again with backoff until it lands."""
        delay = RETRY_S[0]
        while True:
            try:
                with self._sessions.begin() as session:
                    return work(session)
            except Exception as error:
                if not (retry_locked and is_locked(error)):
                    raise
                time.sleep(delay)  # this thread only: the loop does not wait
                delay = min(delay * 2, RETRY_S[1])

    def _succeeded(self, job: _Job, result: Any) -> None:
        self.written += 1
        if job.future is not None:
            self._hand_back(job.future, result, None)
        elif job.then is not None:
            self._call(job.then, result)
        if job.kind in self._failing:
            self._failing.discard(job.kind)
            log.info("database writes of %s work again", job.kind)
            self._call(self._on_recovered, job.kind)

    def _failed(self, job: _Job, error: BaseException) -> None:
        if job.future is not None:  # the caller sees the error; it is not ours to report
            self._hand_back(job.future, None, error)
            return
        if job.kind not in self._failing:
            self._failing.add(job.kind)
            log.error("database write of %s failed: %s", job.kind, error)
        self._call(self._on_failure, job.kind, error)

    def _hand_back(self, future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
        def settle() -> None:
            if future.done():  # the caller gave up (cancelled)
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        self._call(settle)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback, *args)
