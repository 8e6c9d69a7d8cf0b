"""`GET /api/history` (chart data, JSON or a CSV download) and `GET /api/series`
(protocol.md §4). Every parameter is checked before anything is read; the reads run on
the history's reader threads (app/history/service.py), never on the IOLoop."""

from __future__ import annotations

import time
from typing import Any

from ..history import query
from ..history.store import SERIES_NAME, iso
from ..web.errors import ApiError
from ..web.handler import JsonHandler

MAX_SERIES = 20
MAX_POINTS = 10_000
DEFAULT_POINTS = 1000
DEFAULT_SPAN_MS = 86_400_000  # without `from`: the day before `to`
FORMATS = ("json", "csv")


def _bad(field: str, message: str) -> ApiError:
    return ApiError(400, "validation", message, field)


class HistoryHandler(JsonHandler):
    async def get(self) -> None:
        names = self._names()
        points = self._points()
        low, high = self._span()
        form = self.get_query_argument("format", "json")
        if form not in FORMATS:
            raise _bad("format", "format must be json or csv")
        units = self.get_query_argument("units", None) or self.maelstrom.settings.get("units")
        if units not in ("C", "F"):
            raise _bad("units", "units must be C or F")

        def read(session: Any) -> tuple[list[str], dict[str, Any]]:
            refs = query.find_series(session, names)
            missing = [name for name in names if name not in refs]
            if missing:
                return missing, {}
            return [], query.history(session, [refs[name] for name in names], low, high, points)

        missing, body = await self.maelstrom.history.read(read)
        if missing:
            raise _bad("series", f"no series {', '.join(missing)}")
        if form == "json":
            self.send_json(body)
            return
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        stamp = f"{iso(low)}_{iso(high)}".replace(":", "")
        self.set_header("Content-Disposition", f'attachment; filename="history_{stamp}.csv"')
        self.finish(query.to_csv(body, units))

    def _names(self) -> list[str]:
        text = self.get_query_argument("series", None)
        if not text:
            raise _bad("series", "series is required: one or more series names, comma-separated")
        names = list(dict.fromkeys(text.split(",")))  # once each, in the order asked
        if len(names) > MAX_SERIES:
            raise _bad("series", f"at most {MAX_SERIES} series at once")
        for name in names:
            if not SERIES_NAME.fullmatch(name):
                raise _bad("series", f"{name[:70]!r} is not a series name (1-64 of a-z 0-9 _ . / -)")
        return names

    def _points(self) -> int:
        text = self.get_query_argument("points", str(DEFAULT_POINTS))
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_POINTS:
            raise _bad("points", f"points must be an integer from 1 to {MAX_POINTS}")
        return int(text)

    def _span(self) -> tuple[int, int]:
        high = self._time("to")
        if high is None:
            high = int(time.time() * 1000)
        low = self._time("from")
        if low is None:
            low = high - DEFAULT_SPAN_MS
        if low > high:
            raise _bad("from", "from must not be after to")
        return low, high

    def _time(self, name: str) -> int | None:
        text = self.get_query_argument(name, None)
        if text is None:
            return None
        try:
            return query.parse_time(text)
        except ValueError:
            raise _bad(
                name, f"{name} must be an ISO 8601 time from 1970 on, such as 2026-11-23T10:00:00Z"
            ) from None


class SeriesHandler(JsonHandler):
    async def get(self) -> None:
        self.send_json(await self.maelstrom.history.read(query.series_list))
