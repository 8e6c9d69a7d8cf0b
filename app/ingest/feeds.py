"""HTTP feeds (protocol.md §6): `POST /api/feeds/<series>` for one reading, and
`POST /api/feeds/ispindel` for the bodies hydrometers send (app/ingest/hydrometers.py).

Devices of that kind cannot set headers, so besides `Authorization: Bearer` (and a UI
session) a feed takes the token as `?token=`, and the iSpindel route as the body's `token`
field too. Since the URL may carry a token, these handlers log the path only.
"""

from __future__ import annotations

import logging
from typing import Any

import tornado.web

from ..auth import Principal
from ..db.writer import is_busy
from ..web.errors import ApiError
from ..web.handler import JsonHandler
from ..web.routes import Op, Route
from .hydrometers import hydrometer_samples
from .sink import KINDS, Sample
from .validate import MAX_UNIT_CHARS, IngestError, check_series, check_text, number_of, parse_timestamp

log = logging.getLogger(__name__)

FEED_MAX_BODY = 16 * 1024  # a reading is a few hundred bytes
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
NO_CREDENTIAL = (
    "send an API token: Authorization: Bearer <token>, ?token=<token> or (iSpindel) the token field"
)


class _FeedHandler(JsonHandler):
    max_body_bytes = FEED_MAX_BODY
    body_token = False  # the iSpindel route also takes the token from its JSON body

    def _authorize(self) -> None:
        if self.principal is None:
            token = self.get_query_argument("token", None)
            if token is not None:
                self.principal = self._token_principal(token)
        if self.principal is None and self.body_token:
            return  # post() looks for the body's token field
        super()._authorize()

    def _token_principal(self, token: str) -> Principal:
        principal = self.maelstrom.auth.principal_for_token(token)
        if principal is None:
            raise ApiError(401, "unauthorized", "unknown or revoked API token")
        return principal

    def _request_summary(self) -> str:
        # Tornado's access and error logs print the URI, and a ?token= is a secret
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, tornado.web.HTTPError) or is_busy(value):
            super().log_exception(typ, value, tb)
        else:  # RequestHandler's own message adds repr(request), which holds the URI
            log.error("uncaught exception %s", self._request_summary(), exc_info=(typ, value, tb))

    def _is_form(self) -> bool:
        """True for a form, False for JSON; 415 for anything else."""
        media = self.media_type()
        if media == FORM:
            return True
        if media not in (JSON, "") and not media.endswith("+json"):
            raise ApiError(415, "unsupported_media_type", f"expected {JSON} or {FORM}, got {media}")
        return False

    def _json_object(self) -> dict[str, Any]:
        body = self.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "validation", "body must be a JSON object", "body")
        return body

    def _accept(self, samples: list[Sample]) -> None:
        try:
            messages = self.maelstrom.ingest.submit(samples)
        except IngestError as error:
            raise _refused(error) from None
        self.send_json({"samples": messages})


def _refused(error: IngestError) -> ApiError:
    return ApiError(400, "validation", error.reason, error.field)


class SeriesFeedHandler(_FeedHandler):
    """One measurement: JSON `{"value","ts"?,"unit"?}`, form `value=&ts=&unit=`, or the form
    `x=<ts>&y=<value>` of simple data loggers."""

    def post(self, series: str) -> None:
        now_s = self.maelstrom.ingest.now_s()
        try:
            check_series(series)
            if self._is_form():
                sample = _form_reading(series, self.form_fields(), now_s)
            else:
                sample = _reading(series, self._json_object(), now_s)
        except IngestError as error:
            raise _refused(error) from None
        self._accept([sample])


def _form_reading(series: str, fields: dict[str, str], now_s: float) -> Sample:
    if "x" not in fields and "y" not in fields:
        return _reading(series, fields, now_s)
    unknown = sorted(set(fields) - {"x", "y"})
    if unknown:
        raise IngestError(f"x=<ts>&y=<value> takes no other field ({unknown[0]})", unknown[0])
    if not fields.get("y"):
        raise IngestError("y (the value) is required", "y")
    return _sample(series, fields["y"], fields.get("x"), None, now_s, ("y", "x"))


def _reading(series: str, fields: dict[str, Any], now_s: float) -> Sample:
    unknown = sorted(set(fields) - {"value", "ts", "unit"})
    if unknown:
        raise IngestError(f"unknown field {unknown[0]}: a reading has value, ts and unit", unknown[0])
    if fields.get("value") in (None, ""):
        raise IngestError("value is required", "value")
    return _sample(series, fields["value"], fields.get("ts"), fields.get("unit"), now_s, ("value", "ts"))


def _sample(series: str, value: Any, ts: Any, unit: Any, now_s: float, names: tuple[str, str]) -> Sample:
    number = number_of(value, names[0])
    ts_ms = round(now_s * 1000) if ts in (None, "") else parse_timestamp(ts, now_s, names[1])
    if unit is not None:
        unit = check_text(unit, "unit")
    return Sample(series, ts_ms, "measurement", number, unit=unit)


