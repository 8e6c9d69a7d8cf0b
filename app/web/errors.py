"""The error reply of every HTTP route (protocol.md §4): `{"error":{"code","message","field"?}}`."""

from __future__ import annotations

from typing import Any

import tornado.web

from ..db.writer import is_busy

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    503: "busy",
}
BUSY_MESSAGE = "the database is locked by another program; nothing was changed, try again"


class ApiError(tornado.web.HTTPError):
    """An error reply: HTTP status, a stable code, a message and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(status, reason=None)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_reply(status_code: int, error: BaseException | None, reason: str) -> tuple[int, dict[str, Any]]:
    """The status and body that answer `error` (or a bare status Tornado raised itself)."""
    if isinstance(error, ApiError):
        body: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.field is not None:
            body["field"] = error.field
        return error.status, {"error": body}
    if error is not None and is_busy(error):
        # another process held SQLite's write lock past the wait: the write was rolled back
        return 503, {"error": {"code": "busy", "message": BUSY_MESSAGE}}
    code = STATUS_CODES.get(status_code, "internal" if status_code >= 500 else "error")
    return status_code, {"error": {"code": code, "message": reason}}
