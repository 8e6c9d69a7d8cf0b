"""Pub/sub benchmark: Maelstrom against three bare broadcasters (run by hand, never in CI).

    .venv/bin/python -m bench.pubsub [--quick] [--json] [--servers maelstrom,tornado,...]

Each server runs alone, as a subprocess pinned to one core; this process (the clients and
the HTTP publishers) pins itself to another core. Latency is measured as a script or a
tablet sees it: aiohttp WebSocket clients with default socket options, a publisher that
POSTs `{"channel", "data"}` to `/publish` over aiohttp's keep-alive pool with a bearer
token, and the publish time in the payload. Saturation uses lean raw-socket readers that
only count frames (so the clients are never the bottleneck), fed by keep-alive HTTP
publishers. The figures and the acceptance targets are described in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
HOST = "127.0.0.1"
CHANNEL = "bench"
MiB = 1024 * 1024
SERVER_NAMES = ("maelstrom", "tornado", "aiohttp", "websockets")
REFERENCE = "tornado"
SENT_KEY = b'"sent_ns":'


# -- servers ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


class Server:
    """One server subprocess, pinned to `cpu`, with its WebSocket and HTTP ports."""

    provision_tokens = True  # log in and make a token at each start, unless --token is given
    maelstrom_root = ROOT  # --maelstrom-root: benchmark another checkout (e.g. a `git archive` of HEAD)

    def __init__(self, name: str, cpu: int, log_dir: Path, data_dir: Path | None = None) -> None:
        self.name = name
        self.cpu = cpu
        self.ws_port = free_port()
        self.http_port = self.ws_port
        py = sys.executable
        self.data_dir: Path | None = None
        if name == "maelstrom":
            data_dir = self.data_dir = data_dir or Path(
                tempfile.mkdtemp(prefix="maelstrom-bench-", dir=log_dir)
            )
            argv = [py, str(self.maelstrom_root / "maelstrom.py"), "--port", str(self.ws_port)]
            argv += ["--address", HOST]
            argv += ["--data-dir", str(data_dir), "--log-level", "WARNING"]
        elif name == "websockets":
            self.http_port = free_port()
            argv = [py, str(BENCH / "baseline_websockets.py"), "--port", str(self.ws_port)]
            argv += ["--http-port", str(self.http_port)]
        else:
            argv = [py, str(BENCH / f"baseline_{name}.py"), "--port", str(self.ws_port)]
        self.log_path = log_dir / f"{name}-{self.ws_port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            argv,
            cwd=self.maelstrom_root if name == "maelstrom" else ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
        )
        self.proc = psutil.Process(self.popen.pid)
        self.clean_exit: bool | None = None

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            if port_open(self.ws_port) and port_open(self.http_port):
                if self.data_dir is not None and Server.provision_tokens:
                    HttpConnection.token = provision_token(self.http_port, self.data_dir)
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not open its ports in {timeout:.0f} s")

    def cpu_s(self) -> float:
        times = self.proc.cpu_times()
        return times.user + times.system

    def rss(self) -> int:
        return self.proc.memory_info().rss

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.clean_exit = self.popen.returncode == 0
        self._log.close()


def provision_token(port: int, data_dir: Path) -> str:
    """Publishing to Maelstrom needs a token: log in with the initial password, make one."""
    import http.cookiejar
    import urllib.request

    password = (data_dir / "initial-password").read_text().strip()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    base = f"http://{HOST}:{port}"
    headers = {"Content-Type": "application/json"}
    login = urllib.request.Request(f"{base}/api/login", json.dumps({"password": password}).encode(), headers)
    xsrf = json.load(opener.open(login))["xsrf"]
    body = json.dumps({"name": "bench"}).encode()
    create = urllib.request.Request(f"{base}/api/tokens", body, {**headers, "X-XSRFToken": xsrf})
    return json.load(opener.open(create))["token"]


# -- WebSocket client ---------------------------------------------------------------------
def handshake_request(port: int) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /socket HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client → server frame (always masked, RFC 6455 §5.3)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    mask = os.urandom(4)
    if not payload:
        return header + mask
    key = int.from_bytes((mask * (length // 4 + 1))[:length], "big")
    masked = (int.from_bytes(payload, "big") ^ key).to_bytes(length, "big")
    return header + mask + masked


def subscribe_frame() -> bytes:
    return masked_frame(1, json.dumps({"action": "subscribe", "channel": CHANNEL, "id": 1}).encode())


class Tracker:
    """Counts clients that have every expected message; `done` is set when all have."""

    def __init__(self) -> None:
        self.remaining = 0
        self.done = asyncio.Event()

    def reset(self, clients: list[Client], expected: int) -> None:
        self.remaining = len(clients)
        self.done.clear()
        for client in clients:
            client.reset(expected)
        if not clients:
            self.done.set()

    def one_done(self) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            self.done.set()


class Client(asyncio.Protocol):
    """A lean WebSocket reader that counts publications (saturation and idle memory).

    Until the subscribe reply it parses frames. After it, it only counts the publisher's
    `"sent_ns":` key in the byte stream (one C-level `bytes.count` per read, so 100 of
    them keep up with any of the servers). Latency is measured by `LatencyClient`s.
    """

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.transport: asyncio.Transport | None = None
        self.upgraded = False
        self.counting = False
        self.buf = b""
        self.ready: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.count = 0
        self.expected: float = math.inf
        self.done_at: float | None = None

    def reset(self, expected: int) -> None:
        self.count = 0
        self.expected = expected
        self.done_at = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before the subscribe reply"))

    def data_received(self, data: bytes) -> None:
        if self.counting:  # hot path: `buf` holds at most the last 9 bytes (a split key)
            data = self.buf + data
            self.buf = data[-9:]
            self._received(data.count(SENT_KEY))
            if b"\x89" in data:  # a ping: 0x89 never occurs in the bench's ASCII frames otherwise
                self._pong(data)
            return
        if self.buf:
            data = self.buf + data
        if not self.upgraded:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buf = data
                return
            if not data.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(data[: data.find(b"\r\n")].decode()))
                return
            self.upgraded = True
            assert self.transport is not None
            self.transport.write(subscribe_frame())
            data = data[end + 4 :]
        size = len(data)
        i = 0
        texts = 0
        while size - i >= 2:
            length = data[i + 1] & 0x7F
            if length < 126:
                start = i + 2
            elif length == 126:
                if size - i < 4:
                    break
                length = (data[i + 2] << 8) | data[i + 3]
                start = i + 4
            else:
                if size - i < 10:
                    break
                length = int.from_bytes(data[i + 2 : i + 10], "big")
                start = i + 10
            end = start + length
            if end > size:
                break
            opcode = data[i] & 0x0F
            if opcode == 1:
                if not self.ready.done():
                    self.ready.set_result(data[start:end])
                    self.counting = True  # the rest of the stream is only counted
                    rest = data[end:]
                    self.buf = rest[-9:]
                    self._received(texts + rest.count(SENT_KEY))
                    return
                texts += 1
            elif opcode == 9 and self.transport is not None:
                self.transport.write(masked_frame(10, data[start:end]))
            i = end
        self.buf = data[i:] if i < size else b""
        self._received(texts)

    def _pong(self, data: bytes) -> None:
        at = data.find(b"\x89")
        if at + 2 <= len(data) and at + 2 + data[at + 1] <= len(data) and self.transport is not None:
            self.transport.write(masked_frame(10, data[at + 2 : at + 2 + data[at + 1]]))

    def _received(self, texts: int) -> None:
        if texts:
            self.count += texts
            if self.count >= self.expected and self.done_at is None:
                self.done_at = time.perf_counter()
                self.tracker.one_done()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(masked_frame(8, struct.pack("!H", 1000)))
            self.transport.close()


async def connect_clients(port: int, count: int, tracker: Tracker) -> list[Client]:
    """Connect and subscribe `count` clients, in batches (some servers listen with backlog 100)."""
    loop = asyncio.get_running_loop()
    clients: list[Client] = []

    async def one() -> Client:
        _, client = await loop.create_connection(lambda: Client(tracker), HOST, port)
        client.transport.write(handshake_request(port))  # type: ignore[union-attr]
        await asyncio.wait_for(client.ready, 10)
        return client

    for first in range(0, count, 25):
        clients += await asyncio.gather(*(one() for _ in range(min(25, count - first))))
    return clients


def close_clients(clients: list[Client]) -> None:
    for client in clients:
        client.close()


# -- bulk reader process ------------------------------------------------------------------
def open_blocking_client(port: int, rcvbuf: int | None = None) -> tuple[socket.socket, bytes]:
    """Connect, upgrade and subscribe a plain socket; returns it and the bytes read past the reply."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect((HOST, port))
    sock.sendall(handshake_request(port))
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        buf += chunk
    if not buf.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(buf[:200])
    buf = buf[buf.index(b"\r\n\r\n") + 4 :]
    sock.sendall(subscribe_frame())
    while len(buf) < 2 or len(buf) < 2 + (buf[1] & 0x7F):  # the (short) subscribe reply
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the subscribe reply")
        buf += chunk
    return sock, buf[2 + (buf[1] & 0x7F) :]


