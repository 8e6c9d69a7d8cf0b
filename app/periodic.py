"""A background job run on a timer: once `first_run_s` after start, then every `period_s`,
one run at a time (the timer's or a caller's), a failed run logged and tried again at the
next period. The retention tasks and the history roll-up are such jobs; their work goes
through the database writer or an executor, so a run never blocks the IOLoop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Periodic:
    def __init__(
        self,
        name: str,
        work: Callable[[], Awaitable[Any]],
        *,
        period_s: float,
        first_run_s: float,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._work = work
        self.period_s = period_s
        self.first_run_s = first_run_s
        self._wall = wall
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.runs = 0
        self.last_run_at: float | None = None  # wall clock, when the last run ended
        self.last_error: str | None = None  # of the last run; None when it succeeded

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._every_period())

    async def stop(self) -> None:
        """Cancel the timer; work already handed to the database writer still commits."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    async def run(self, work: Callable[[], Awaitable[T]] | None = None) -> T:
        """One run now (of `work`, default the job's own), after any run in progress."""
        async with self._lock:
            try:
                result = await (work or self._work)()
            except Exception as error:
                self.last_error = f"{type(error).__name__}: {error}"
                raise
            finally:
                self.runs += 1
                self.last_run_at = self._wall()
            self.last_error = None
            return result  # type: ignore[no-any-return]

    async def _every_period(self) -> None:
        delay = self.first_run_s
        while True:
            await asyncio.sleep(delay)
            delay = self.period_s
            try:
                await self.run()
            except Exception:  # the next run tries again; the server goes on
                log.exception("%s failed; trying again in %.0f s", self.name, self.period_s)
