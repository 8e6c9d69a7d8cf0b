"""Collections and items of database rows: validation, conflicts, commits, change events.

Each resource module declares a `Resource`; the two handlers here serve
`GET/POST /api/<things>` and `GET/PATCH/DELETE /api/<things>/<id>` for all of them.
Every change runs in one transaction on the database writer's thread (app/db/writer.py),
commits, and only then publishes its event on the resource's `_` channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db.models import Base
from ..web.errors import ApiError
from ..web.handler import JsonHandler

log = logging.getLogger(__name__)
T = TypeVar("T")


def validation_error(error: ValidationError) -> ApiError:
    """The first problem of a pydantic error as a 400 naming the field."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"] if part != "body")
    if first["type"] == "extra_forbidden":
        message = f"{location}: unknown field"
    else:
        reason = first["msg"].removeprefix("Value error, ")
        message = f"{location}: {reason}" if location else reason
    return ApiError(400, "validation", message, location or None)


MAX_ID = 2**53  # ids fit a JavaScript number; larger ones cannot exist


def parse_id(text: str) -> int | None:
    """The id in a path or query, or None when it cannot name a row."""
    if not text.isdigit() or len(text) > 16:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def parse_model(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_error(error) from None


@dataclass
class Parent:
    field: str  # foreign key in the body, e.g. "controller_id"
    model: type[Base]
    label: str  # "controller"


@dataclass
class Resource:
    name: str  # collection path segment, e.g. "controllers"
    singular: str  # event key and labels, e.g. "controller"
    model: type[Base]
    create: type[BaseModel]
    patch: type[BaseModel]
    out: type[BaseModel]
    detail: type[BaseModel] | None = None  # richer body for GET of one item
    parents: list[Parent] = field(default_factory=list)
    unique_within: str | None = None  # names are unique among rows sharing this column
    unique_field: str = "name"  # the column that is unique (within `unique_within`)
    children: str | None = None  # relationship whose rows block a delete without ?cascade=true
    # write validated fields onto a row (default: setattr for each)
    apply: Callable[[Session, Any, dict[str, Any]], None] | None = None
    # raise ApiError(409) when a row may not be deleted (e.g. it runs a profile)
    check_delete: Callable[[Session, Any], None] | None = None
    filters: tuple[str, ...] = ()  # query parameters that filter the collection by column
    # (channel, id) of rows a cascading delete removes with this one, to announce them too
    cascaded: Callable[[Any], list[tuple[str, int]]] | None = None
    # what GET of one item adds that is live, not stored: (the Maelstrom, body) -> body
    live: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None

    @property
    def channel(self) -> str:
        return f"_{self.name}"

    @property
    def label(self) -> str:
        """The singular as messages spell it (`series rule`)."""
        return self.singular.replace("_", " ")

    def dump(self, row: Any, detailed: bool = False) -> dict[str, Any]:
        model = self.detail if detailed and self.detail is not None else self.out
        return model.model_validate(row).model_dump(mode="json")

    def fields_of(self, row: Any) -> dict[str, Any]:
        """The row as create-model input, to validate a PATCH merged onto it."""
        # fields that are commands, not columns (a chamber's profile_command), start unset
        return {name: getattr(row, name) for name in self.create.model_fields if hasattr(row, name)}

    # What follows runs inside a transaction, on the loop's thread for reads and on the
    # database writer's for writes: it touches nothing but `session` and the values passed.
    def find(self, session: Session, item_id: str) -> Any:
        """The row `item_id` names, or 404."""
        row_id = parse_id(item_id)
        row = session.get(self.model, row_id) if row_id is not None else None
        if row is None:
            raise ApiError(404, "not_found", f"no {self.label} {item_id}")
        return row

    def check_parents(self, session: Session, values: dict[str, Any]) -> None:
        for parent in self.parents:
            parent_id = values.get(parent.field)
            if parent_id is not None and session.get(parent.model, parent_id) is None:
                raise ApiError(404, "not_found", f"no {parent.label} {parent_id}", parent.field)

    def check_unique(self, session: Session, values: dict[str, Any], own_id: int | None) -> None:
        model, unique = self.model, self.unique_field
        query = select(func.count()).select_from(model).where(getattr(model, unique) == values[unique])
        scope = self.unique_within
        if scope is not None:
            query = query.where(getattr(model, scope) == values[scope])
        if own_id is not None:
            query = query.where(model.id != own_id)
        if session.scalar(query):
            where = f" in this {scope.removesuffix('_id')}" if scope else ""
            which = "named" if unique == "name" else f"for {unique}"
            raise ApiError(
                409, "conflict", f"a {self.label} {which} {values[unique]!r} exists{where}", unique
            )

    def store(self, session: Session, row: Any, validated: BaseModel, own_id: int | None) -> None:
        """Check and write validated fields onto `row` (a new row is then added by the caller)."""
        values = validated.model_dump()
        self.check_parents(session, values)
        self.check_unique(session, values, own_id)
        (self.apply or default_apply)(session, row, values)


def default_apply(session: Session, row: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)


class ResourceHandler(JsonHandler):
    def initialize(self, resource: Resource) -> None:
        self.resource = resource

    def session(self) -> Session:
        """A session for reads, on the loop's thread (WAL readers never wait for a writer)."""
        return self.maelstrom.sessions()

    async def commit(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in one transaction on the database writer, off the loop;
        its result once committed, 409 when the commit conflicts with another row."""
        try:
            return await self.maelstrom.db_writer.submit(self.resource.name, work)
        except IntegrityError as error:
            log.info("conflict on %s: %s", self.resource.name, error.orig)
            raise ApiError(
                409, "conflict", f"the change conflicts with another {self.resource.label}"
            ) from None

    def _publish(self, event_type: str, body: dict[str, Any]) -> None:
        self.maelstrom.hub.publish(self.resource.channel, {"eventType": event_type, **body})


class CollectionHandler(ResourceHandler):
    def get(self) -> None:
        model = self.resource.model
        query = select(model).order_by(model.id)
        for name in self.resource.filters:
            raw = self.get_query_argument(name, None)
            if raw is not None:
                value = parse_id(raw)
                if value is None:
                    raise ApiError(400, "validation", f"{name} must be an id (1 to {MAX_ID})", name)
                query = query.where(getattr(model, name) == value)
        with self.session() as session:
            self.send_json([self.resource.dump(row) for row in session.scalars(query)])

    async def post(self) -> None:
        resource = self.resource
        validated = parse_model(resource.create, self.json_body())

        def create(session: Session) -> dict[str, Any]:
            row = resource.model()
            resource.store(session, row, validated, None)
            session.add(row)
            session.flush()  # assigns the id
            return resource.dump(row)

        body = await self.commit(create)
        self._publish("create", {resource.singular: body})
        self.set_header("Location", f"/api/{resource.name}/{body['id']}")
        self.send_json(body, 201)


class ItemHandler(ResourceHandler):
    def get(self, item_id: str) -> None:
        resource = self.resource
        with self.session() as session:
            body = resource.dump(resource.find(session, item_id), detailed=True)
        if resource.live is not None:
            body = resource.live(self.maelstrom, body)
        self.send_json(body)

    async def patch(self, item_id: str) -> None:
        resource = self.resource
        changes = parse_model(resource.patch, self.json_body()).model_dump(exclude_unset=True)

        def update(session: Session) -> dict[str, Any]:
            row = resource.find(session, item_id)
            merged = {**resource.fields_of(row), **changes}
            resource.store(session, row, parse_model(resource.create, merged), row.id)
            session.flush()
            return resource.dump(row)

        body = await self.commit(update)
        self._publish("update", {resource.singular: body})
        self.send_json(body)

    async def delete(self, item_id: str) -> None:
        resource = self.resource
        cascade = self.get_query_argument("cascade", "false")
        if cascade not in ("true", "false"):
            raise ApiError(400, "validation", "cascade must be true or false", "cascade")

        def delete(session: Session) -> list[tuple[str, int]]:
            row = resource.find(session, item_id)
            if resource.check_delete is not None:
                resource.check_delete(session, row)
            children = getattr(row, resource.children) if resource.children else []
            if children and cascade != "true":
                raise ApiError(
                    409,
                    "conflict",
                    f"{resource.label} {row.id} still has {len(children)} "
                    f"{resource.children}; delete them first or add ?cascade=true",
                )
            gone = resource.cascaded(row) if resource.cascaded and children else []
            session.delete(row)
            return gone

        gone = await self.commit(delete)
        for channel, child_id in gone:
            self.maelstrom.hub.publish(channel, {"eventType": "delete", "id": child_id})
        self._publish("delete", {"id": int(item_id)})
        self.set_status(204)
        self.finish()