def bulk_reader(conn: Any, cpu: int) -> None:
    """The saturation clients, in a process of their own on the client core.

    asyncio costs several µs per read, and servers that send one TCP segment per frame would
    make 100 asyncio readers the bottleneck. Here one epoll loop reads every socket, then
    sleeps `batch_s` so each read carries many frames, and counts the publisher's
    `"sent_ns":` key with `bytes.count`. The sleep bounds the error on "last message
    received" to `batch_s` (a few ms on a multi-second burst).
    """
    os.sched_setaffinity(0, {cpu})
    poller = select.epoll()
    socks: dict[int, socket.socket] = {}
    while True:
        command, *args = conn.recv()
        if command == "connect":
            port, count = args
            for _ in range(count):
                sock, _rest = open_blocking_client(port)
                sock.setblocking(False)
                socks[sock.fileno()] = sock
                poller.register(sock.fileno(), select.EPOLLIN)
            conn.send(len(socks))
        elif command == "burst":
            expected, batch_s, timeout_s = args
            counts = dict.fromkeys(socks, 0)
            tails = dict.fromkeys(socks, b"")
            done_at: dict[int, float] = {}
            conn.send("ready")
            deadline = time.perf_counter() + timeout_s
            while len(done_at) < len(socks) and time.perf_counter() < deadline:
                for fd, _event in poller.poll(0.1):
                    try:
                        data = socks[fd].recv(1 << 20)
                    except BlockingIOError:
                        continue
                    if not data:
                        poller.unregister(fd)
                        continue
                    data = tails[fd] + data
                    tails[fd] = data[-9:]
                    counts[fd] += data.count(SENT_KEY)
                    if b"\x89" in data:  # a ping (0x89 is not in the bench's ASCII frames)
                        at = data.find(b"\x89")
                        if at + 2 <= len(data) and at + 2 + data[at + 1] <= len(data):
                            socks[fd].send(masked_frame(10, data[at + 2 : at + 2 + data[at + 1]]))
                    if counts[fd] >= expected and fd not in done_at:
                        done_at[fd] = time.perf_counter()
                time.sleep(batch_s)
            conn.send({"counts": list(counts.values()), "done_at": list(done_at.values())})
        elif command == "close":
            for fd, sock in socks.items():
                with contextlib.suppress(OSError, ValueError):
                    poller.unregister(fd)
                with contextlib.suppress(OSError):
                    sock.send(masked_frame(8, struct.pack("!H", 1000)))
                sock.close()
            socks.clear()
            conn.send("closed")
        elif command == "exit":
            return


