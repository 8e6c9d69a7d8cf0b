"""Bare line answerer: the baseline the TCP ingest is measured against (bench only).

A Tornado `TCPServer` that answers every line it reads with `OK`, parsing and storing
nothing: what the same clients get from the same kind of server when the ingest's own
work (parse, check, record, publish) is taken away. Reads and answers a chunk at a time,
as app/ingest/tcp.py does.

    python -m bench.baseline_lines --port 8891
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpserver import TCPServer

READ_CHUNK = 64 * 1024


class LineAnswerer(TCPServer):
    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        stream.set_nodelay(True)
        partial = b""
        try:
            while True:
                chunk = partial + await stream.read_bytes(READ_CHUNK, partial=True)
                lines = chunk.count(b"\n")
                partial = chunk[chunk.rfind(b"\n") + 1 :] if lines else chunk
                if lines:
                    await stream.write(b"OK\n" * lines)
        except StreamClosedError:
            pass


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8891)
    args = parser.parse_args()
    server = LineAnswerer()
    server.listen(args.port, "127.0.0.1")
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    server.stop()


if __name__ == "__main__":
    asyncio.run(main())
