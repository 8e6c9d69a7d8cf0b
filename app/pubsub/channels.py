"""Channel names and MQTT-style subscription patterns (`+` one level, `#` the rest)."""

from __future__ import annotations

import re

from .errors import BAD_CHANNEL, PubSubError

MAX_NAME_LENGTH = 128
_NAME = re.compile(r"[A-Za-z0-9_./:-]{1,128}")
_LEVEL = re.compile(r"[A-Za-z0-9_.:-]*")


def is_server_owned(name: str) -> bool:
    """Channels starting with `_` carry server events and are never published from outside."""
    return name.startswith("_")


def check_name(name: object, field: str = "channel") -> str:
    """Return `name` if it is a valid exact channel name, else raise PubSubError."""
    if not isinstance(name, str):
        raise PubSubError(BAD_CHANNEL, f"{field} must be a string", field)
    if not _NAME.fullmatch(name):
        raise PubSubError(
            BAD_CHANNEL,
            f"{field} {name[:140]!r} must be 1-128 characters of A-Z a-z 0-9 _ . / : -",
            field,
        )
    return name


def is_pattern(name: str) -> bool:
    return "+" in name or "#" in name


def check_pattern(pattern: object, field: str = "channel") -> str:
    """Return `pattern` if it is an exact name or a valid wildcard pattern."""
    if not isinstance(pattern, str):
        raise PubSubError(BAD_CHANNEL, f"{field} must be a string", field)
    if not is_pattern(pattern):
        return check_name(pattern, field)
    if not 1 <= len(pattern) <= MAX_NAME_LENGTH:
        raise PubSubError(BAD_CHANNEL, f"{field} must be 1-128 characters", field)
    levels = pattern.split("/")
    for index, level in enumerate(levels):
        if level == "#" and index != len(levels) - 1:
            raise PubSubError(BAD_CHANNEL, f"{field}: '#' is allowed only as the last level", field)
        if level in ("+", "#"):
            continue
        if not _LEVEL.fullmatch(level):
            raise PubSubError(
                BAD_CHANNEL,
                f"{field} {pattern[:140]!r}: a wildcard must fill a whole level, "
                "other levels use A-Z a-z 0-9 _ . : -",
                field,
            )
    return pattern


def compile_pattern(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.split("/"))


def matches(levels: tuple[str, ...], name: str) -> bool:
    """True when channel `name` matches a compiled pattern (`a/#` also matches `a`)."""
    parts = name.split("/")
    for index, level in enumerate(levels):
        if level == "#":
            return True
        if index >= len(parts):
            return False
        if level != "+" and level != parts[index]:
            return False
    return len(parts) == len(levels)