class HydrometerFeedHandler(_FeedHandler):
    """iSpindel, GravityMon, TiltBridge and Brewfather-style bodies (JSON only)."""

    body_token = True

    def post(self) -> None:
        try:
            if self._is_form():
                raise ApiError(415, "unsupported_media_type", f"expected {JSON}, got {FORM}")
            body = self._json_object()
        except ApiError:
            if self.principal is None:  # who is asking comes first: say that
                raise ApiError(401, "unauthorized", NO_CREDENTIAL) from None
            raise
        if self.principal is None:
            token = body.get("token")
            if not isinstance(token, str) or not token:
                raise ApiError(401, "unauthorized", NO_CREDENTIAL)
            self.principal = self._token_principal(token)
        ts_ms = round(self.maelstrom.ingest.now_s() * 1000)
        try:
            samples = hydrometer_samples(body, ts_ms, self.get_query_argument("gravity_unit", None))
        except IngestError as error:
            raise _refused(error) from None
        self._accept(samples)


NUMBER_OR_TEXT = {"type": ["number", "string"]}
READING_SCHEMA = {
    "type": "object",
    "required": ["value"],
    "additionalProperties": False,
    "properties": {
        "value": {**NUMBER_OR_TEXT, "description": "a finite number, or one as text"},
        "ts": {**NUMBER_OR_TEXT, "description": "epoch seconds or ISO 8601 with Z or an offset; default now"},
        "unit": {"type": "string", "minLength": 1, "maxLength": MAX_UNIT_CHARS},
    },
}
READING_FORM = {
    "type": "object",
    "description": "value=&ts=&unit=, or x=<ts>&y=<value>",
    "properties": {name: {"type": "string"} for name in ("value", "ts", "unit", "x", "y")},
}
HYDROMETER_SCHEMA = {
    "type": "object",
    "description": "iSpindel/GravityMon (name, ID, token, angle, temperature, temp_units, battery, gravity, "
    "interval, RSSI, corr-gravity, gravity-unit) or Brewfather-style / TiltBridge (name, temp, temp_unit, "
    "gravity, gravity_unit, aux_temp, ext_temp, pressure, pressure_unit, ph, bpm, battery); "
    "numbers may be sent as text, other fields are ignored",
    "properties": {
        "name": {"type": "string"},
        "token": {"type": "string"},
        **{
            name: {**NUMBER_OR_TEXT}
            for name in ("angle", "temperature", "battery", "gravity", "interval", "RSSI", "temp")
        },
        "temp_units": {"type": "string", "enum": ["C", "F", "K"]},
        "temp_unit": {"type": "string", "enum": ["C", "F", "K"]},
        "gravity_unit": {"type": "string", "enum": ["G", "P"]},
    },
}
FEED_RESULT = {
    "type": "object",
    "required": ["samples"],
    "properties": {
        "samples": {
            "type": "array",
            "description": "what was published on ingest/<series>, one per sample",
            "items": {
                "type": "object",
                "required": ["series", "ts", "kind"],
                "properties": {
                    "series": {"type": "string"},
                    "ts": {"type": "string", "format": "date-time"},
                    "kind": {"type": "string", "enum": list(KINDS)},
                    "value": {"type": "number"},
                    "unit": {"type": ["string", "null"]},
                    "text": {"type": "string"},
                },
            },
        }
    },
}
FEED_ERRORS = (400, 401, 403, 413, 415)
TOKEN_QUERY = ("token", "string", "API token, for devices that cannot set headers")


def feed_routes() -> list[Route]:
    """The feed routes as the server and the OpenAPI document see them (the iSpindel route
    first: `ispindel` is no series name for the generic route)."""
    return [
        Route(
            "/api/feeds/ispindel",
            "/api/feeds/ispindel",
            HydrometerFeedHandler,
            {},
            (
                Op(
                    "post",
                    "Readings of an iSpindel, GravityMon, TiltBridge or Brewfather-style body, "
                    "stored as <name>/<field> series",
                    request=HYDROMETER_SCHEMA,
                    response=FEED_RESULT,
                    errors=FEED_ERRORS,
                    query=(
                        TOKEN_QUERY,
                        ("gravity_unit", "string", "G (SG) or P (°P) when the body does not say"),
                    ),
                ),
            ),
            "feeds",
        ),
        Route(
            "/api/feeds/{series}",
            "/api/feeds/(.+)",
            SeriesFeedHandler,
            {},
            (
                Op(
                    "post",
                    "One reading of a series: JSON {value, ts, unit}, form value=&ts=, or x=<ts>&y=<value>",
                    request=READING_SCHEMA,
                    response=FEED_RESULT,
                    errors=FEED_ERRORS,
                    query=(TOKEN_QUERY,),
                    form=READING_FORM,
                ),
            ),
            "feeds",
        ),
    ]
