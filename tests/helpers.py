"""Test clients: a JSON WebSocket client, an HTTP helper, a raw-socket WebSocket client and a
line protocol client on a raw socket (what `nc` is: bytes out, lines back)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.websocket import WebSocketClientConnection, websocket_connect

from app.server import Maelstrom


class WsClient:
    """A real WebSocket client with JSON helpers and timeouts."""

    def __init__(self, conn: WebSocketClientConnection) -> None:
        self.conn = conn

    def send(self, frame: Any) -> None:
        self.conn.write_message(
            frame if isinstance(frame, str | bytes) else json.dumps(frame), binary=isinstance(frame, bytes)
        )

    async def recv(self, timeout: float = 3.0) -> Any:
        text = await asyncio.wait_for(self.conn.read_message(), timeout)
        if text is None:
            raise ConnectionError(f"closed: {self.conn.close_code} {self.conn.close_reason}")
        return json.loads(text)

    async def request(self, frame: dict[str, Any], timeout: float = 3.0) -> Any:
        self.send(frame)
        return await self.recv(timeout)

    async def nothing_within(self, seconds: float) -> bool:
        try:
            message = await asyncio.wait_for(self.conn.read_message(), seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message!r}")

    async def closed(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes; return the close code."""

        async def drain() -> None:
            while await self.conn.read_message() is not None:
                pass

        await asyncio.wait_for(drain(), timeout)
        return self.conn.close_code

    def close(self) -> None:
        self.conn.close()


def bearer(server: Maelstrom) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.test_token}"}


async def connect(server: Maelstrom, auth: bool = True, headers: dict[str, str] | None = None) -> WsClient:
    """A WebSocket client; by default authenticated with the test token at the handshake."""
    all_headers = {**(bearer(server) if auth else {}), **(headers or {})}
    conn = await websocket_connect(HTTPRequest(server.ws_url, headers=all_headers))
    return WsClient(conn)


async def chamber_record(client: WsClient, chamber_id: int, until: Any, limit: int = 200) -> dict[str, Any]:
    """Tick records on `chamber/<id>/data` until `until(record)` holds; returns that record
    (other channels' messages are passed over; AssertionError after `limit` messages)."""
    for _ in range(limit):
        message = await client.recv(timeout=10)
        if message["channel"] == f"chamber/{chamber_id}/data" and until(message["data"]):
            return message["data"]
    raise AssertionError("condition never met")


async def http(
    server: Maelstrom,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    auth: bool = True,
) -> tuple[int, Any]:
    """Send a request (by default with the test token); return (status, parsed JSON or text)."""
    headers = {**(bearer(server) if auth else {}), **(headers or {})}
    if body is not None and not isinstance(body, str | bytes):
        body = json.dumps(body)
        headers = {"Content-Type": "application/json", **headers}
    request = HTTPRequest(
        server.base_url + path, method=method, body=body, headers=headers, allow_nonstandard_methods=True
    )
    try:
        response = await AsyncHTTPClient().fetch(request)
    except HTTPClientError as error:
        response = error.response
    text = response.body.decode() if response.body else ""
    try:
        return response.code, json.loads(text)
    except ValueError:
        return response.code, text


# -- the UI's login: a session cookie and its XSRF token -------------------------------


def password_of(server: Maelstrom) -> str:
    """The initial UI password, as the owner reads it from the data directory."""
    return (Path(server.config.storage.data_dir) / "initial-password").read_text().strip()


def cookies_of(response, jar: dict[str, str] | None = None) -> dict[str, str]:
    jar = dict(jar or {})
    for header in response.headers.get_list("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            jar[name] = morsel.value
    return jar


def cookie_header(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in jar.items())}