class BulkReader:
    """The main process's handle on the bulk reader process."""

    def __init__(self, cpu: int) -> None:
        context = multiprocessing.get_context("fork")  # started before the event loop runs
        self.conn, child = context.Pipe()
        self.process = context.Process(target=bulk_reader, args=(child, cpu), daemon=True)
        self.process.start()
        self.proc = psutil.Process(self.process.pid)

    async def call(self, *command: Any) -> Any:
        self.conn.send(command)
        return await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)

    async def start_burst(self, expected: int, batch_s: float, timeout_s: float) -> asyncio.Future[Any]:
        """Arm the readers; returns a future of their counts and finish times."""
        self.conn.send(("burst", expected, batch_s, timeout_s))
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, self.conn.recv)
        assert ready == "ready"
        return loop.run_in_executor(None, self.conn.recv)

    def cpu_s(self) -> float:
        times = self.proc.cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        self.conn.send(("exit",))
        self.process.join(5)


# -- HTTP publisher -----------------------------------------------------------------------
class HttpConnection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads the reply."""

    token: str | None = None  # --token: sent as `Authorization: Bearer` to every server alike

    def __init__(self, port: int, path: str) -> None:
        self.port = port
        auth = f"Authorization: Bearer {self.token}\r\n" if self.token else ""
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"{auth}Content-Length: "
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> HttpConnection:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        return self

    async def post(self, body: bytes) -> None:
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        lower = header.lower()
        at = lower.find(b"content-length:")
        if at < 0:
            raise RuntimeError(f"reply without Content-Length: {header!r}")
        length = int(lower[at + 15 : lower.index(b"\r\n", at)])
        reply = await self.reader.readexactly(length)
        if status != 200:
            raise RuntimeError(f"publish answered {status}: {reply[:200]!r}")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def message_body(index: int, pad: str) -> bytes:
    # `sent_ns` is the last key, so the client finds its digits before the first `}`.
    return f'{{"i":{index}{pad},"sent_ns":{time.perf_counter_ns()}}}'.encode()


async def publish_burst(server: Server, count: int, publishers: int, pad_bytes: int = 0) -> int:
    """POST `count` messages as fast as `publishers` keep-alive connections allow; returns sent."""
    pad = f',"pad":"{"x" * pad_bytes}"' if pad_bytes else ""
    connections = [
        await HttpConnection(server.http_port, f"/api/channels/{CHANNEL}").open() for _ in range(publishers)
    ]
    indexes = iter(range(count))
    sent = 0

    async def worker(connection: HttpConnection) -> None:
        nonlocal sent
        for index in indexes:
            await connection.post(message_body(index, pad))
            sent += 1

    try:
        await asyncio.gather(*(worker(c) for c in connections))
    finally:
        for connection in connections:
            connection.close()
    return sent


# -- measurements -------------------------------------------------------------------------
def percentile(ordered: list[int], fraction: float) -> float:
    index = max(0, math.ceil(fraction * len(ordered)) - 1)
    return ordered[index] / 1e6  # ns → ms


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Plan:
    reps: int
    burst: int
    burst_clients: int = 100
    latency_seconds: float = 6.0
    latency_rates: tuple[int, ...] = (1000, 5000)
    latency_clients: tuple[int, ...] = (10, 100)
    slow_messages: int = 6000
    slow_healthy: int = 10
    publishers: int = 4  # concurrent keep-alive publishers (bursts and the flood)
    publisher_counts: tuple[int, ...] = (4, 16)  # saturation is measured with each
    batch_s: float = 0.005  # bulk reader's pause between epoll rounds
    timeout_s: float = 60.0
    notes: list[str] = field(default_factory=list)


async def measure_idle_memory(server: Server, reader: BulkReader, tracker: Tracker, plan: Plan) -> float:
    """RSS growth per idle subscribed client; leaves the bulk reader's clients connected."""
    warm = await connect_clients(server.ws_port, 5, tracker)
    tracker.reset(warm, 20)
    await publish_burst(server, 20, 1)
    await asyncio.wait_for(tracker.done.wait(), plan.timeout_s)
    close_clients(warm)
    await asyncio.sleep(1.0)
    before = server.rss()
    await reader.call("connect", server.ws_port, plan.burst_clients)
    await asyncio.sleep(1.0)
    after = server.rss()
    return (after - before) / plan.burst_clients / 1024


