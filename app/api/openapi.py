"""The OpenAPI 3.1 document, built from the route table and its pydantic models.

Imported on the first `GET /api/openapi.json` only (app/api/openapi_handler.py): most
servers are never asked for it, and building it costs time and memory at start."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .. import __version__
from ..web.routes import Param, Route

REF = "#/components/schemas/{model}"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}
PUBLISH_SCHEMA = {
    "type": "object",
    "required": ["channel", "data"],
    "additionalProperties": False,
    "properties": {"channel": {"type": "string", "pattern": "^[A-Za-z0-9_./:-]{1,128}$"}, "data": {}},
}
PUBLISH_RESULT = {
    "type": "object",
    "required": ["channel", "seq", "epoch"],
    "properties": {"channel": {"type": "string"}, "seq": {"type": "integer"}, "epoch": {"type": "string"}},
}
PATH_PARAMS = {
    "id": {"type": "integer", "minimum": 0},
    "name": {"type": "string", "pattern": "^[a-z_]+$"},
    "channel": {"type": "string", "pattern": "^[A-Za-z0-9_./:-]{1,128}$"},
    "series": {"type": "string", "pattern": "^[a-z0-9_./-]{1,64}$"},
}
FREE = {
    "csv": {"type": "string"},
    "any": {},
    "object": {"type": "object"},
    "publish": PUBLISH_SCHEMA,
    "publish_result": PUBLISH_RESULT,
}
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No content",
    400: "Bad input",
    401: "Not authenticated",
    403: "Not allowed",
    404: "No such resource",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported content type",
    502: "The board refused or garbled the command",
    503: "Database busy (locked by another program); nothing was changed",
}


def _models(routes: list[Route]) -> list[tuple[type[BaseModel], str]]:
    found: dict[tuple[type[BaseModel], str], None] = {}
    for route in routes:
        for op in route.ops:
            if isinstance(op.request, type):
                found[(op.request, "validation")] = None
            response = op.response[1] if isinstance(op.response, tuple) else op.response
            if isinstance(response, type):
                found[(response, "serialization")] = None
    return list(found)


MEDIA = {"csv": "text/csv"}


def build_document(routes: list[Route]) -> dict[str, Any]:
    keys = _models(routes)
    refs, definitions = models_json_schema(keys, ref_template=REF)
    schemas = dict(definitions.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA

    def schema_of(spec: Any, mode: str) -> dict[str, Any]:
        if isinstance(spec, tuple):
            return {"type": "array", "items": schema_of(spec[1], mode)}
        if isinstance(spec, str):
            return FREE[spec]
        if isinstance(spec, dict):  # a route's own JSON schema
            return spec
        return refs[(spec, mode)]

    paths: dict[str, Any] = {}
    for route in routes:
        item: dict[str, Any] = {}
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": PATH_PARAMS[name]}
            for name in _path_params(route.path)
        ]
        for op in route.ops:
            operation: dict[str, Any] = {
                "summary": op.summary,
                "operationId": _operation_id(op.method, route.path),
                "tags": [route.tag] if route.tag else [],
                "responses": {},
            }
            params = parameters + [_query_param(param) for param in op.query]
            if params:
                operation["parameters"] = params
            if op.request is not None:
                media = (
                    MEDIA.get(op.request, "application/json")
                    if isinstance(op.request, str)
                    else "application/json"
                )
                content = {media: {"schema": schema_of(op.request, "validation")}}
                if op.form is not None:
                    content["application/x-www-form-urlencoded"] = {"schema": op.form}
                operation["requestBody"] = {"required": True, "content": content}
            success: dict[str, Any] = {"description": STATUS_TEXT[op.status]}
            if op.response is not None:
                media = (
                    MEDIA.get(op.response, "application/json")
                    if isinstance(op.response, str)
                    else "application/json"
                )
                success["content"] = {media: {"schema": schema_of(op.response, "serialization")}}
                if op.csv:
                    success["content"]["text/csv"] = {"schema": {"type": "string"}}
            operation["responses"][str(op.status)] = success
            for status in sorted(set(op.errors) | {404, 405} - {op.status}):
                operation["responses"][str(status)] = {
                    "description": STATUS_TEXT.get(status, "Error"),
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            if not op.public:
                operation["security"] = [{"bearer": []}, {"session": []}]
            item[op.method] = operation
        paths[route.path] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Maelstrom",
            "version": __version__,
            "description": "Brewery controller REST API. Temperatures in °C, times in UTC.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "maelstrom_session"},
            },
        },
    }


def _query_param(param: tuple[str, str, str] | Param) -> dict[str, Any]:
    if isinstance(param, Param):
        name, schema, text, required = param.name, param.schema, param.description, param.required
    else:
        (name, kind, text), required = param, False
        schema = {"type": kind}
    described = {"name": name, "in": "query", "required": required, "description": text, "schema": schema}
    if isinstance(param, Param) and param.example is not None:
        described["example"] = param.example
    return described


def _path_params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def _operation_id(method: str, path: str) -> str:
    return f"{method}_" + re.sub(r"[^A-Za-z0-9]+", "_", path.strip("/")).strip("_")