async def raw(
    server: Maelstrom, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> HTTPResponse:
    """Send a request as given (no token added); the whole response, headers included."""
    headers = dict(headers or {})
    if body is not None and not isinstance(body, str | bytes):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    request = HTTPRequest(server.base_url + path, method=method, body=body, headers=headers)
    try:
        return await AsyncHTTPClient().fetch(request)
    except HTTPClientError as error:
        return error.response


def parsed(response) -> Any:
    return json.loads(response.body) if response.body else None


async def login(server: Maelstrom, password: str | None = None) -> tuple[dict[str, str], str]:
    """Log in as the UI does; the cookie jar and the XSRF token changes must echo."""
    response = await raw(server, "POST", "/api/login", {"password": password or password_of(server)})
    assert response.code == 200, response.body
    body = parsed(response)
    assert body["ok"] is True and body["xsrf"]
    jar = cookies_of(response)
    assert "maelstrom_session" in jar and "_xsrf" in jar, jar
    return jar, body["xsrf"]


class RawWebSocket:
    """A client on a plain socket: completes the handshake, then reads only when told to.

    With a small receive buffer and no reading it is the slow consumer; since it never
    answers pings it is also the silent client."""

    def __init__(self, port: int, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /socket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("handshake failed")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x81, 0x80 | length)
        else:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def read_frames(self, timeout: float = 5.0) -> list[tuple[int, bytes]]:
        """Read frames until the server's close frame or EOF; return (opcode, payload) pairs."""
        self.sock.settimeout(timeout)
        frames = []
        data = self.buffer
        while True:
            while len(data) >= 2:
                opcode, length = data[0] & 0x0F, data[1] & 0x7F
                offset = 2
                if length == 126:
                    if len(data) < 4:
                        break
                    length, offset = struct.unpack("!H", data[2:4])[0], 4
                elif length == 127:
                    if len(data) < 10:
                        break
                    length, offset = struct.unpack("!Q", data[2:10])[0], 10
                if len(data) < offset + length:
                    break
                frames.append((opcode, data[offset : offset + length]))
                data = data[offset + length :]
                if opcode == 0x8:
                    return frames
            try:
                chunk = self.sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                return frames
            if not chunk:
                return frames
            data += chunk

    def close(self) -> None:
        self.sock.close()


def close_code(frames: list[tuple[int, bytes]]) -> int | None:
    for opcode, payload in frames:
        if opcode == 0x8 and len(payload) >= 2:
            return struct.unpack("!H", payload[:2])[0]
    return None


REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """`python maelstrom.py` as a user runs it, on a free loopback port, its log in a file
    (a file, not a pipe: a full pipe would block the server)."""

    def __init__(
        self,
        tmp_path: Path,
        env: dict[str, str] | None = None,
        log_level: str = "INFO",
        db_url: str | None = None,  # None: SQLite at <data dir>/db
        port: int | None = None,  # None: a free one (a restart passes the old one)
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.data_dir = tmp_path / "data"
        self.log_path = tmp_path / "server.log"
        self._log_file = self.log_path.open("w")
        # the line protocol on any free port: two test runs must not fight over 1025
        config = tmp_path / "maelstrom.yaml"
        config.write_text("ingest:\n  port: 0\n")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "maelstrom.py",
                "--config",
                str(config),
                "--port",
                str(self.port),
                "--address",
                "127.0.0.1",
                "--data-dir",
                str(self.data_dir),
                "--log-level",
                log_level,
                *(["--db-url", db_url] if db_url else []),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
        )

    def wait_serving(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(self.base_url + "/api/status", timeout=1):
                    return
            except OSError:
                assert self.process.poll() is None, f"server exited: {self.log()}"
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)

    def stop(self, timeout_s: float = 10.0) -> int:
        """SIGTERM, then wait; returns the exit code (kills it if it overstays)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()
        return self.process.returncode

    def log(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log_path.read_text()


def assert_error(status: int, reply: Any, expected: int, code: str | None = None) -> dict[str, Any]:
    """The reply is protocol.md §4's error shape with the expected status (and code)."""
    assert status == expected, reply
    assert isinstance(reply, dict) and set(reply) == {"error"}, reply
    error = reply["error"]
    assert set(error) <= {"code", "message", "field"}, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    if code is not None:
        assert error["code"] == code, error
    return error


class LineClient:
    """The ingest line protocol over a plain TCP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def send(self, data: bytes | str) -> None:
        self.writer.write(data.encode() if isinstance(data, str) else data)

    async def line(self, timeout: float = 3.0) -> str:
        """The next reply, terminator included (b'' at EOF)."""
        return (await asyncio.wait_for(self.reader.readline(), timeout)).decode()

    async def ask(self, line: str, end: str = "\n") -> str:
        self.send(line + end)
        reply = await self.line()
        assert reply.endswith(end), repr(reply)
        return reply[: -len(end)]

    async def closed(self, timeout: float = 3.0) -> bytes:
        """Everything until the server closes (what is left after the last ERR is b'')."""
        return await asyncio.wait_for(self.reader.read(), timeout)

    def close(self) -> None:
        self.writer.close()


async def line_client(server, auth: bool = True) -> LineClient:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.ingest_ports[0])
    client = LineClient(reader, writer)
    if auth:
        assert await client.ask(f"AUTH {server.test_token}") == "OK"
    return client
