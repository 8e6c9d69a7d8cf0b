"""Client → server WebSocket commands: one schema per action, declared in one place."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import BAD_REQUEST, UNKNOWN_ACTION, PubSubError

RequestId = Union[int, str, None]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: RequestId = Field(None, description="Echoed in the reply.")


class SinceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int = Field(ge=0)
    epoch: str = Field(min_length=1, max_length=64)


class Subscribe(_Command):
    action: Literal["subscribe"]
    channel: str
    since: SinceModel | None = None


class Unsubscribe(_Command):
    action: Literal["unsubscribe"]
    channel: str


class Publish(_Command):
    action: Literal["publish"]
    channel: str
    data: Any


class Ping(_Command):
    action: Literal["ping"]
    channel: str | None = None


class Auth(_Command):
    action: Literal["auth"]
    token: str = Field(min_length=1, max_length=256)


COMMANDS: dict[str, type[_Command]] = {
    "auth": Auth,
    "subscribe": Subscribe,
    "unsubscribe": Unsubscribe,
    "publish": Publish,
    "ping": Ping,
}


def parse_command(frame: dict[str, Any]) -> _Command:
    """Validate a decoded frame into its command model, or raise PubSubError naming the problem."""
    action = frame.get("action")
    model = COMMANDS.get(action) if isinstance(action, str) else None
    if model is None:
        known = ", ".join(COMMANDS)
        raise PubSubError(UNKNOWN_ACTION, f"unknown action {action!r}; expected one of {known}", "action")
    try:
        return model.model_validate(frame)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        raise PubSubError(BAD_REQUEST, f"{field}: {message}", field) from None
