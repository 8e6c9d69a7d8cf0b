"""Run a simulated board in real time (or N times faster) on a pseudo-terminal or TCP port.

    python -m devices.simulator --pty [--link /tmp/ttyACM-sim] [--plant fridge] [--speed 60] [--seed 1]
                                [--edges edges.jsonl]
    python -m devices.simulator --tcp 6666 ...

With --pty the first line on stdout is the pty's path (and --link keeps a symlink pointing
at the current one, so a host can be configured with a stable path across unplug/replug).
With --tcp the first line is `host:port`. The board speaks protocol.md §5; the
simulator-only `x{"fault":...}` command injects faults (devices/simulator/board.py),
including `x{"fault":"unplug","for_s":2}`, which drops the link and brings it back, and
`x{"switch":"door","active":true}` opens the door (also `level_high`, `pilot_light`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
import tty
from pathlib import Path

from ..protocol import LineSplitter
from .board import WIRING, SimulatedBoard

log = logging.getLogger("devices.simulator")
TICK_WALL_S = 0.02


class Link:
    """The host side: a pty or a TCP client, replaced on unplug/replug."""

    def __init__(self, board: SimulatedBoard) -> None:
        self.board = board
        self.splitter = LineSplitter()
        self.plugged = True

    def received(self, data: bytes) -> None:
        for line in self.splitter.feed(data):
            if isinstance(line, bytes) and line.strip():
                for reply in self.board.handle(line.rstrip(b"\r")):
                    self.send(reply)

    def send(self, data: bytes) -> None:
        raise NotImplementedError


class PtyLink(Link):
    def __init__(self, board: SimulatedBoard, link_path: Path | None) -> None:
        super().__init__(board)
        self.link_path = link_path
        self.master: int | None = None
        self.slave: int | None = None
        self.path = ""

    def plug(self) -> str:
        loop = asyncio.get_running_loop()
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no line discipline: bytes as the board sends them
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        if self.link_path is not None:
            temporary = self.link_path.with_name(self.link_path.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            temporary.symlink_to(self.path)
            temporary.replace(self.link_path)
        loop.add_reader(self.master, self._readable)
        self.splitter = LineSplitter()
        self.plugged = True
        return self.path

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096) if self.master is not None else b""
        except OSError:  # host closed its side; keep waiting for the next open
            return
        if data:
            self.received(data)

    def send(self, data: bytes) -> None:
        if self.master is None:
            return
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self.master, data)

    def unplug(self) -> None:
        loop = asyncio.get_running_loop()
        if self.master is not None:
            loop.remove_reader(self.master)
            for fd in (self.master, self.slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self.slave = None
        self.plugged = False


class TcpLink(Link):
    def __init__(self, board: SimulatedBoard, host: str, port: int) -> None:
        super().__init__(board)
        self.host, self.port = host, port
        self.server: asyncio.AbstractServer | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def plug(self) -> str:
        self.server = await asyncio.start_server(self._client, self.host, self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]
        self.plugged = True
        return f"{self.host}:{self.port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.writer is not None:  # one host at a time, as on the Spark Core
            self.writer.close()
        self.writer = writer
        self.splitter = LineSplitter()
        with contextlib.suppress(OSError):
            while data := await reader.read(4096):
                self.received(data)
        if self.writer is writer:
            self.writer = None
        writer.close()

    def send(self, data: bytes) -> None:
        if self.writer is not None:
            self.writer.write(data)

    def unplug(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.writer is not None:
            self.writer.transport.abort()  # a reset, like a pulled cable or power loss
            self.writer = None
        self.plugged = False


async def run(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    link: PtyLink | TcpLink
    replugs: list[asyncio.Task[None]] = []

    def on_unplug(for_s: float) -> None:
        link.unplug()

        async def replug() -> None:
            await asyncio.sleep(for_s)
            where = link.plug() if isinstance(link, PtyLink) else await link.plug()
            log.info("replugged at %s", where)
            sys.stdout.write(where + "\n")
            sys.stdout.flush()

        replugs.append(asyncio.ensure_future(replug()))

    board = SimulatedBoard(args.plant, seed=args.seed, on_unplug=on_unplug)
    if args.pty:
        link = PtyLink(board, args.link)
        where = link.plug()
    else:
        link = TcpLink(board, "127.0.0.1", args.tcp)
        where = await link.plug()
    sys.stdout.write(where + "\n")
    sys.stdout.flush()
    for line in board.take_outbox():  # the B: line, to a host already listening
        link.send(line)

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    edges = args.edges.open("a") if args.edges is not None else None
    written = 0
    last = time.monotonic()
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), TICK_WALL_S)
        now = time.monotonic()
        board.advance((now - last) * args.speed)
        last = now
        for line in board.take_outbox():
            if link.plugged:
                link.send(line)
        if edges is not None and len(board.firmware.edges) > written:
            for edge in board.firmware.edges[written:]:  # appended as they happen: kill-safe
                edges.write(
                    json.dumps({"t": edge.t, "slot": edge.slot, "pin": edge.pin, "on": edge.on}) + "\n"
                )
            edges.flush()
            written = len(board.firmware.edges)
    if edges is not None:
        edges.close()
    link.unplug()
    if args.link is not None:
        with contextlib.suppress(FileNotFoundError):
            args.link.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.simulator", description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal (an Arduino)")
    where.add_argument(
        "--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT (a Spark Core; 0 = any)"
    )
    parser.add_argument("--link", type=Path, help="with --pty: keep a symlink here to the current pty")
    parser.add_argument("--plant", choices=sorted(WIRING), default="fridge")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    parser.add_argument("--seed", type=int, default=0, help="seed for sensor noise")
    parser.add_argument(
        "--edges", type=Path, help="append every relay pin edge here as a JSON line {t, slot, pin, on}"
    )
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    if not 0 < args.speed <= 100_000:
        parser.error("--speed must be in (0, 100000]")
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
