"""Byte transports to a board: a serial port watched on the event loop, or a TCP socket.

Both deliver bytes to a callback as they arrive and report a lost link at once (cable
pulled: EIO/EOF on the port; TCP reset or EOF), so the driver can react without polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import Callable
from typing import Protocol

import serial

from .protocol import BAUD

log = logging.getLogger(__name__)

OnData = Callable[[bytes], None]
OnLost = Callable[[str], None]


class Transport(Protocol):
    description: str

    async def open(self, on_data: OnData, on_lost: OnLost) -> None:
        """Connect; raise OSError when the board cannot be reached."""

    def write(self, data: bytes) -> None:
        """Queue bytes for sending; a failure is reported through on_lost."""

    def close(self) -> None: ...


class SerialTransport:
    """A serial port (Arduino on /dev/ttyACM0, 57600 8N1) read when its descriptor is readable."""

    def __init__(self, port: str, baud: int = BAUD) -> None:
        self.port = port
        self.baud = baud
        self.description = f"serial {port}"
        self._serial: serial.Serial | None = None
        self._fd: int | None = None
        self._pending = bytearray()
        self._on_lost: OnLost | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self, on_data: OnData, on_lost: OnLost) -> None:
        try:
            self._serial = serial.Serial(
                self.port, self.baud, bytesize=8, parity="N", stopbits=1, timeout=0, exclusive=True
            )
        except (serial.SerialException, ValueError) as error:
            raise OSError(errno.ENODEV, f"cannot open {self.port}: {error}") from None
        self._fd = self._serial.fileno()
        self._serial.reset_input_buffer()  # bytes from before we opened are not replies to us
        self._on_lost = on_lost
        self._loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                data = os.read(self._fd, 4096) if self._fd is not None else b""
            except BlockingIOError:
                return
            except OSError as error:
                self._lost(f"{self.port}: {error.strerror}")
                return
            if not data:
                self._lost(f"{self.port}: end of file")
                return
            on_data(data)

        self._loop.add_reader(self._fd, readable)

    def write(self, data: bytes) -> None:
        if self._fd is None:
            return
        self._pending += data
        self._flush()

    def _flush(self) -> None:
        if self._fd is None or self._loop is None:
            return
        try:
            while self._pending:
                sent = os.write(self._fd, self._pending)
                del self._pending[:sent]
        except BlockingIOError:
            self._loop.add_writer(self._fd, self._writable)
            return
        except OSError as error:
            self._lost(f"{self.port}: {error.strerror}")
            return
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_writer(self._fd)

    def _writable(self) -> None:
        self._flush()

    def _lost(self, reason: str) -> None:
        on_lost = self._on_lost
        self.close()
        if on_lost is not None:
            on_lost(reason)

    def close(self) -> None:
        self._on_lost = None
        if self._fd is not None and self._loop is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self._fd)
                self._loop.remove_writer(self._fd)
        self._fd = None
        self._pending.clear()
        if self._serial is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                self._serial.close()
            self._serial = None


class TcpTransport:
    """A Spark Core's TCP server (port 6666)."""

    def __init__(self, host: str, port: int, connect_timeout_s: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.description = f"tcp {host}:{port}"
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._on_lost: OnLost | None = None

    async def open(self, on_data: OnData, on_lost: OnLost) -> None:
        try:
            reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout_s
            )
        except TimeoutError:
            raise OSError(errno.ETIMEDOUT, f"no answer from {self.host}:{self.port}") from None
        self._on_lost = on_lost

        async def read_loop() -> None:
            try:
                while True:
                    data = await reader.read(4096)
                    if not data:
                        self._lost(f"{self.host}:{self.port} closed the connection")
                        return
                    on_data(data)
            except OSError as error:
                self._lost(f"{self.host}:{self.port}: {error.strerror or error}")

        self._reader_task = asyncio.ensure_future(read_loop())

    def write(self, data: bytes) -> None:
        if self._writer is None:
            return
        try:
            self._writer.write(data)
        except OSError as error:
            self._lost(f"{self.host}:{self.port}: {error.strerror}")

    def _lost(self, reason: str) -> None:
        on_lost = self._on_lost
        self.close()
        if on_lost is not None:
            on_lost(reason)

    def close(self) -> None:
        self._on_lost = None
        if self._reader_task is not None and self._reader_task is not asyncio.current_task():
            self._reader_task.cancel()
        self._reader_task = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def transport_for(kind: str, address: str) -> Transport:
    """The transport a controller's kind and address call for."""
    if kind == "arduino" or address.startswith("/dev/"):
        return SerialTransport(address)
    if kind == "sparkcore":
        host, _, port = address.rpartition(":")
        return TcpTransport(host, int(port))
    if kind == "simulator":
        from .simulator.inprocess import InProcessTransport  # the simulator imports this module

        return InProcessTransport(address)
    raise ValueError(f"no transport for a {kind} at {address!r}")
