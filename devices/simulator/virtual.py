"""A simulated board on the caller's virtual clock, as a transport for the shipped driver.

The caller moves time (`board.advance`) and then calls `pump()` to hand the board's
unsolicited lines (`B:` after a reboot, `D:` warnings) to the driver; each command the
driver writes is answered within `write`, so a request completes without waiting on the
event loop and a simulated week runs in seconds. The driver still encodes every command
and parses and checks every reply line, as with a real board.
"""

from __future__ import annotations

from ..protocol import LineSplitter
from ..transport import OnData, OnLost
from .board import SimulatedBoard


class VirtualTransport:
    def __init__(self, board: SimulatedBoard) -> None:
        self.board = board
        self.description = f"virtual {board.kind}"
        self._splitter = LineSplitter()
        self._on_data: OnData | None = None

    async def open(self, on_data: OnData, on_lost: OnLost) -> None:
        self._on_data = on_data

    def write(self, data: bytes) -> None:
        for line in self._splitter.feed(data):
            if isinstance(line, bytes):
                replies = self.board.handle(line)
                if replies and self._on_data is not None:
                    self._on_data(b"".join(replies))

    def pump(self) -> bool:
        """Deliver what the board sent by itself since the last call; True if anything."""
        lines = self.board.take_outbox()
        if lines and self._on_data is not None:
            self._on_data(b"".join(lines))
        return bool(lines)

    def close(self) -> None:
        self._on_data = None
