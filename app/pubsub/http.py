"""HTTP publishing (protocol.md §3): `POST /publish`, `POST /api/channels/<name>`,
`GET /api/channels`, and their entries in the route table."""

from __future__ import annotations

from typing import Any

from ..web.errors import ApiError
from ..web.handler import JsonHandler
from ..web.routes import Op, Route
from ..web.strict_json import parse_json_text
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


PUBLISH_ERRORS = (400, 401, 403, 409, 413, 415)
PUBLISH_FORM = {
    "type": "object",
    "required": ["channel", "data"],
    "properties": {"channel": {"type": "string"}, "data": {"type": "string", "description": "a JSON text"}},
}


def channel_routes(max_publish_bytes: int) -> list[Route]:
    """The routes above as the server and the OpenAPI document see them."""
    limits = {"max_body_bytes": max_publish_bytes}
    return [
        Route(
            "/publish",
            "/publish",
            PublishHandler,
            limits,
            (
                Op(
                    "post",
                    "Publish on a channel (form fields channel and data, or JSON)",
                    request="publish",
                    response="publish_result",
                    errors=PUBLISH_ERRORS,
                    form=PUBLISH_FORM,
                ),
            ),
            "channels",
        ),
        Route(
            "/api/channels",
            "/api/channels",
            ChannelListHandler,
            {},
            (
                Op(
                    "get",
                    "List channels with subscribers, rates and last seq",
                    response="object",
                    errors=(401,),
                ),
            ),
            "channels",
        ),
        Route(
            "/api/channels/{channel}",
            "/api/channels/(.+)",
            ChannelPublishHandler,
            limits,
            (
                Op(
                    "post",
                    "Publish the JSON body on a channel",
                    request="any",
                    response="publish_result",
                    errors=PUBLISH_ERRORS,
                ),
            ),
            "channels",
        ),
    ]
