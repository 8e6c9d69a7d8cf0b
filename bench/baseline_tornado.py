"""Bare Tornado broadcaster: the baseline Maelstrom is measured against (bench only).

`write_message` to every subscribed client for each `POST /api/channels/<name>` (or
`POST /publish`); same message envelope and subscribe reply as Maelstrom.
"""

import argparse
import asyncio
import itertools
import json
import secrets
import signal
from datetime import UTC, datetime

import tornado.web
import tornado.websocket

CLIENTS: set["Socket"] = set()
EPOCH = secrets.token_hex(4)
SEQ = itertools.count(1)


def envelope(channel: str, data: object) -> tuple[int, str]:
    seq = next(SEQ)
    ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    data_json = json.dumps(data, separators=(",", ":"))
    return seq, f'{{"channel":"{channel}","seq":{seq},"epoch":"{EPOCH}","ts":"{ts}","data":{data_json}}}'


class Socket(tornado.websocket.WebSocketHandler):
    def on_message(self, message: str | bytes) -> None:
        frame = json.loads(message)
        if frame.get("action") == "subscribe":
            CLIENTS.add(self)
            self.write_message(json.dumps({"id": frame.get("id"), "result": {}}))

    def on_close(self) -> None:
        CLIENTS.discard(self)


class Publish(tornado.web.RequestHandler):
    def post(self, channel: str | None = None) -> None:
        data = json.loads(self.request.body)
        if channel is None:
            channel, data = data["channel"], data["data"]
        seq, text = envelope(channel, data)
        for client in list(CLIENTS):
            try:
                client.write_message(text)
            except tornado.websocket.WebSocketClosedError:
                CLIENTS.discard(client)
        self.write({"channel": channel, "seq": seq, "epoch": EPOCH})


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8890)
    args = parser.parse_args()
    app = tornado.web.Application(
        [(r"/socket", Socket), (r"/publish", Publish), (r"/api/channels/(.+)", Publish)]
    )
    server = app.listen(args.port, "127.0.0.1")
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    server.stop()


if __name__ == "__main__":
    asyncio.run(main())
