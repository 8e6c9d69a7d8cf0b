"""Messages published on the `alarms` channel from outside (protocol.md §1): read and checked.

`{"acknowledge": true | [ids]}` acknowledges; `{"alarms": [{source, code, msg}, ...]}` raises
alarms from a script or the Debugger. The server's own broadcasts are built by the book
(`AlarmRecord.as_message`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from .book import ALL

MAX_SOURCE_CHARS = 128
MAX_CODE_CHARS = 64
MAX_MSG_CHARS = 500
MAX_ITEMS = 100  # alarms or ids in one publication


class OutsideAlarm(NamedTuple):
    """An alarm published on `alarms` by a script or the Debugger; `code` always a string."""

    source: str
    code: str
    msg: str


@dataclass(frozen=True)
class Acknowledge:
    ids: tuple[int, ...] | Literal["all"]


def parse_alarm_publication(data: Any) -> list[OutsideAlarm] | Acknowledge:
    """Read a message published on `alarms`.

    `{"acknowledge": true}` or `{"acknowledge": [ids]}` gives an `Acknowledge`;
    `{"alarms": [{source, code, msg}, ...]}` the alarms to raise (other keys of an item are
    ignored; items carrying `state` are the server's own broadcasts and are skipped). Codes
    may be integers (1001) or strings and come back as strings, as the table stores them.
    Raises ValueError naming the problem for anything else.
    """
    if not isinstance(data, dict):
        raise ValueError("an alarms message must be a JSON object")
    if "acknowledge" in data and "alarms" in data:
        raise ValueError("an alarms message has either acknowledge or alarms, not both")
    if "acknowledge" in data:
        return _parse_acknowledge(data["acknowledge"])
    if "alarms" not in data:
        raise ValueError("an alarms message needs acknowledge or alarms")
    items = data["alarms"]
    if not isinstance(items, list):
        raise ValueError("alarms must be a list")
    if len(items) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} alarms in one message")
    return [_parse_item(index, item) for index, item in enumerate(items) if not _is_broadcast(item)]


def _is_broadcast(item: Any) -> bool:
    return isinstance(item, dict) and "state" in item


def _parse_acknowledge(value: Any) -> Acknowledge:
    if value is True:
        return Acknowledge(ALL)
    if not isinstance(value, list):
        raise ValueError("acknowledge must be true or a list of alarm ids")
    if len(value) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} ids in one acknowledge")
    for alarm_id in value:
        if isinstance(alarm_id, bool) or not isinstance(alarm_id, int) or alarm_id < 1:
            raise ValueError(f"acknowledge ids must be positive integers, not {alarm_id!r}")
    return Acknowledge(tuple(value))


def _parse_item(index: int, item: Any) -> OutsideAlarm:
    where = f"alarms[{index}]"
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object with source, code and msg")
    source, code, msg = item.get("source"), item.get("code"), item.get("msg")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"{where}.source must be a non-empty string")
    if len(source) > MAX_SOURCE_CHARS:
        raise ValueError(f"{where}.source must be at most {MAX_SOURCE_CHARS} characters")
    if isinstance(code, bool) or not isinstance(code, int | str):
        raise ValueError(f"{where}.code must be an integer or a string")
    code_text = str(code)
    if not code_text.strip() or len(code_text) > MAX_CODE_CHARS:
        raise ValueError(f"{where}.code must be 1 to {MAX_CODE_CHARS} characters")
    if not isinstance(msg, str) or not msg.strip():
        raise ValueError(f"{where}.msg must be a non-empty string")
    if len(msg) > MAX_MSG_CHARS:
        raise ValueError(f"{where}.msg must be at most {MAX_MSG_CHARS} characters")
    return OutsideAlarm(source, code_text, msg)
