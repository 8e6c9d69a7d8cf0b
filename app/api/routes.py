"""Every REST route with its operations, in one table: the server's routing and the OpenAPI
document (`GET /api/openapi.json`) are both built from it (with the channel routes of
app/pubsub/http.py), with the same pydantic models that validate the input."""

from __future__ import annotations

from ..web.routes import Op, Param, Route
from . import chambers, controllers, devices, profiles, series_rules, tokens
from .alarms import AlarmAckHandler, AlarmsHandler
from .crud import CollectionHandler, ItemHandler, Resource
from .history import DEFAULT_POINTS, MAX_POINTS, MAX_SERIES, HistoryHandler, SeriesHandler
from .logs import LogsHandler
from .scan import ScanHandler
from .schemas import (
    AlarmAckIn,
    AlarmAckOut,
    AlarmOut,
    HistoryOut,
    LoginIn,
    LogOut,
    PasswordIn,
    ProfileImported,
    ScanOut,
    SeriesOut,
    SettingValue,
    StatusOut,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from .session import LoginHandler, LogoutHandler, PasswordHandler
from .settings import SettingHandler, SettingsHandler
from .status import StatusHandler
from .tokens import TokenHandler, TokensHandler

READ_ERRORS = (401,)
# 503: the database stayed locked by another program; nothing was changed
WRITE_ERRORS = (400, 401, 403, 413, 415, 503)


def _resource_routes(resource: Resource) -> list[Route]:
    name, singular = resource.name, resource.label
    filters = tuple((f, "integer", f"only {name} with this {f}") for f in resource.filters)
    detail = resource.detail or resource.out
    return [
        Route(
            f"/api/{name}",
            f"/api/{name}",
            CollectionHandler,
            {"resource": resource},
            (
                Op(
                    "get",
                    f"List {name}",
                    response=("list", resource.out),
                    errors=(400, *READ_ERRORS),
                    query=filters,
                ),
                Op(
                    "post",
                    f"Create a {singular}",
                    201,
                    resource.create,
                    resource.out,
                    (*WRITE_ERRORS, 404, 409),
                ),
            ),
            name,
        ),
        Route(
            f"/api/{name}/{{id}}",
            rf"/api/{name}/([0-9]+)",
            ItemHandler,
            {"resource": resource},
            (
                Op("get", f"Read a {singular}", response=detail, errors=(404, *READ_ERRORS)),
                Op(
                    "patch",
                    f"Change a {singular}",
                    request=resource.patch,
                    response=resource.out,
                    errors=(*WRITE_ERRORS, 404, 409),
                ),
                Op(
                    "delete",
                    f"Delete a {singular}",
                    204,
                    errors=(400, 401, 403, 404, 409, 503),
                    query=(("cascade", "boolean", "also delete what it contains"),),
                ),
            ),
            name,
        ),
    ]


def build_routes() -> list[Route]:
    routes: list[Route] = []
    resources = (controllers, chambers, devices, profiles, series_rules)
    for resource in (module.RESOURCE for module in resources):
        routes += _resource_routes(resource)
    routes += [
        Route(
            "/api/controllers/{id}/scan",
            r"/api/controllers/([0-9]+)/scan",
            ScanHandler,
            {},
            (
                Op(
                    "post",
                    "Scan the board's hardware (h): its OneWire sensors with live readings, its pins",
                    response=ScanOut,
                    errors=(401, 403, 409, 502),
                ),
                Op(
                    "get",
                    "The last scan with the readings of now; keeps its unused sensors read 60 s more",
                    response=ScanOut,
                    errors=(409, *READ_ERRORS),
                ),
            ),
            "controllers",
        ),
        Route(
            "/api/profiles/{id}.csv",
            r"/api/profiles/([0-9]+)\.csv",
            profiles.ProfileCsvHandler,
            {},
            (
                Op(
                    "get",
                    "Export a fermentation profile as BrewPi CSV (date,temperature,days)",
                    response="csv",
                    errors=(400, 404, 409, *READ_ERRORS),
                    query=(
                        ("units", "string", "C or F (default: the units setting)"),
                        ("start", "string", "ISO 8601 time of day 0 (default: now)"),
                    ),
                ),
            ),
            "profiles",
        ),
        Route(
            "/api/profiles/import",
            "/api/profiles/import",
            profiles.ProfileImportHandler,
            {"resource": profiles.RESOURCE},
            (
                Op(
                    "post",
                    "Import a BrewPi CSV profile as a new fermentation profile",
                    201,
                    request="csv",
                    response=ProfileImported,
                    errors=(*WRITE_ERRORS, 409),
                    query=(
                        ("name", "string", "profile name (default: the CSV header's 4th cell)"),
                        ("units", "string", "C or F (default: the units setting)"),
                    ),
                ),
            ),
            "profiles",
        ),
        Route(
            "/api/settings",
            "/api/settings",
            SettingsHandler,
            {},
            (
                Op("get", "All settings with their values", response="object", errors=READ_ERRORS),
                Op(
                    "patch",
                    "Change several settings",
                    request="object",
                    response="object",
                    errors=WRITE_ERRORS,
                ),
            ),
            "settings",
        ),
        Route(
            "/api/settings/{name}",
            r"/api/settings/([a-z_]+)",
            SettingHandler,
            {},
            (
                Op("get", "Read a setting", response="object", errors=(404, *READ_ERRORS)),
                Op(
                    "put",
                    "Set a setting",
                    request=SettingValue,
                    response="object",
                    errors=(*WRITE_ERRORS, 404),
                ),
                Op(
                    "patch",
                    "Set a setting",
                    request=SettingValue,
                    response="object",
                    errors=(*WRITE_ERRORS, 404),
                ),
                Op(
                    "delete",
                    "Reset a setting to its default",
                    response="object",
                    errors=(401, 403, 404, 503),
                ),
            ),
            "settings",
        ),
        Route(
            "/api/tokens",
            "/api/tokens",
            TokensHandler,
            {"resource": tokens.RESOURCE},
            (
                Op(
                    "get",
                    "List API tokens (never the tokens themselves)",
                    response=("list", TokenOut),
                    errors=READ_ERRORS,
                ),
                Op(
                    "post",
                    "Create an API token; the token is in this answer only",
                    201,
                    TokenIn,
                    TokenCreated,
                    (*WRITE_ERRORS, 409),
                ),
            ),
            "auth",
        ),
        Route(
            "/api/tokens/{id}",
            r"/api/tokens/([0-9]+)",
            TokenHandler,
            {"resource": tokens.RESOURCE},
            (
                Op("get", "Read an API token's record", response=TokenOut, errors=(404, *READ_ERRORS)),
                Op("delete", "Revoke an API token", 204, errors=(401, 403, 404, 503)),
            ),
            "auth",
        ),
        Route(
            "/api/login",
            "/api/login",
            LoginHandler,
            {},
            (
                Op(
                    "post",
                    "Log in with the UI password; sets the session cookie",
                    request=LoginIn,
                    response="object",
                    errors=(400, 401, 413, 415),
                    public=True,
                ),
            ),
            "auth",
        ),
        Route(
            "/api/logout",
            "/api/logout",
            LogoutHandler,
            {},
            (Op("post", "Log out", response="object", public=True),),
            "auth",
        ),
        Route(
            "/api/password",
            "/api/password",
            PasswordHandler,
            {},
            (
                Op(
                    "post",
                    "Change the UI password",
                    request=PasswordIn,
                    response="object",
                    errors=WRITE_ERRORS,
                ),
            ),
            "auth",
        ),
        Route(
            "/api/logs",
            "/api/logs",
            LogsHandler,
            {},
            (
                Op(
                    "get",
                    "Stored log entries, newest first",
                    response=("list", LogOut),
                    errors=(400, *READ_ERRORS),
                    query=(
                        ("limit", "integer", "1-1000, default 100"),
                        ("source", "string", "exact source"),
                        ("level", "string", "debug, info, warning or error"),
                    ),
                ),
            ),
            "logs",
        ),
        Route(
            "/api/alarms",
            "/api/alarms",
            AlarmsHandler,
            {},
            (
                Op(
                    "get",
                    "Alarms, newest first: the listed ones (active or latched) or all",
                    response=("list", AlarmOut),
                    errors=(400, *READ_ERRORS),
                    query=(
                        ("state", "string", "open (default: active or not yet acknowledged) or all"),
                        ("limit", "integer", "1-1000, default 100"),
                        ("source", "string", "exact source, e.g. chamber/1"),
                    ),
                ),
            ),
            "alarms",
        ),
        Route(
            "/api/alarms/ack",
            "/api/alarms/ack",
            AlarmAckHandler,
            {},
            (
                Op(
                    "post",
                    "Acknowledge alarms by id, or all of them",
                    request=AlarmAckIn,
                    response=AlarmAckOut,
                    errors=WRITE_ERRORS,
                ),
            ),
            "alarms",
        ),
        Route(
            "/api/series",
            "/api/series",
            SeriesHandler,
            {},
            (
                Op(
                    "get",
                    "Every history series with its unit, kind, raw sample count, first and last data",
                    response=("list", SeriesOut),
                    errors=READ_ERRORS,
                ),
            ),
            "history",
        ),
        Route(
            "/api/history",
            "/api/history",
            HistoryHandler,
            {},
            (
                Op(
                    "get",
                    "Chart data: each series at the finest resolution that fits `points` (a gap is a gap)",
                    response=HistoryOut,
                    errors=(400, *READ_ERRORS),
                    csv=True,
                    query=(
                        Param(
                            "series",
                            {"type": "string", "pattern": r"^[a-z0-9_./-]{1,64}(,[a-z0-9_./-]{1,64})*$"},
                            f"series names, comma-separated (at most {MAX_SERIES})",
                            required=True,
                            example="chamber/1/beer,chamber/1/heat",  # the sample chamber's
                        ),
                        Param(
                            "from",
                            {"type": "string", "format": "date-time"},
                            "ISO 8601 (default: a day before to)",
                        ),
                        Param("to", {"type": "string", "format": "date-time"}, "ISO 8601 (default: now)"),
                        Param(
                            "points",
                            {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_POINTS,
                                "default": DEFAULT_POINTS,
                            },
                            "the most points per series",
                        ),
                        Param("format", {"type": "string", "enum": ["json", "csv"]}, "csv: a download"),
                        Param(
                            "units",
                            {"type": "string", "enum": ["C", "F"]},
                            "the CSV's temperatures (default: the units setting)",
                        ),
                    ),
                ),
            ),
            "history",
        ),
        Route(
            "/api/status",
            "/api/status",
            StatusHandler,
            {},
            (
                Op(
                    "get",
                    "Version, uptime, database size, counts, series, channel traffic, history tasks",
                    response=StatusOut,
                    errors=READ_ERRORS,
                ),
            ),
            "status",
        ),
    ]
    return routes
