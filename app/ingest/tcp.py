"""The TCP line listener (protocol.md §6): one sample per line, one `OK` or `ERR <reason>`
per line, in order. Plain lines, so `nc` and `socat` are clients.

A bad line changes nothing and the connection stays usable. A connection is cut off, after
a last `ERR`, for a line over `max_line_bytes`, for going over its rate (a token bucket of
`rate_per_s` lines/s holding `burst`), after three failed `AUTH`s, or when its token is
revoked.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpserver import TCPServer

from ..auth import Auth, Principal
from ..config import IngestConfig
from .lines import AuthLine, LineError, parse_line
from .service import IngestService
from .validate import IngestError

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
LINGER_S = 2.0  # how long a cut-off connection's last input is read and dropped
LINGER_MAX_BYTES = 1024 * 1024
MAX_FAILED_AUTH = 3  # then the connection is cut off: guessing tokens costs a reconnect each


class TokenBucket:
    """`burst` lines at once, refilled at `rate_per_s`; a pure helper with a given clock."""

    def __init__(self, rate_per_s: float, burst: int, now: float) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate_per_s)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class _CutOff(Exception):
    """The connection ends after this reason is sent as its last `ERR`."""


async def _linger(stream: IOStream) -> None:
    """Half-close, then drop what the client still sends for a moment: closing a socket
    with unread input sends a reset, which can destroy the last ERR before it is read."""
    try:
        stream.socket.shutdown(socket.SHUT_WR)
    except OSError:
        return
    deadline = time.monotonic() + LINGER_S
    dropped = 0
    while dropped < LINGER_MAX_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            dropped += len(await asyncio.wait_for(stream.read_bytes(READ_CHUNK, partial=True), left))
        except (StreamClosedError, TimeoutError):
            return


class _Connection:
    def __init__(self, listener: IngestListener, stream: IOStream, number: int) -> None:
        self.listener = listener
        self.stream = stream
        self.number = number
        config = listener.config
        self.bucket = TokenBucket(config.rate_per_s, config.burst, listener.clock())
        self.principal: Principal | None = None
        self.failed_auth = 0
        self.ok = 0
        self.refused = 0

    async def run(self) -> None:
        buffer = bytearray()
        limit = self.listener.config.max_line_bytes
        while True:
            try:
                chunk = await self.stream.read_bytes(READ_CHUNK, partial=True)
            except StreamClosedError:
                if buffer:  # a last line ended by EOF: taken, though it cannot be answered
                    try:
                        self.answer(bytes(buffer).removesuffix(b"\r"))
                    except _CutOff:
                        pass
                return
            buffer += chunk
            replies: list[bytes] = []
            start = 0  # lines before it are answered; the buffer is trimmed once per chunk
            try:
                while True:
                    end = buffer.find(b"\n", start)
                    if end < 0:
                        del buffer[:start]
                        # a partial line may still end in \r\n within the limit
                        if len(buffer) > limit + 1 or (len(buffer) == limit + 1 and buffer[-1:] != b"\r"):
                            raise _CutOff(f"line longer than {limit} bytes; closing")
                        break
                    line = bytes(buffer[start:end])
                    start = end + 1
                    newline = b"\n"
                    if line.endswith(b"\r"):
                        line, newline = line[:-1], b"\r\n"
                    if len(line) > limit:
                        raise _CutOff(f"line longer than {limit} bytes; closing")
                    replies.append(self.answer(line) + newline)
            except _CutOff as cut:
                replies.append(f"ERR {cut}\n".encode())
                log.info(
                    "ingest connection %d cut off after %d OK, %d ERR: %s",
                    self.number,
                    self.ok,
                    self.refused,
                    cut,
                )
                await self.stream.write(b"".join(replies))
                await _linger(self.stream)
                return
            if replies:
                # waiting for the write holds back reading: a client that does not read its
                # answers is slowed by TCP, and memory stays bounded
                await self.stream.write(b"".join(replies))

    def answer(self, line: bytes) -> bytes:
        """The reply to one line (without its terminator); _CutOff ends the connection."""
        listener = self.listener
        if not self.bucket.take(listener.clock()):
            config = listener.config
            raise _CutOff(
                f"over the rate limit ({config.rate_per_s:g} lines/s, burst {config.burst}); closing"
            )
        service = listener.service
        parsed = parse_line(line, service.now_s())
        if isinstance(parsed, AuthLine):
            return self._auth(parsed.token)
        if isinstance(parsed, LineError):
            return self._refused(parsed.reason)
        if self.principal is None:
            if listener.config.require_token:
                return self._refused("not authenticated: send AUTH <token> first")
        elif not listener.auth.is_current(self.principal):
            raise _CutOff("the API token was revoked; closing")
        try:
            service.submit([parsed.sample])
        except IngestError as error:
            return self._refused(error.reason)
        self.ok += 1
        return b"OK"

    def _auth(self, token: str) -> bytes:
        principal = self.listener.auth.principal_for_token(token)
        if principal is None:
            self.failed_auth += 1
            if self.failed_auth >= MAX_FAILED_AUTH:
                raise _CutOff(f"unknown or revoked API token ({MAX_FAILED_AUTH} failed AUTH); closing")
            return self._refused("unknown or revoked API token")
        self.principal = principal
        self.ok += 1
        return b"OK"

    def _refused(self, reason: str) -> bytes:
        self.refused += 1
        return b"ERR " + reason.encode("utf-8", "replace")


class IngestListener(TCPServer):
    """Accepts line protocol connections; `close_all` ends them (the server's stop)."""

    def __init__(
        self,
        service: IngestService,
        auth: Auth,
        config: IngestConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.service = service
        self.auth = auth
        self.config = config
        self.clock = clock
        self._streams: set[IOStream] = set()
        self._numbers = itertools.count(1)

    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        number = next(self._numbers)
        try:
            if len(self._streams) >= self.config.max_connections:
                log.warning(
                    "ingest connection %d from %s refused: %d open", number, address, len(self._streams)
                )
                await stream.write(f"ERR too many connections (max {self.config.max_connections})\n".encode())
                return
            self._streams.add(stream)
            stream.set_nodelay(True)  # one short answer per line: do not let Nagle hold it
            log.debug("ingest connection %d from %s", number, address)
            await _Connection(self, stream, number).run()
        except StreamClosedError:
            pass
        finally:
            self._streams.discard(stream)
            stream.close()
            log.debug("ingest connection %d closed", number)

    @property
    def connections(self) -> int:
        return len(self._streams)

    def close_all(self) -> None:
        """Stop listening and end every open connection."""
        self.stop()
        for stream in list(self._streams):
            stream.close()
