"""The TCP line protocol (protocol.md §6), parsed without I/O.

    AUTH <token>
    <series> <number>            measurement     beer_temp 19.5
    <series> +<number>           counter         airlock +1
    <series> "<text>"            event           note "dry hopped 50 g Citra"
    <series> =<state>            state           pump =on
    ... @<ts>                    any of the four, at a time (epoch seconds or ISO 8601)

`parse_line` never raises: every input is an `AuthLine`, a `SampleLine` or a `LineError`
whose reason fits on one line (the listener sends it after `ERR `).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .sink import Kind, Sample
from .validate import IngestError, check_series, check_state, check_text, parse_number, parse_timestamp, shown

FORMS = '<series> <number>, <series> +<number>, <series> "<text>", <series> =<state> or AUTH <token>'
_BLANK = " \t"
_TOKEN_RE = re.compile(r"[!-~]{1,512}")  # printable ASCII, no spaces: what an API token is made of


@dataclass(frozen=True, slots=True)
class AuthLine:
    token: str


@dataclass(frozen=True, slots=True)
class SampleLine:
    sample: Sample


@dataclass(frozen=True, slots=True)
class LineError:
    reason: str


Parsed = AuthLine | SampleLine | LineError


def parse_line(line: str | bytes, now_s: float) -> Parsed:
    """One line without its terminator. `now_s` (epoch seconds) stamps a sample without
    `@<ts>` and bounds the timestamps that are given."""
    try:
        return _parse(line, now_s)
    except IngestError as error:
        return LineError(error.reason)


def _parse(line: str | bytes, now_s: float) -> Parsed:
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise IngestError("the line is not UTF-8 text") from None
    text = line.strip(_BLANK)
    if not text:
        raise IngestError(f"empty line; send {FORMS}")
    head, rest = _split(text)
    if head == "AUTH":
        return _auth(rest)
    series = check_series(head)
    if not rest:
        raise IngestError(f"series {series}: the value is missing; send {FORMS}")
    kind, value, content, rest = _payload(rest)
    ts_ms = round(now_s * 1000)
    if rest:
        if not rest.startswith("@"):
            raise IngestError(f"unexpected {shown(rest)} after the value; only @<ts> may follow it")
        ts_text, extra = _split(rest[1:])
        if extra:
            raise IngestError(f"unexpected {shown(extra)} after the timestamp")
        if not ts_text:
            raise IngestError("@ needs a timestamp: epoch seconds or ISO 8601")
        ts_ms = parse_timestamp(ts_text, now_s)
    return SampleLine(Sample(series, ts_ms, kind, value, content))


def _split(text: str) -> tuple[str, str]:
    """The first word and what follows it, without the blanks between."""
    for index, char in enumerate(text):
        if char in _BLANK:
            return text[:index], text[index:].lstrip(_BLANK)
    return text, ""


def _auth(rest: str) -> AuthLine:
    token, extra = _split(rest)
    if not token:
        raise IngestError("AUTH needs a token: AUTH <token>")
    if extra or not _TOKEN_RE.fullmatch(token):
        raise IngestError("AUTH takes one token of printable characters")
    return AuthLine(token)


def _payload(rest: str) -> tuple[Kind, float | None, str | None, str]:
    """(kind, value, text, what follows) of the part after the series name."""
    if rest.startswith('"'):
        content, after = _quoted(rest)
        return "event", None, check_text(content, "event text"), _after_payload(after)
    word, after = _split(rest)
    if word.startswith("="):
        return "state", None, check_state(word[1:]), after
    if word.startswith("+"):
        if word.startswith("+-"):
            raise IngestError("a counter increment cannot be negative: +<number>")
        return "counter", parse_number(word[1:], "counter increment"), None, after
    return "measurement", parse_number(word), None, after


def _after_payload(after: str) -> str:
    if after and after[0] not in _BLANK:
        raise IngestError(f"unexpected {shown(after)} right after the closing quote")
    return after.lstrip(_BLANK)


def _quoted(rest: str) -> tuple[str, str]:
    """The text of `"..."` at the start of `rest` with `\\"` and `\\\\` unescaped, and
    what follows the closing quote."""
    chars: list[str] = []
    index = 1
    while index < len(rest):
        char = rest[index]
        if char == '"':
            return "".join(chars), rest[index + 1 :]
        if char == "\\":
            escaped = rest[index + 1 : index + 2]
            if escaped not in ('"', "\\"):
                sequence = shown("\\" + escaped)
                raise IngestError(f'unknown escape {sequence} in the event text: only \\" and \\\\')
            chars.append(escaped)
            index += 2
            continue
        chars.append(char)
        index += 1
    raise IngestError("the event text has no closing quote")
