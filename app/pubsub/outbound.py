"""A bounded outbound queue per connection, drained by its own writer.

Publishing only appends ready-made bytes to each queue; one loop callback per loop
iteration then hands each queue's pending bytes to its stream as one write. So the
broadcast never waits on a slow tablet, frames are never re-encoded per connection, and a
client that stops reading is cut off once its unsent data passes the limit, keeping server
memory bounded.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024  # most bytes handed to the stream at once


class WriteFuture(Protocol):
    def done(self) -> bool: ...
    def add_done_callback(self, fn: Callable[[WriteFuture], None]) -> None: ...
    def exception(self) -> BaseException | None: ...


class FlushScheduler:
    """Runs `flush()` of every queue that got data, once, at the next loop iteration."""

    def __init__(self, call_soon: Callable[[Callable[[], None]], object]) -> None:
        self._call_soon = call_soon
        self._dirty: list[OutboundQueue] = []
        self._pending = False

    def mark(self, queue: OutboundQueue) -> None:
        self._dirty.append(queue)
        if not self._pending:
            self._pending = True
            self._call_soon(self._run)

    def _run(self) -> None:
        dirty, self._dirty = self._dirty, []
        self._pending = False
        for queue in dirty:
            queue.flush()


class OutboundQueue:
    """Ready-to-send byte strings for one connection, at most `max_bytes` unsent."""

    def __init__(
        self,
        write: Callable[[bytes], WriteFuture],
        max_bytes: int,
        on_overflow: Callable[[], None],
        scheduler: FlushScheduler,
    ) -> None:
        self._write = write
        self.max_bytes = max_bytes
        self._on_overflow = on_overflow
        self._scheduler = scheduler
        self._parts: deque[bytes] = deque()
        self.queued_bytes = 0
        self.in_flight_bytes = 0
        self._marked = False
        self.closed = False

    @property
    def unsent_bytes(self) -> int:
        """Bytes accepted but not yet taken by the operating system."""
        return self.queued_bytes + self.in_flight_bytes

    def put(self, data: bytes) -> bool:
        """Queue `data`; False (and the overflow callback) when the limit would be passed."""
        if self.closed:
            return False
        if self.unsent_bytes + len(data) > self.max_bytes:
            self.close()
            self._on_overflow()
            return False
        self._parts.append(data)
        self.queued_bytes += len(data)
        if not self._marked and not self.in_flight_bytes:
            self._marked = True
            self._scheduler.mark(self)
        return True

    def flush(self) -> None:
        """Hand queued bytes to the stream, one chunk at a time, until it must wait."""
        self._marked = False
        while self._parts and not self.in_flight_bytes and not self.closed:
            parts = self._parts
            if len(parts) == 1 or len(parts[0]) >= CHUNK_BYTES:
                data = parts.popleft()
            else:
                batch = []
                size = 0
                while parts and size + len(parts[0]) <= CHUNK_BYTES:
                    part = parts.popleft()
                    batch.append(part)
                    size += len(part)
                data = b"".join(batch)
            self.queued_bytes -= len(data)
            self.in_flight_bytes = len(data)
            try:
                future = self._write(data)
            except Exception as error:  # stream closed under us: nothing more can be sent
                log.debug("write failed: %s", error)
                self.close()
                return
            if future.done():
                self.in_flight_bytes = 0
                if future.exception() is not None:
                    self.close()
            else:
                future.add_done_callback(self._written)
                return

    def _written(self, future: WriteFuture) -> None:
        self.in_flight_bytes = 0
        if future.exception() is not None:
            self.close()
            return
        if self._parts and not self._marked:
            self.flush()

    def close(self) -> None:
        """Drop everything unsent; later puts are ignored."""
        self.closed = True
        self._parts.clear()
        self.queued_bytes = 0
