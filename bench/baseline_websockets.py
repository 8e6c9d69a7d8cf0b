"""Bare `websockets` broadcaster using `broadcast()`: the third baseline (bench only).

`websockets` serves no other HTTP, so `POST /api/channels/<name>` (or `POST /publish`) is
served by a small aiohttp endpoint in the same process on `--http-port` (default port+1).
Same message envelope and subscribe reply as Maelstrom.
"""

import argparse
import asyncio
import itertools
import json
import secrets
import signal
from datetime import UTC, datetime

from aiohttp import web
from websockets.asyncio.server import ServerConnection, broadcast, serve

CLIENTS: set[ServerConnection] = set()
EPOCH = secrets.token_hex(4)
SEQ = itertools.count(1)


def envelope(channel: str, data: object) -> tuple[int, str]:
    seq = next(SEQ)
    ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    data_json = json.dumps(data, separators=(",", ":"))
    return seq, f'{{"channel":"{channel}","seq":{seq},"epoch":"{EPOCH}","ts":"{ts}","data":{data_json}}}'


async def socket(ws: ServerConnection) -> None:
    try:
        async for message in ws:
            frame = json.loads(message)
            if frame.get("action") == "subscribe":
                CLIENTS.add(ws)
                await ws.send(json.dumps({"id": frame.get("id"), "result": {}}))
    finally:
        CLIENTS.discard(ws)


async def publish(request: web.Request) -> web.Response:
    data = await request.json()
    channel = request.match_info.get("channel")
    if channel is None:
        channel, data = data["channel"], data["data"]
    seq, text = envelope(channel, data)
    broadcast(CLIENTS, text)
    return web.json_response({"channel": channel, "seq": seq, "epoch": EPOCH})


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8892)
    parser.add_argument("--http-port", type=int, help="HTTP publish port (default port+1)")
    args = parser.parse_args()
    app = web.Application()
    app.add_routes([web.post("/publish", publish), web.post("/api/channels/{channel}", publish)])
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.http_port or args.port + 1).start()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    # close_timeout: on SIGTERM do not wait 10 s for bench clients that never answer the close.
    async with serve(socket, "127.0.0.1", args.port, compression=None, close_timeout=2):
        await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
