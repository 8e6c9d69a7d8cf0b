"""The base of every JSON handler: authentication and authorization per the security
model, bodies read with a size limit, and errors in the shape of `errors`."""

from __future__ import annotations

import json
import logging
from typing import Any

import tornado.web
from tornado import httputil

from ..auth import Principal
from ..db.writer import is_busy
from .errors import ApiError, error_reply
from .principal import request_principal
from .strict_json import parse_json_text

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 256 * 1024


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
        self.principal: Principal | None = request_principal(self)
        if not self.open_to_all:
            self._authorize()

    @property
    def maelstrom(self) -> Any:
        return self.application.settings["maelstrom"]

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
        status, body = error_reply(status_code, exc_info[1] if exc_info else None, self._reason)
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, ApiError):
            log.info("%s %s -> %d %s", self.request.method, self.request.path, value.status, value.message)
        elif is_busy(value):
            log.warning("%s %s -> 503: database busy: %s", self.request.method, self.request.path, value)
        else:
            super().log_exception(typ, value, tb)


class NotFoundHandler(JsonHandler):
    """Unknown routes answer with the JSON error shape too."""

    def prepare(self) -> None:
        raise ApiError(404, "not_found", f"no route {self.request.path}")
