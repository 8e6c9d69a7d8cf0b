"""Open connections: their pings and the silence cut-off (4012), swept by one timer, and
closing those whose credentials ended."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from ..auth import Principal
from .errors import CLOSE_SILENT

log = logging.getLogger(__name__)


class Connection(Protocol):
    connection_id: int
    last_heard: float
    last_ping: float
    principal: Principal | None  # None: never authenticated (reads only)

    def ping(self, data: bytes = b"") -> None: ...
    def close_with(self, code: int, reason: str) -> None: ...


def due_action(
    last_heard: float, last_ping: float, now: float, interval: float, timeout: float
) -> str | None:
    """What a connection needs now: "close" when silent too long, "ping" when one is due."""
    if now - last_heard >= timeout:
        return "close"
    if now - last_ping >= interval:
        return "ping"
    return None


class ConnectionRegistry:
    def __init__(
        self, ping_interval_s: float, silence_timeout_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ping_interval_s = ping_interval_s
        self.silence_timeout_s = silence_timeout_s
        self._clock = clock
        self.connections: dict[int, Connection] = {}

    @property
    def sweep_period_s(self) -> float:
        return max(0.05, min(self.ping_interval_s, self.silence_timeout_s) / 4)

    def add(self, connection: Connection) -> None:
        self.connections[connection.connection_id] = connection

    def discard(self, connection: Connection) -> None:
        self.connections.pop(connection.connection_id, None)

    def sweep(self) -> None:
        now = self._clock()
        for connection in list(self.connections.values()):
            action = due_action(
                connection.last_heard, connection.last_ping, now, self.ping_interval_s, self.silence_timeout_s
            )
            if action == "close":
                log.info(
                    "connection %d closed: silent for %.0f s",
                    connection.connection_id,
                    now - connection.last_heard,
                )
                self.discard(connection)
                connection.close_with(CLOSE_SILENT, "silent too long")
            elif action == "ping":
                connection.last_ping = now
                try:
                    connection.ping()
                except Exception:  # closing under us; the close callback cleans up
                    log.debug("ping to connection %d failed", connection.connection_id)

    def close_where(self, ended: Callable[[Principal], bool], code: int, reason: str) -> int:
        """Close every authenticated connection whose principal `ended`; return how many."""
        closing = [c for c in self.connections.values() if c.principal is not None and ended(c.principal)]
        for connection in closing:
            log.info("connection %d closed: %s", connection.connection_id, reason)
            self.discard(connection)
            connection.close_with(code, reason)
        return len(closing)

    def close_all(self, code: int, reason: str) -> None:
        for connection in list(self.connections.values()):
            connection.close_with(code, reason)
        self.connections.clear()
