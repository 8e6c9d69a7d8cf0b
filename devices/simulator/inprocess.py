"""A `simulator` controller's transport: a SimulatedBoard inside the server process, run
in real time (or `speed` times faster) by an event-loop timer. The driver talks to it
with the same lines as to a real board, so the host cannot cheat here either."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..protocol import LineSplitter
from ..transport import OnData, OnLost
from .board import WIRING, SimulatedBoard

TICK_S = 0.1  # wall seconds between plant updates


def parse_options(address: str) -> dict[str, Any]:
    """`plant=fridge speed=1 seed=0` (all optional) -> keyword arguments; ValueError if bad."""
    options: dict[str, Any] = {"plant": "fridge", "speed": 1.0, "seed": 0}
    for part in address.split():
        key, sep, value = part.partition("=")
        if not sep or key not in options:
            raise ValueError(f"simulator option {part!r}: expected plant=, speed= or seed=")
        if key == "plant":
            if value not in WIRING:
                raise ValueError(f"plant must be one of {', '.join(WIRING)}")
            options[key] = value
        elif key == "speed":
            options[key] = float(value)
            if not 0 < options[key] <= 100_000:
                raise ValueError("speed must be in (0, 100000]")
        else:
            options[key] = int(value)
    return options


class InProcessTransport:
    def __init__(self, address: str = "") -> None:
        options = parse_options(address)
        self.speed = options.pop("speed")
        self.board = SimulatedBoard(options["plant"], seed=options["seed"])
        self.description = f"simulator {address or 'plant=fridge'}"
        self._splitter = LineSplitter()
        self._on_data: OnData | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self, on_data: OnData, on_lost: OnLost) -> None:
        self._on_data = on_data
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            self.board.advance((now - last) * self.speed)
            last = now
            self._deliver(self.board.take_outbox())

    def _deliver(self, lines: list[bytes]) -> None:
        if lines and self._on_data is not None:
            on_data = self._on_data
            data = b"".join(lines)
            asyncio.get_running_loop().call_soon(on_data, data)

    def write(self, data: bytes) -> None:
        for line in self._splitter.feed(data):
            if isinstance(line, bytes):
                self._deliver(self.board.handle(line))

    def close(self) -> None:
        self._on_data = None
        if self._task is not None:
            self._task.cancel()
            self._task = None
