"""The WebSocket adapter around the hub: `/socket`, protocol.md §2."""

from __future__ import annotations

import itertools
import json
import logging
import struct
import time
from typing import Any

from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..auth import Principal
from ..config import PubSubConfig
from ..web.principal import session_principal
from ..web.strict_json import loads_strict
from . import errors
from .commands import Auth, Ping, Publish, Subscribe, Unsubscribe, parse_command
from .errors import PubSubError, TooManySubscriptions
from .hub import Hub, Message, Since, encode_json
from .liveness import ConnectionRegistry
from .outbound import DirectWriter, FlushScheduler, OutboundQueue

log = logging.getLogger(__name__)

_connection_ids = itertools.count(1)
PONG = b'{"channel":"_heartbeat","data":{"action":"pong"}}'


def text_frame(payload: bytes) -> bytes:
    """An unmasked, uncompressed, final text frame (server → client, RFC 6455 §5.2)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


def message_frame(message: Message) -> bytes:
    """The message's frame, built on first use and shared by every connection."""
    frame = message.frame
    if frame is None:
        frame = message.frame = text_frame(message.payload)
    return frame


class SocketHandler(WebSocketHandler):
    """One client connection. Thin: parsing in `commands`, routing in the hub."""

    def initialize(
        self, hub: Hub, settings: PubSubConfig, registry: ConnectionRegistry, scheduler: FlushScheduler
    ) -> None:
        self.hub = hub
        self.pubsub = settings
        self.registry = registry
        self.scheduler = scheduler
        self.connection_id = next(_connection_ids)
        self.log = logging.LoggerAdapter(log, {"connection": self.connection_id})
        self.queue: OutboundQueue | None = None
        self.principal: Principal | None = None
        self.last_heard = time.monotonic()
        self.last_ping = self.last_heard

    def get_compression_options(self) -> None:
        # Frames are built once and shared; per-connection compression would defeat that.
        return None

    @property
    def maelstrom(self) -> Any:
        return self.application.settings["maelstrom"]

    def open(self) -> None:
        # A foreign Origin never gets here: Tornado's check_origin refuses it (403).
        stream = self.ws_connection.stream  # type: ignore[union-attr]
        # Small frames must leave at once: with Nagle on, a frame sent while the last one is
        # unacknowledged waits for the client's delayed ACK (tens of ms on loopback).
        stream.set_nodelay(True)
        self.queue = OutboundQueue(
            DirectWriter(stream), self.pubsub.max_queue_bytes, self._slow_consumer, self.scheduler
        )
        self.registry.add(self)
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            self.principal = self.maelstrom.auth.principal_for_token(token.strip())
            if self.principal is None:
                self.close_with(errors.CLOSE_UNAUTHENTICATED, "unknown or revoked token")
        else:
            self.principal = session_principal(self)
        self.log.debug("connection %d open from %s", self.connection_id, self.request.remote_ip)

    def on_close(self) -> None:
        self.hub.unsubscribe_all(self)
        self.registry.discard(self)
        if self.queue is not None:
            self.queue.close()

    def on_pong(self, data: bytes) -> None:
        self.last_heard = time.monotonic()

    def on_ping(self, data: bytes) -> None:
        self.last_heard = time.monotonic()

    # -- sending --------------------------------------------------------------------------
    def deliver(self, message: Message) -> None:
        if self.queue is not None:
            self.queue.put(message_frame(message))

    def send_payload(self, payload: bytes) -> None:
        if self.queue is not None:
            self.queue.put(text_frame(payload))

    def reply(self, request_id: Any, *, result: Any = None, error: PubSubError | None = None) -> None:
        body: dict[str, Any] = {} if request_id is None else {"id": request_id}
        if error is not None:
            body["error"] = error.as_dict()
        else:
            body["result"] = result
        self.send_payload(encode_json(body).encode())

    def _slow_consumer(self) -> None:
        self.log.warning(
            "connection %d closed: more than %d bytes unsent (slow consumer)",
            self.connection_id,
            self.pubsub.max_queue_bytes,
        )
        self.hub.unsubscribe_all(self)
        self.close(errors.CLOSE_SLOW_CONSUMER, "slow consumer")

    def close_with(self, code: int, reason: str) -> None:
        """Close after handing what is already queued (such as the reply that explains why)."""
        self.hub.unsubscribe_all(self)
        if self.queue is not None:
            self.queue.flush()
            self.queue.close()
        try:
            self.close(code, reason)
        except WebSocketClosedError:
            pass

    # -- receiving ------------------------------------------------------------------------
    def on_message(self, message: str | bytes) -> None:
        self.last_heard = time.monotonic()
        request_id = None
        try:
            if isinstance(message, bytes):
                raise PubSubError(errors.BINARY_REFUSED, "binary frames are not accepted; send JSON text")
            if len(message.encode()) > self.pubsub.max_frame_bytes:
                raise PubSubError(
                    errors.TOO_LARGE, f"frame is larger than {self.pubsub.max_frame_bytes} bytes"
                )
            try:
                frame = loads_strict(message)
            except (ValueError, RecursionError) as error:
                raise PubSubError(errors.BAD_JSON, f"frame is not valid JSON: {error}") from None
            if not isinstance(frame, dict):
                raise PubSubError(errors.BAD_REQUEST, "a frame must be a JSON object")
            request_id = frame.get("id") if isinstance(frame.get("id"), (int, str)) else None
            command = parse_command(frame)
            self._dispatch(command)
        except TooManySubscriptions as error:
            self.reply(request_id, error=error)
            self.log.info("connection %d closed: %s", self.connection_id, error.message)
            self.close_with(errors.CLOSE_TOO_MANY_SUBSCRIPTIONS, "too many subscriptions")
        except PubSubError as error:
            self.reply(request_id, error=error)

    def _require_principal(self, what: str) -> None:
        if self.principal is None:
            raise PubSubError(
                errors.UNAUTHORIZED, f"{what} needs a login session or an auth action with a token"
            )

    def _dispatch(self, command: Any) -> None:
        if isinstance(command, Auth):
            principal = self.maelstrom.auth.principal_for_token(command.token)
            if principal is None:
                self.log.info("connection %d closed: unknown API token", self.connection_id)
                self.close_with(errors.CLOSE_UNAUTHENTICATED, "unknown or revoked token")
                return
            self.principal = principal
            self.reply(command.id, result={"authenticated": principal.name})
        elif isinstance(command, Subscribe):
            if not self.maelstrom.settings.get("public_read"):
                self._require_principal("subscribing (public_read is off)")
            since = Since(command.since.seq, command.since.epoch) if command.since else None
            result = self.hub.subscribe(self, command.channel, since)
            self.reply(command.id, result=result.as_dict())
            for missed in result.replay:
                self.deliver(missed)
        elif isinstance(command, Unsubscribe):
            if not self.hub.unsubscribe(self, command.channel):
                raise PubSubError(errors.NOT_SUBSCRIBED, f"not subscribed to {command.channel}", "channel")
            self.reply(command.id, result={"channel": command.channel})
        elif isinstance(command, Publish):
            self._require_principal("publishing")
            message = self.hub.publish(command.channel, command.data, external=True)
            self.reply(
                command.id, result={"channel": message.channel, "seq": message.seq, "epoch": message.epoch}
            )
        elif isinstance(command, Ping):
            if command.id is None:
                self.send_payload(PONG)
            else:
                body = json.loads(PONG)
                body["id"] = command.id
                self.send_payload(encode_json(body).encode())
