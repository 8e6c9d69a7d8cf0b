"""Error codes and close codes of the pub/sub protocol, in one place (protocol.md §2-3)."""

from __future__ import annotations

# Error reply codes (`{"error":{"code":...}}`).
BAD_JSON = "bad_json"
BAD_REQUEST = "bad_request"
UNKNOWN_ACTION = "unknown_action"
BAD_CHANNEL = "bad_channel"
FORBIDDEN = "forbidden"
TOO_LARGE = "too_large"
BINARY_REFUSED = "binary_not_supported"
TOO_MANY_CHANNELS = "too_many_channels"
HUB_FULL = "hub_full"
NOT_SUBSCRIBED = "not_subscribed"
UNAUTHORIZED = "unauthorized"

# WebSocket close codes; 4xxx are ours. A client should reconnect after 4008 and 4012
# (after reading less or answering pings), not after 4001 or 4009 without a change.
CLOSE_GOING_AWAY = 1001
# authentication failed or ended: an unknown or revoked token, or a session cookie that a
# password change voided; reconnect only with new credentials (or none, to read)
CLOSE_UNAUTHENTICATED = 4001
CLOSE_SLOW_CONSUMER = 4008
CLOSE_TOO_MANY_SUBSCRIPTIONS = 4009
CLOSE_SILENT = 4012


class PubSubError(Exception):
    """A request the hub refuses; costs one error reply, never the connection."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str]:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return error


class TooManySubscriptions(PubSubError):
    """The connection passed its subscription limit; the transport closes it with 4009."""
