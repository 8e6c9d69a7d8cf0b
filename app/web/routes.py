"""A route and its operations as the route table declares them: the server routes by it
and the OpenAPI document (app/api/openapi.py) describes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Param:
    """A query parameter with its own JSON Schema (a plain `(name, type, description)`
    tuple says only its type)."""

    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False
    example: Any = None  # shown in the document; schemathesis tries it too


@dataclass(frozen=True)
class Op:
    method: str
    summary: str
    status: int = 200
    request: Any = None  # a pydantic model, "any" (free JSON), a JSON schema (dict) or None
    response: Any = None  # a model, ("list", model), "object", "any", a JSON schema or None (no body)
    errors: tuple[int, ...] = ()
    public: bool = False  # needs no authentication at all
    query: tuple[tuple[str, str, str] | Param, ...] = ()  # (name, JSON type, description) or Param
    form: dict[str, Any] | None = None  # JSON schema of the form fields it also accepts
    csv: bool = False  # also answers text/csv (`format=csv`)


@dataclass(frozen=True)
class Route:
    path: str  # OpenAPI form, {id}
    pattern: str  # Tornado pattern
    handler: type
    kwargs: dict[str, Any] = field(default_factory=dict)
    ops: tuple[Op, ...] = ()
    tag: str = ""
