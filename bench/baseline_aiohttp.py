"""Bare aiohttp broadcaster (the stack CraftBeerPi 4 uses): the other baseline (bench only).

`await ws.send_str(...)` to every subscribed client for each `POST /api/channels/<name>`
(or `POST /publish`); same message envelope and subscribe reply as Maelstrom.
"""

import argparse
import itertools
import json
import secrets
from datetime import UTC, datetime

from aiohttp import WSMsgType, web

CLIENTS: set[web.WebSocketResponse] = set()
EPOCH = secrets.token_hex(4)
SEQ = itertools.count(1)


def envelope(channel: str, data: object) -> tuple[int, str]:
    seq = next(SEQ)
    ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    data_json = json.dumps(data, separators=(",", ":"))
    return seq, f'{{"channel":"{channel}","seq":{seq},"epoch":"{EPOCH}","ts":"{ts}","data":{data_json}}}'


async def socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                frame = json.loads(msg.data)
                if frame.get("action") == "subscribe":
                    CLIENTS.add(ws)
                    await ws.send_str(json.dumps({"id": frame.get("id"), "result": {}}))
    finally:
        CLIENTS.discard(ws)
    return ws


async def publish(request: web.Request) -> web.Response:
    data = await request.json()
    channel = request.match_info.get("channel")
    if channel is None:
        channel, data = data["channel"], data["data"]
    seq, text = envelope(channel, data)
    for ws in list(CLIENTS):
        try:
            await ws.send_str(text)
        except (ConnectionError, RuntimeError):
            CLIENTS.discard(ws)
    return web.json_response({"channel": channel, "seq": seq, "epoch": EPOCH})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8891)
    args = parser.parse_args()
    app = web.Application()
    app.add_routes(
        [
            web.get("/socket", socket),
            web.post("/publish", publish),
            web.post("/api/channels/{channel}", publish),
        ]
    )
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, handle_signals=True)
