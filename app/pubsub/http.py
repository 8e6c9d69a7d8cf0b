"""HTTP publishing (protocol.md §3): `POST /publish`, `POST /api/channels/<name>`, `GET /api/channels`."""

from __future__ import annotations

from typing import Any

from ..api.base import ApiError, JsonHandler, parse_json_text
from . import errors
from .errors import PubSubError

_STATUS = {errors.FORBIDDEN: 403, errors.TOO_MANY_CHANNELS: 409, errors.HUB_FULL: 409}


def unwrap_legacy_envelope(channel: str, data: Any) -> Any:
    """The original clients posted `{"channel": same, "payload": {...}}`: publish the payload."""
    if isinstance(data, dict) and data.keys() == {"channel", "payload"} and data["channel"] == channel:
        return data["payload"]
    return data


class _PublishingHandler(JsonHandler):
    def initialize(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes

    def publish(self, channel: Any, data: Any) -> None:
        try:
            message = self.maelstrom.hub.publish(channel, data, external=True)
        except PubSubError as error:
            raise ApiError(_STATUS.get(error.code, 400), error.code, error.message, error.field) from None
        self.send_json({"channel": message.channel, "seq": message.seq, "epoch": message.epoch})


class PublishHandler(_PublishingHandler):
    """The original interface: form fields `channel` and `data` (JSON text), or a JSON body."""

    def post(self) -> None:
        if self.media_type() in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields = self.form_fields()
            if "channel" not in fields:
                raise ApiError(400, "validation", "channel is required", "channel")
            if "data" not in fields:
                raise ApiError(400, "validation", "data is required", "data")
            channel, data = fields["channel"], parse_json_text(fields["data"], "data")
        else:
            body = self.json_body()
            if not isinstance(body, dict):
                raise ApiError(400, "validation", "body must be an object with channel and data", "body")
            unknown = set(body) - {"channel", "data"}
            if unknown:
                raise ApiError(400, "validation", f"unknown field {sorted(unknown)[0]}", sorted(unknown)[0])
            if "channel" not in body:
                raise ApiError(400, "validation", "channel is required", "channel")
            if "data" not in body:
                raise ApiError(400, "validation", "data is required", "data")
            channel, data = body["channel"], body["data"]
        self.publish(channel, unwrap_legacy_envelope(channel, data))


class ChannelPublishHandler(_PublishingHandler):
    """`POST /api/channels/<name>`: the JSON body is the message."""

    def post(self, channel: str) -> None:
        self.publish(channel, unwrap_legacy_envelope(channel, self.json_body()))


class ChannelListHandler(JsonHandler):
    def get(self) -> None:
        hub = self.maelstrom.hub
        self.send_json({"epoch": hub.epoch, "channels": hub.stats()})