START_SETTLE_S = 8.0  # the resident set is read this long after the ports open
START_RSS_TARGET_MIB = 60.0  # issue 11: Maelstrom after start, sample chamber running


def peak_rss(pid: int) -> int:
    """The process's resident high-water mark (VmHWM), which psutil does not report."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024


async def measure_start_memory(name: str, cpu: int, log_dir: Path) -> dict[str, float]:
    """RSS and peak (VmHWM) of a server START_SETTLE_S after its ports open, before any client
    or login: a first start and a second one on the same data dir (Maelstrom's first start
    creates its database by migrations and writes its password; the second finds both)."""
    result: dict[str, float] = {}
    data_dir = None
    for start in ("first", "second"):
        server = Server(name, cpu, log_dir, data_dir)
        try:
            deadline = time.monotonic() + 30
            while not (port_open(server.ws_port) and port_open(server.http_port)):
                if server.popen.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start; see {server.log_path}")
                await asyncio.sleep(0.05)
            await asyncio.sleep(START_SETTLE_S)
            result[f"{start}_rss_mib"] = server.rss() / MiB
            result[f"{start}_hwm_mib"] = peak_rss(server.popen.pid) / MiB
        finally:
            server.stop()
        data_dir = server.data_dir
    return result


async def measure_saturation(server: Server, reader: BulkReader, plan: Plan, publishers: int) -> dict:
    rates, cpus, server_busy, client_busy, complete = [], [], [], [], True
    clients = plan.burst_clients
    for rep in range(-1, plan.reps):  # rep -1: a 200-message warm-up, not measured
        burst = 200 if rep < 0 else plan.burst
        await asyncio.sleep(0.5)
        finished = await reader.start_burst(burst, plan.batch_s, plan.timeout_s)
        cpu_before, own_before = server.cpu_s(), own_cpu_s() + reader.cpu_s()
        start = time.perf_counter()
        await publish_burst(server, burst, publishers)
        outcome = await finished
        if rep < 0:
            continue
        if len(outcome["done_at"]) == clients:
            end = max(outcome["done_at"])
        else:
            complete = False
            end = time.perf_counter()
        deliveries = sum(min(count, burst) for count in outcome["counts"])
        cpu, own_cpu = server.cpu_s() - cpu_before, own_cpu_s() + reader.cpu_s() - own_before
        elapsed = end - start
        rates.append(deliveries / elapsed)
        cpus.append(cpu / deliveries * 1e6)
        server_busy.append(cpu / elapsed)
        client_busy.append(own_cpu / elapsed)
    return {
        "deliveries_per_s": spread(rates),
        "cpu_us_per_delivery": spread(cpus),
        "server_core_busy": statistics.median(server_busy),
        "client_core_busy": max(client_busy),
        "complete": complete,
    }


class LatencyClient:
    """A subscriber as a script or tablet runs one: aiohttp's WebSocket client with its
    default socket options, parsing every message and taking now − the publisher's
    `sent_ns` (the publisher runs in this process, same clock)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.latencies_ns: list[int] = []
        self.expected = 0
        self.done = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    def reset(self, expected: int) -> None:
        self.latencies_ns = []
        self.expected = expected
        self.done.clear()

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            now = time.perf_counter_ns()
            sent = json.loads(message.data).get("data", {}).get("sent_ns")
            if sent is not None:
                self.latencies_ns.append(now - sent)
                if len(self.latencies_ns) >= self.expected:
                    self.done.set()
        self.done.set()


