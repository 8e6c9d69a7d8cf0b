"""The base of every JSON handler: the error shape of protocol.md §4 and body limits."""

from __future__ import annotations

import json
import logging
from typing import Any

import tornado.web
from tornado import httputil

from ..auth import Principal

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 256 * 1024


class ApiError(tornado.web.HTTPError):
    """An error reply: HTTP status, a stable code, a message and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(status, reason=None)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
}


def parse_json_text(text: bytes | str, field: str) -> Any:
    """Parse JSON, refusing NaN/Infinity (not JSON) with a 400 naming `field`."""

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(text, parse_constant=refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ApiError(400, "bad_json", f"{field} is not valid JSON: {error}", field) from None


@tornado.web.stream_request_body
class JsonHandler(tornado.web.RequestHandler):
    """Reads the body itself so an oversize one is refused with 413 before it is buffered."""

    max_body_bytes = DEFAULT_MAX_BODY
    # Routes anyone may call (login); everything else follows the security model.
    open_to_all = False
    # Reads of secrets' metadata (API tokens) need a login even while public_read is on.
    reads_need_auth = False

    def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._received = 0
        self._too_large = False
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise ApiError(413, "too_large", f"body is larger than {self.max_body_bytes} bytes")
        self.principal = self._authenticate()
        if not self.open_to_all:
            self._authorize()

    @property
    def maelstrom(self) -> Any:
        return self.application.settings["maelstrom"]

    def _authenticate(self) -> Principal | None:
        header = self.request.headers.get("Authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <token>'")
            principal = self.maelstrom.auth.principal_for_token(token.strip())
            if principal is None:
                raise ApiError(401, "unauthorized", "unknown or revoked API token")
            return principal
        return session_principal(self)

    def _authorize(self) -> None:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            if self.principal is None and (
                self.reads_need_auth or not self.maelstrom.settings.get("public_read")
            ):
                raise ApiError(401, "unauthorized", "log in or send an API token (public_read is off)")
            return
        if self.principal is None:
            raise ApiError(401, "unauthorized", "changes need a login session or an API token")
        if self.principal.kind == "session":
            try:
                self.check_xsrf_cookie()
            except tornado.web.HTTPError:
                raise ApiError(403, "xsrf", "missing or wrong X-XSRFToken header for this session") from None

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.max_body_bytes:
            self._too_large = True
            self._chunks.clear()
        elif not self._too_large:
            self._chunks.append(chunk)

    @property
    def body(self) -> bytes:
        if self._too_large:
            raise ApiError(413, "too_large", f"body is larger than {self.max_body_bytes} bytes")
        return b"".join(self._chunks)

    def media_type(self) -> str:
        return self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def json_body(self) -> Any:
        """The body as JSON; 415 when it is declared as something else."""
        media_type = self.media_type()
        if media_type not in ("application/json", "") and not media_type.endswith("+json"):
            raise ApiError(415, "unsupported_media_type", f"expected application/json, got {media_type}")
        return parse_json_text(self.body, "body")

    def form_fields(self) -> dict[str, str]:
        """URL-encoded or multipart form fields (the last value of each)."""
        arguments: dict[str, list[bytes]] = {}
        files: dict[str, list[httputil.HTTPFile]] = {}
        try:
            httputil.parse_body_arguments(
                self.request.headers.get("Content-Type", ""),
                self.body,
                arguments,
                files,
                self.request.headers,
            )
        except httputil.HTTPInputError as error:
            raise ApiError(400, "bad_request", f"the form cannot be read: {error}", "body") from None
        fields = {}
        for name, values in arguments.items():
            try:
                fields[name] = values[-1].decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(400, "bad_request", f"{name} is not UTF-8 text", name) from None
        return fields

    def send_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, ApiError):
            self.set_status(error.status)
            body: dict[str, Any] = {"code": error.code, "message": error.message}
            if error.field is not None:
                body["field"] = error.field
        else:
            body = {
                "code": _STATUS_CODES.get(status_code, "internal" if status_code >= 500 else "error"),
                "message": self._reason,
            }
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": body}, ensure_ascii=False))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, ApiError):
            log.info("%s %s -> %d %s", self.request.method, self.request.path, value.status, value.message)
        else:
            super().log_exception(typ, value, tb)


SESSION_COOKIE = "maelstrom_session"


def session_principal(handler: tornado.web.RequestHandler) -> Principal | None:
    """The UI session of a signed cookie still valid for the current password."""
    value = handler.get_signed_cookie(SESSION_COOKIE, max_age_days=30)
    maelstrom = handler.application.settings["maelstrom"]
    if value is None or value.decode() != str(maelstrom.auth.generation()):
        return None
    return Principal("session", "ui")


class NotFoundHandler(JsonHandler):
    """Unknown routes answer with the JSON error shape too."""

    def prepare(self) -> None:
        raise ApiError(404, "not_found", f"no route {self.request.path}")
