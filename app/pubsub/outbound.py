"""A bounded outbound queue per connection, drained by its own writer.

Publishing only appends ready-made bytes to each queue. The first frame a connection gets
in a loop iteration is handed to its stream at once, so a lone message never waits for
the next iteration; frames that follow it in the same iteration (a burst) are joined and
handed over as one write at the next iteration. So the broadcast never waits on a slow
tablet, frames are never re-encoded per connection, a burst costs two writes per
connection rather than one per frame, and a client that stops reading is cut off once its
unsent data passes the limit, keeping server memory bounded.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from tornado.iostream import IOStream

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024  # most bytes handed to the stream at once


class WriteFuture(Protocol):
    def done(self) -> bool: ...
    def add_done_callback(self, fn: Callable[[WriteFuture], None]) -> None: ...
    def exception(self) -> BaseException | None: ...


class DirectWriter:
    """Writes to a Tornado `IOStream`, straight to its socket while nothing is buffered.

    Tornado's `write` costs a future, a buffer and a callback per call, which is most of a
    delivery's CPU when one frame goes to each of a hundred tablets. While the stream has
    nothing of its own queued, the bytes go to `socket.send` (order is kept: nothing is
    ahead of them); what the kernel does not take, and every write while the stream is
    busy, goes through `stream.write` as before. Returns None when all bytes were taken.
    """

    def __init__(self, stream: IOStream) -> None:
        self.stream = stream
        self._socket = stream.socket if type(stream) is IOStream else None  # not for TLS streams

    def __call__(self, data: bytes) -> WriteFuture | None:
        stream, sock = self.stream, self._socket
        if sock is not None and not stream.writing() and not stream.closed():
            try:
                sent = sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                sent = 0  # let the stream see the error and close as it does for its own writes
            if sent == len(data):
                return None
            data = data[sent:]
        return stream.write(data)


class FlushScheduler:
    """At the next loop iteration: runs `flush()` of every queue marked, and lets every
    queue that wrote at once in this iteration do so again."""

    def __init__(self, call_soon: Callable[[Callable[[], None]], object]) -> None:
        self._call_soon = call_soon
        self._dirty: list[OutboundQueue] = []
        self._wrote: list[OutboundQueue] = []
        self._pending = False

    def mark(self, queue: OutboundQueue) -> None:
        self._dirty.append(queue)
        self._schedule()

    def wrote_now(self, queue: OutboundQueue) -> None:
        self._wrote.append(queue)
        self._schedule()

    def _schedule(self) -> None:
        if not self._pending:
            self._pending = True
            self._call_soon(self._run)

    def _run(self) -> None:
        dirty, self._dirty = self._dirty, []
        wrote, self._wrote = self._wrote, []
        self._pending = False
        for queue in wrote:
            queue.wrote_this_iteration = False
        for queue in dirty:
            queue.flush()


class OutboundQueue:
    """Ready-to-send byte strings for one connection, at most `max_bytes` unsent."""

    def __init__(
        self,
        write: Callable[[bytes], WriteFuture | None],
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
        self.wrote_this_iteration = False  # reset by the scheduler at the next iteration
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
        if self._marked or self.in_flight_bytes:
            return True  # a flush is due, or the write in flight will flush when done
        if not self.wrote_this_iteration:
            self.wrote_this_iteration = True
            self._scheduler.wrote_now(self)
            self.flush()
        else:
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
            if future is None or future.done():
                self.in_flight_bytes = 0
                if future is None:
                    continue
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