async def open_latency_clients(session: Any, port: int, count: int) -> list[LatencyClient]:
    clients = []
    for _ in range(count):
        ws = await session.ws_connect(f"ws://{HOST}:{port}/socket", max_msg_size=0)
        await ws.send_json({"action": "subscribe", "channel": CHANNEL, "id": 1})
        reply = await ws.receive_json(timeout=10)
        if reply.get("id") != 1 or "result" not in reply:
            raise RuntimeError(f"subscribe answered {reply}")
        clients.append(LatencyClient(ws))
    return clients


async def publish_paced(session: Any, port: int, count: int, rate: float, publishers: int) -> float:
    """POST `count` messages to `/publish` at `rate`/s on a fixed schedule, at most
    `publishers` at once over aiohttp's keep-alive pool with the token, as a script
    would; returns the worst lag behind the schedule (s)."""
    url = f"http://{HOST}:{port}/publish"
    headers = {"Authorization": f"Bearer {HttpConnection.token}"} if HttpConnection.token else {}
    free = asyncio.Semaphore(publishers)
    tasks: set[asyncio.Task[None]] = set()
    worst_lag = 0.0

    async def send(index: int) -> None:
        try:
            body = {"channel": CHANNEL, "data": {"i": index, "sent_ns": time.perf_counter_ns()}}
            async with session.post(url, json=body, headers=headers) as reply:
                if reply.status != 200:
                    raise RuntimeError(f"publish answered {reply.status}: {(await reply.text())[:200]}")
                await reply.read()
        finally:
            free.release()

    start = time.perf_counter() + 0.01
    for index in range(count):
        due = start + index / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        await free.acquire()
        worst_lag = max(worst_lag, time.perf_counter() - due)
        task = asyncio.create_task(send(index))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return worst_lag


async def measure_latency(server: Server, plan: Plan) -> dict:
    results: dict[str, Any] = {}
    async with (
        aiohttp.ClientSession() as subscribers,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as publisher,
    ):
        await publish_paced(publisher, server.http_port, 20, 1000, 8)  # open the keep-alive pool
        for client_count in plan.latency_clients:
            clients = await open_latency_clients(subscribers, server.ws_port, client_count)
            try:
                for rate in plan.latency_rates:
                    publish_rate = rate / client_count
                    count = max(20, round(publish_rate * plan.latency_seconds))
                    reps: dict[str, list[float]] = {"p50": [], "p99": [], "max": []}
                    lags, lost = [], 0
                    for _ in range(plan.reps):
                        await asyncio.sleep(0.3)
                        for client in clients:
                            client.reset(count)
                        lags.append(await publish_paced(publisher, server.http_port, count, publish_rate, 8))
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(
                                asyncio.gather(*(c.done.wait() for c in clients)), plan.timeout_s
                            )
                        samples = sorted(itertools.chain.from_iterable(c.latencies_ns for c in clients))
                        lost += count * client_count - len(samples)
                        reps["p50"].append(percentile(samples, 0.50))
                        reps["p99"].append(percentile(samples, 0.99))
                        reps["max"].append(samples[-1] / 1e6)
                    results[f"{client_count}x{rate}"] = {
                        "clients": client_count,
                        "deliveries_per_s": rate,
                        "publish_per_s": publish_rate,
                        **{key: spread(values) for key, values in reps.items()},
                        "lost": lost,
                        "publisher_lag_ms": max(lags) * 1000,
                    }
            finally:
                for client in clients:
                    await client.ws.close()
                    client.task.cancel()
    return results


