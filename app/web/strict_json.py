"""JSON parsing that refuses NaN and Infinity: Python's `json` accepts them, JSON does not."""

from __future__ import annotations

import json
from typing import Any

from .errors import ApiError


def loads_strict(text: bytes | str) -> Any:
    """Parse JSON text; ValueError (or RecursionError) for anything that is not JSON."""

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    return json.loads(text, parse_constant=refuse_constant)


def parse_json_text(text: bytes | str, field: str) -> Any:
    """Parse JSON, refusing what is not JSON with a 400 `bad_json` naming `field`."""
    try:
        return loads_strict(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ApiError(400, "bad_json", f"{field} is not valid JSON: {error}", field) from None
