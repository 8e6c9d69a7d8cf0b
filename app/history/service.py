"""History as the server runs it: the recorder, the roll-up task and retention, all writing
through the one database writer, and chart reads on threads of their own so a big query
never stalls the IOLoop (or a tick)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from ..db.writer import DbWriter
from .recorder import Recorder
from .retention import HistoryRetention
from .rollup import RollupTask

T = TypeVar("T")
READERS = 2  # chart reads at once; more queue (SQLite reads in WAL never wait for the writer)


class History:
    def __init__(
        self,
        writer: DbWriter,
        sessions: sessionmaker[Session],
        setting: Callable[[str], Any],
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self.recorder = Recorder(writer, setting, wall=wall)
        self.rollup = RollupTask(writer, wall=wall)
        self.retention = HistoryRetention(writer, setting, wall=wall)
        self._readers: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="history-read")
        self.recorder.start()
        self.rollup.start()
        self.retention.start()

    async def stop(self) -> None:
        """Stop the tasks and hand what the recorder holds to the writer (its stop writes it)."""
        await self.retention.stop()
        await self.rollup.stop()
        await self.recorder.stop()
        if self._readers is not None:
            self._readers.shutdown(wait=False, cancel_futures=True)
            self._readers = None

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` on a reader thread; its result back on the loop."""
        if self._readers is None:
            raise RuntimeError("history is not running")

        def run() -> T:
            with self._sessions() as session:
                return work(session)

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    def status(self) -> dict[str, Any]:
        return {
            "recorder": self.recorder.status(),
            "rollup": self.rollup.status(),
            "retention": self.retention.status(),
        }