def read_until_close(sock: socket.socket, buf: bytes, timeout: float) -> tuple[str, int]:
    """Read a raw socket's frames until a close frame; returns (outcome, text frames read)."""
    deadline = time.monotonic() + timeout
    texts = 0
    while True:
        while len(buf) >= 2:
            length = buf[1] & 0x7F
            start = 2 if length < 126 else 4 if length == 126 else 10
            if len(buf) < start:
                break
            if length >= 126:
                length = int.from_bytes(buf[2:start], "big")
            if len(buf) < start + length:
                break
            opcode = buf[0] & 0x0F
            if opcode == 8:
                code = int.from_bytes(buf[start : start + 2], "big") if length >= 2 else 1005
                return str(code), texts
            texts += opcode == 1
            buf = buf[start + length :]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "no close", texts
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(256 * 1024)
        except TimeoutError:
            return "no close", texts
        except OSError as error:
            return f"no close ({error.__class__.__name__})", texts
        if not chunk:
            return "no close (EOF)", texts
        buf += chunk


async def measure_slow_consumer(server: Server, tracker: Tracker, plan: Plan) -> dict:
    loop = asyncio.get_running_loop()
    healthy = await connect_clients(server.ws_port, plan.slow_healthy, tracker)
    sock, leftover = await loop.run_in_executor(None, open_blocking_client, server.ws_port, 4096)
    await asyncio.sleep(0.5)
    before = peak = server.rss()

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, server.rss())
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    tracker.reset(healthy, plan.slow_messages)
    start = time.perf_counter()
    flood = asyncio.create_task(publish_burst(server, plan.slow_messages, plan.publishers, pad_bytes=1000))
    stalled = False
    try:
        await asyncio.wait_for(asyncio.shield(flood), plan.timeout_s / 2)
        await asyncio.wait_for(tracker.done.wait(), 10)
    except TimeoutError:
        stalled = not flood.done()
    flood_s = time.perf_counter() - start
    peak = max(peak, server.rss())
    sampler.cancel()
    # Now read the raw socket: a well-behaved server has closed it with 4008 meanwhile.
    outcome, slow_texts = await loop.run_in_executor(None, read_until_close, sock, leftover, 10.0)
    sock.close()
    if not flood.done():
        with contextlib.suppress(TimeoutError, Exception):
            await asyncio.wait_for(flood, 10)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tracker.done.wait(), 5)
    got = [c.count for c in healthy]
    close_clients(healthy)
    return {
        "close": outcome,
        "slow_client_messages_read": slow_texts,
        "healthy_all": all(n >= plan.slow_messages for n in got),
        "healthy_min_received": min(got),
        "publisher_stalled": stalled,
        "flood_s": flood_s,
        "rss_growth_mib": (peak - before) / MiB,
    }


async def bench_server(
    name: str, cpu: int, reader: BulkReader, log_dir: Path, plan: Plan, say: Callable[[str], None]
) -> dict:
    """Every measurement of one server. Idle memory and the slow consumer get fresh processes,
    so neither is hidden by memory an earlier test freed."""
    tracker = Tracker()
    result: dict[str, Any] = {"exit_codes": []}
    say(f"{name}: RSS after start (first and second start)")
    result["start_memory"] = await measure_start_memory(name, cpu, log_dir)
    idle = []
    for rep in range(plan.reps):
        server = Server(name, cpu, log_dir)
        try:
            server.wait_ready()
            say(f"{name}: idle memory ({rep + 1}/{plan.reps})")
            idle.append(await measure_idle_memory(server, reader, tracker, plan))
            if rep == 0:
                say(f"{name}: saturation ({plan.reps} × {plan.burst} msgs × {plan.burst_clients} clients)")
                result["saturation"] = {}
                for publishers in plan.publisher_counts:
                    result["saturation"][str(publishers)] = await measure_saturation(
                        server, reader, plan, publishers
                    )
            await reader.call("close")
            if rep == 0:
                say(f"{name}: latency")
                result["latency"] = await measure_latency(server, plan)
        finally:
            server.stop()
            result["exit_codes"].append(server.popen.returncode)
    result["idle_kib_per_client"] = spread(idle)
    server = Server(name, cpu, log_dir)
    try:
        server.wait_ready()
        say(f"{name}: slow consumer")
        result["slow_consumer"] = await measure_slow_consumer(server, tracker, plan)
    finally:
        server.stop()
        result["exit_codes"].append(server.popen.returncode)
    result["clean_exit"] = all(code == 0 for code in result["exit_codes"])
    return result


# -- report -------------------------------------------------------------------------------
def fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cell(stats: dict[str, float] | float, ref: dict[str, float] | float | None, show_spread: bool) -> str:
    value = stats["median"] if isinstance(stats, dict) else stats
    text = fmt(value)
    if ref is not None:
        ref_value = ref["median"] if isinstance(ref, dict) else ref
        text += f" ({value / ref_value:.2f}×)" if ref_value > 0 else " (-)"
    if show_spread and isinstance(stats, dict):
        text += f" [{fmt(stats['min'])}..{fmt(stats['max'])}]"
    return text


def build_rows(results: dict[str, dict], plan: Plan) -> list[list[str]]:
    names = list(results)
    ref = results.get(REFERENCE)
    rows: list[list[str]] = []

    def row(label: str, get: Callable[[dict], Any], spread_: bool, target: str = "", ok: bool | None = None):
        cells = [label]
        for name in names:
            reference = get(ref) if ref is not None and name != REFERENCE else None
            cells.append(cell(get(results[name]), reference, spread_))
        cells += [target, "" if ok is None else ("PASS" if ok else "FAIL")]
        rows.append(cells)

    m = results.get("maelstrom")
    judge = m is not None and ref is not None

    def median(stats: dict[str, float]) -> float:
        return stats["median"]

    for publishers in sorted({int(k) for k in next(iter(results.values()))["saturation"]}):
        key = str(publishers)

        def sat(r: dict, stat: str, key: str = key) -> Any:
            return r["saturation"][key][stat]

        # issue 11: at least the faster asyncio stack's throughput, at most its CPU per delivery
        peers = [results[n] for n in ("aiohttp", "websockets") if n in results]
        fair = m is not None and bool(peers)
        best_rate = max((median(sat(p, "deliveries_per_s")) for p in peers), default=0.0)
        ok = fair and median(sat(m, "deliveries_per_s")) >= best_rate
        label = f"saturation deliveries/s, {publishers} publishers"
        target = f"≥ best asyncio = {fmt(best_rate)}" if fair else ""
        row(label, lambda r, sat=sat: sat(r, "deliveries_per_s"), True, target, ok if fair else None)
        least_cpu = min((median(sat(p, "cpu_us_per_delivery")) for p in peers), default=0.0)
        ok = fair and median(sat(m, "cpu_us_per_delivery")) <= least_cpu
        label = f"server CPU µs/delivery, {publishers} publishers"
        target = f"≤ least asyncio = {fmt(least_cpu)}" if fair else ""
        row(label, lambda r, sat=sat: sat(r, "cpu_us_per_delivery"), True, target, ok if fair else None)
        rows.append(
            ["  server / client core busy"]
            + [
                f"{sat(results[n], 'server_core_busy'):.0%} / {sat(results[n], 'client_core_busy'):.0%}"
                for n in names
            ]
            + ["", ""]
        )
    for key in next(iter(results.values()))["latency"]:
        clients, rate = key.split("x")
        for stat in ("p50", "p99", "max"):
            label = f"latency {clients} cl @{rate}/s {stat} ms"
            target, ok = "", None
            asyncio_peers = [results[n] for n in ("aiohttp", "websockets") if n in results]
            if stat in ("p50", "p99") and judge and asyncio_peers:
                # at most bare Tornado's and within 1.2× of the faster asyncio stack (issue 11)
                best = min(median(peer["latency"][key][stat]) for peer in asyncio_peers)
                limit = min(median(ref["latency"][key][stat]), 1.2 * best)
                target = f"≤ min(tornado, 1.2×best) = {limit:.2f}"
                ok = median(m["latency"][key][stat]) <= limit
            row(label, lambda r, key=key, stat=stat: r["latency"][key][stat], True, target, ok)
        rows.append(
            [f"  lost / publisher lag ms ({clients} cl @{rate}/s)"]
            + [
                f"{results[n]['latency'][key]['lost']} / {results[n]['latency'][key]['publisher_lag_ms']:.1f}"
                for n in names
            ]
            + ["", ""]
        )
    ok = judge and median(m["idle_kib_per_client"]) <= 1.2 * median(ref["idle_kib_per_client"])
    row(
        "idle memory KiB/client",
        lambda r: r["idle_kib_per_client"],
        True,
        "≤ 1.2× tornado",
        ok if judge else None,
    )
    for start, label in (("first", "RSS after start, MiB"), ("second", "  same data dir, second start")):
        key = f"{start}_rss_mib"
        ok = m is not None and m["start_memory"][key] <= START_RSS_TARGET_MIB
        target = f"≤ {START_RSS_TARGET_MIB:.0f} MiB"
        row(label, lambda r, key=key: r["start_memory"][key], False, target, ok if m is not None else None)
    peaks = {n: results[n]["start_memory"] for n in names}
    rows.append(
        ["  peak VmHWM MiB, first / second"]
        + [f"{peaks[n]['first_hwm_mib']:.1f} / {peaks[n]['second_hwm_mib']:.1f}" for n in names]
        + ["", ""]
    )
    slow = {n: results[n]["slow_consumer"] for n in names}
    ok = m is not None and slow["maelstrom"]["close"] == "4008"
    rows.append(["slow consumer: close code"] + [slow[n]["close"] for n in names] + ["4008", _pf(m, ok)])
    rows.append(
        ["  slow client msgs read"] + [str(slow[n]["slow_client_messages_read"]) for n in names] + ["", ""]
    )
    rows.append(
        ["slow consumer: healthy got all"]
        + [
            ("yes" if slow[n]["healthy_all"] else f"no (min {slow[n]['healthy_min_received']})")
            + (", publisher stalled" if slow[n]["publisher_stalled"] else "")
            for n in names
        ]
        + ["", ""]
    )
    rows.append(["  flood duration s"] + [f"{slow[n]['flood_s']:.2f}" for n in names] + ["", ""])
    ok = m is not None and slow["maelstrom"]["rss_growth_mib"] <= 4
    rows.append(
        ["slow consumer: RSS growth MiB"]
        + [f"{slow[n]['rss_growth_mib']:.2f}" for n in names]
        + ["≤ 4 MiB", _pf(m, ok)]
    )
    rows.append(
        ["clean stop on SIGTERM"] + ["yes" if results[n]["clean_exit"] else "NO" for n in names] + ["", ""]
    )
    return [["metric", *names, "target (maelstrom)", "pass"], *rows]


def _pf(m: dict | None, ok: bool) -> str:
    return "" if m is None else ("PASS" if ok else "FAIL")


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for index, cells in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


# -- main ---------------------------------------------------------------------------------
def pick_cpus() -> tuple[int, int]:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        sys.exit("pubsub bench needs two CPUs: one for the server, one for the clients")
    return cpus[0], cpus[1]


async def run(args: argparse.Namespace, plan: Plan, cpus: tuple[int, int], reader: BulkReader) -> dict:
    server_cpu, client_cpu = cpus
    log_dir = Path(tempfile.mkdtemp(prefix="pubsub-bench-"))

    def say(text: str) -> None:
        sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")

    results: dict[str, dict] = {}
    for name in args.servers:
        results[name] = await bench_server(name, server_cpu, reader, log_dir, plan, say)
    if args.keep_logs:
        say(f"server logs kept in {log_dir}")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
    return {
        "plan": {
            "reps": plan.reps,
            "burst": plan.burst,
            "burst_clients": plan.burst_clients,
            "latency_seconds": plan.latency_seconds,
            "slow_messages": plan.slow_messages,
            "publishers": plan.publishers,
            "saturation_publishers": plan.publisher_counts,
            "server_cpu": server_cpu,
            "client_cpu": client_cpu,
        },
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repetition, small bursts")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument(
        "--servers",
        type=lambda text: text.split(","),
        default=list(SERVER_NAMES),
        help=f"comma-separated subset of {','.join(SERVER_NAMES)}",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs and data dirs")
    parser.add_argument(
        "--maelstrom-root",
        type=Path,
        default=ROOT,
        help="run maelstrom.py from this checkout instead (e.g. `git archive HEAD | tar -x -C DIR`)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("MAELSTROM_BENCH_TOKEN"),
        help="API token for publishing, sent as 'Authorization: Bearer' to every server "
        "(default $MAELSTROM_BENCH_TOKEN)",
    )
    args = parser.parse_args(argv)
    Server.maelstrom_root = args.maelstrom_root.resolve()
    HttpConnection.token = args.token
    Server.provision_tokens = not args.token
    unknown = set(args.servers) - set(SERVER_NAMES)
    if unknown:
        parser.error(f"unknown server(s): {', '.join(sorted(unknown))}")
    if args.quick:
        plan = Plan(reps=1, burst=500, latency_seconds=1.5, slow_messages=6000)
    else:
        plan = Plan(reps=3, burst=2000)
    cpus = pick_cpus()
    os.sched_setaffinity(0, {cpus[1]})
    reader = BulkReader(cpus[1])  # forked before any event loop or thread exists
    try:
        report = asyncio.run(run(args, plan, cpus, reader))
    finally:
        reader.stop()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(build_rows(report["results"], plan))
        print(
            "\nvalues: median over repetitions, (ratio to bare tornado), [min..max of the repetitions]; "
            f"{plan.reps} repetition(s)."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
