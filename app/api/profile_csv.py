"""Import and export fermentation temperature profiles as BrewPi CSV (`date,temperature,days`).

Pure functions: no Tornado, no database. A profile is a list of points
(`offset_days >= 0`, `temperature_c` or None for "control off"), offsets non-decreasing.
Temperatures are kept in °C; `units` says what the CSV's temperatures are in, and the
conversion happens here, at the edge. See docs/profile-csv.md for what is accepted,
repaired and refused, and why.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "MAX_BYTES",
    "MAX_DAYS",
    "MAX_ROWS",
    "TEMP_MAX_C",
    "TEMP_MIN_C",
    "CsvPoint",
    "ImportedProfile",
    "ProfileCsvError",
    "format_profile_csv",
    "parse_profile_csv",
]

MAX_BYTES = 256 * 1024
MAX_ROWS = 1000
MAX_DAYS = 3650.0
TEMP_MIN_C = -5.0  # the setpoint range of the API, so an import refuses what a chamber cannot use
TEMP_MAX_C = 110.0

HEADER = ("date", "temperature", "days")
_EXPECTED = "a header line 'date,temperature,days' (optionally ',<profile name>')"
# Dates and days may disagree by up to this much without a warning: brewpi-www computes
# the dates in the browser's local time, so a profile across a DST change is 1 h off.
_DATE_TOLERANCE = timedelta(hours=1, seconds=1)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")
_DAY_FIRST_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")


@dataclass(frozen=True)
class CsvPoint:
    """One profile point: `offset_days` after the start, `temperature_c` in °C (None = control off)."""

    offset_days: float
    temperature_c: float | None


@dataclass(frozen=True)
class ImportedProfile:
    """What `parse_profile_csv` read: the name from the header (None if absent), the points in
    file order, and human-readable warnings (each starting "line N:") about anything repaired
    or ignored. An empty `warnings` list means the file was read exactly as written."""

    name: str | None
    points: list[CsvPoint]
    warnings: list[str]


class ProfileCsvError(ValueError):
    """A profile file that cannot be imported. `line` is the 1-based line at fault in the file,
    0 when the problem is the file as a whole; `str()` gives "line N: message"."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


# ---------------------------------------------------------------------------------------------
# helpers


def _check_units(units: str) -> str:
    if units not in ("C", "F"):
        raise ValueError(f"units must be 'C' or 'F', not {units!r}")
    return units


def _to_c(value: float, units: str) -> float:
    return value if units == "C" else (value - 32.0) * 5.0 / 9.0


def _from_c(value_c: float, units: str) -> float:
    return value_c if units == "C" else value_c * 9.0 / 5.0 + 32.0


def _trim(value: float, decimals: int) -> str:
    """`value` with at most `decimals` decimals, trailing zeros and a bare point removed."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _number(cell: str, what: str, line: int) -> float:
    if not cell:
        raise ProfileCsvError(line, f"{what} is empty")
    if _NON_FINITE.fullmatch(cell):
        raise ProfileCsvError(line, f"{what} {cell!r} is not a finite number")
    if not _NUMBER.fullmatch(cell):
        raise ProfileCsvError(line, f"{what} {cell!r} is not a number")
    value = float(cell)
    if not math.isfinite(value):
        raise ProfileCsvError(line, f"{what} {cell!r} is not a finite number")
    return value


def _temperature(cell: str, units: str, line: int) -> float | None:
    """An empty cell is None (control off); otherwise a number converted to °C and range-checked."""
    if not cell:
        return None
    value = _number(cell, "temperature", line)
    value_c = round(_to_c(value, units), 6)
    if not TEMP_MIN_C <= value_c <= TEMP_MAX_C:
        shown = f"{cell} °C" if units == "C" else f"{cell} °F ({_trim(value_c, 2)} °C)"
        raise ProfileCsvError(line, f"temperature {shown} is outside {TEMP_MIN_C:g}..{TEMP_MAX_C:g} °C")
    return value_c


def _parse_date(cell: str) -> tuple[datetime, bool] | None:
    """(date, day_first) for an ISO or dd/mm/yyyy date-time, or None if it is neither."""
    for fmt in _ISO_FORMATS:
        try:
            return datetime.strptime(cell, fmt), False
        except ValueError:
            pass
    for fmt in _DAY_FIRST_FORMATS:
        try:
            return datetime.strptime(cell, fmt), True
        except ValueError:
            pass
    return None


def _split_lines(text: str) -> tuple[list[str], list[int]]:
    """The file's lines without their terminators, and the numbers of lines that held a stray CR.

    LF and CRLF end lines; a file with CRs but no LF at all (classic Mac) is split on CR.
    A CR anywhere else in a line is removed and its line number reported."""
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    stray: list[int] = []
    for index, line in enumerate(lines):
        if line.endswith("\r"):
            line = line[:-1]
        if "\r" in line:
            line = line.replace("\r", "")
            stray.append(index + 1)
        lines[index] = line
    return lines, stray


def _cells(line: str) -> list[str]:
    """CSV cells of one line (quotes understood), whitespace around each cell removed."""
    return [cell.strip() for cell in next(csv.reader([line]), [])]


def _last_content_line(lines: list[str]) -> int:
    """Number of lines once trailing blank lines are dropped."""
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    return end


# ---------------------------------------------------------------------------------------------
# import


def _data_rows(lines: list[str], end: int, warnings: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each data row after the header; blank lines are skipped
    with a warning, and more than MAX_ROWS rows are refused at the first one too many."""
    rows = 0
    for index in range(1, end):
        number = index + 1
        raw = lines[index]
        if not raw.strip():
            warnings.append(f"line {number}: skipped a blank line")
            continue
        if rows == MAX_ROWS:
            raise ProfileCsvError(number, f"more than {MAX_ROWS} data rows")
        rows += 1
        yield number, _cells(raw)


def parse_profile_csv(text: str, units: str = "C") -> ImportedProfile:
    """Read a BrewPi profile CSV and return its name, points (temperatures in °C) and warnings.

    `units` ("C" or "F") is what the file's temperatures are in. The `days` column gives the
    offsets; dates are only checked against it, and a disagreement is a warning, never an
    error. Also reads the 2012 BrewPi format (`"Date & Time","Setting (°C)"`, day-first dates,
    no days column) by computing the offsets from the dates, in the unit its header names.
    Raises ProfileCsvError naming the line for anything it cannot import faithfully, and
    ValueError for bad `units`.
    """
    _check_units(units)
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BYTES:
        raise ProfileCsvError(0, f"file is {size} bytes; the limit is {MAX_BYTES} bytes (256 KiB)")
    warnings: list[str] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    lines, stray = _split_lines(text)
    for number in stray:
        where = "the header" if number == 1 else "the row"
        warnings.append(f"line {number}: removed a stray carriage return (CR) inside {where}")
    end = _last_content_line(lines)
    if end == 0:
        raise ProfileCsvError(0, f"file is empty; expected {_EXPECTED} and data rows")

    first = lines[0]
    if first.lstrip().startswith(("====", "|")):
        raise ProfileCsvError(
            1,
            "this looks like a Fermentrack text export, not a CSV profile; "
            f"expected {_EXPECTED} followed by rows 'date,temperature,days'",
        )
    header = _cells(first)
    lowered = [cell.lower() for cell in header]
    if len(header) == 2 and lowered[0] == "date & time" and lowered[1].startswith("setting"):
        return _parse_2012(lines, end, header[1], units, warnings)
    if tuple(lowered[:3]) != HEADER:
        if not first.strip():
            raise ProfileCsvError(1, f"missing header: line 1 is blank; expected {_EXPECTED}")
        if header and _parse_date(header[0]) is not None:
            raise ProfileCsvError(1, f"missing header: line 1 is a data row; expected {_EXPECTED}")
        raise ProfileCsvError(1, f"unknown header {first.strip()!r}; expected {_EXPECTED}")
    if len(header) > 4:
        raise ProfileCsvError(
            1,
            f"header has {len(header)} cells; expected 3 or 4 (date,temperature,days[,name]); "
            "a profile name containing commas must be quoted",
        )
    name = header[3] if len(header) == 4 and header[3] else None

    points: list[CsvPoint] = []
    dates: list[tuple[int, str, float]] = []  # (line, date cell, days) for the consistency check
    for number, cells in _data_rows(lines, end, warnings):
        while len(cells) > 3 and cells[-1] == "":  # spreadsheets pad rows to the widest row
            cells.pop()
        if len(cells) != 3:
            raise ProfileCsvError(number, f"row has {len(cells)} cells; expected 3 (date,temperature,days)")
        date_cell, temp_cell, days_cell = cells
        days = _number(days_cell, "days", number)
        if days < 0:
            raise ProfileCsvError(number, f"days {days_cell} is negative")
        if days > MAX_DAYS:
            raise ProfileCsvError(number, f"days {days_cell} is more than {MAX_DAYS:g} (10 years)")
        if points and days < points[-1].offset_days:
            raise ProfileCsvError(
                number,
                f"days go backwards ({days_cell} after {_trim(points[-1].offset_days, 9)})",
            )
        points.append(CsvPoint(days + 0.0, _temperature(temp_cell, units, number)))
        dates.append((number, date_cell, days))

    if not points:
        raise ProfileCsvError(0, "no data rows after the header")
    warnings.extend(_check_dates(dates))
    return ImportedProfile(name=name, points=points, warnings=warnings)


def _check_dates(rows: list[tuple[int, str, float]]) -> list[str]:
    """Warnings when the date column disagrees with the days column (which wins)."""
    parsed: list[tuple[int, str, datetime, float]] = []
    notes: list[str] = []
    day_first_line = 0
    for number, cell, days in rows:
        result = _parse_date(cell)
        if result is None:
            shown = repr(cell) if cell else "(empty)"
            return [f"line {number}: date {shown} not understood; dates ignored, the days column is used"]
        date, day_first = result
        if day_first and not day_first_line:
            day_first_line = number
        parsed.append((number, cell, date, days))
    if day_first_line:
        notes.append(
            f"line {day_first_line}: dates are in the old dd/mm/yyyy form; read day-first, "
            "only to check them against the days column"
        )
    for (_, prev_cell, prev_date, prev_days), (number, cell, date, days) in zip(
        parsed, parsed[1:], strict=False
    ):
        if date < prev_date or (date == prev_date and days > prev_days):
            notes.append(
                f"line {number}: dates stop increasing here ({cell} after {prev_cell}) while days "
                "go on; dates ignored, the days column is used"
            )
            return notes
    _, first_cell, first_date, first_days = parsed[0]
    bad = [
        (number, cell, days)
        for number, cell, date, days in parsed
        if abs(date - first_date - timedelta(days=days - first_days)) > _DATE_TOLERANCE
    ]
    if bad:
        number, cell, days = bad[0]
        notes.append(
            f"line {number}: date {cell} is not {_trim(days - first_days, 9)} days after "
            f"{first_cell} as the days column says ({len(bad)} row(s) disagree); "
            "dates ignored, the days column is used"
        )
    return notes


def _parse_2012(
    lines: list[str], end: int, unit_cell: str, units: str, warnings: list[str]
) -> ImportedProfile:
    """The 2012 format: `"Date & Time","Setting (°C)"`, rows `dd/mm/yyyy HH:MM:SS,temp`.

    No days column, so the dates are the timing: offsets are days since the first row, and a
    date going backwards is refused. The header names the unit, which wins over `units`."""
    match = re.search(r"\(\s*[^()]*?([CF])\s*\)\s*$", unit_cell)
    if match is None:
        raise ProfileCsvError(
            1, f"2012 BrewPi header {unit_cell!r} does not say °C or °F, e.g. 'Setting (°C)'"
        )
    file_units = match.group(1)
    warnings.append(
        "line 1: old 2012 BrewPi format (no days column); offsets computed from the "
        "dd/mm/yyyy dates, read day-first"
    )
    if file_units != units:
        warnings.append(
            f"line 1: the header says °{file_units}, which is used instead of the °{units} setting"
        )
    points: list[CsvPoint] = []
    start: datetime | None = None
    previous: datetime | None = None
    for number, cells in _data_rows(lines, end, warnings):
        if len(cells) != 2:
            raise ProfileCsvError(
                number, f"row has {len(cells)} cells; expected 2 in the 2012 format (date,setting)"
            )
        date_cell, temp_cell = cells
        date: datetime | None = None
        for fmt in _DAY_FIRST_FORMATS:
            try:
                date = datetime.strptime(date_cell, fmt)
                break
            except ValueError:
                pass
        if date is None:
            raise ProfileCsvError(
                number, f"date {date_cell!r} is not dd/mm/yyyy HH:MM:SS (the 2012 format's dates)"
            )
        if previous is not None and date < previous:
            raise ProfileCsvError(
                number,
                f"date {date_cell} goes backwards; the 2012 format has no days column, "
                "so the dates are the only timing",
            )
        start = start or date
        previous = date
        offset = (date - start).total_seconds() / 86400.0
        if offset > MAX_DAYS:
            raise ProfileCsvError(number, f"date {date_cell} is more than {MAX_DAYS:g} days after the first")
        points.append(CsvPoint(offset, _temperature(temp_cell, file_units, number)))
    if not points:
        raise ProfileCsvError(0, "no data rows after the header")
    return ImportedProfile(name=None, points=points, warnings=warnings)


# ---------------------------------------------------------------------------------------------
# export


def format_profile_csv(
    points: Sequence[CsvPoint], start: datetime, units: str = "C", name: str | None = None
) -> str:
    """Write `points` as BrewPi CSV: header `date,temperature,days[,name]`, one row per point.

    The date is `start + offset` in UTC as `YYYY-MM-DDTHH:MM:SS` (naive, to the nearest second,
    as BrewPi writes it); the temperature is in `units`, rounded to 2 decimals with trailing
    zeros trimmed (empty for None); days is the offset, trimmed (`0`, `1.5`). Lines end with
    "\\n". The result always re-imports with `parse_profile_csv(text, units)` to the same
    points within 0.01 °C. Raises ValueError for a naive `start`, bad `units`, a name with a
    line break, or points the importer would refuse (none, too many, negative, decreasing or
    too large offsets, temperatures outside -5..110 °C or not finite).
    """
    _check_units(units)
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be an aware datetime (UTC)")
    start_utc = start.astimezone(UTC).replace(tzinfo=None)
    if name is not None and ("\n" in name or "\r" in name):
        raise ValueError("profile name must be a single line")
    name = name.strip() or None if name is not None else None
    if not points:
        raise ValueError("a profile needs at least one point")
    if len(points) > MAX_ROWS:
        raise ValueError(f"a profile has at most {MAX_ROWS} points, not {len(points)}")

    rows: list[list[str]] = []
    previous = 0.0
    for index, point in enumerate(points):
        offset = point.offset_days
        if not math.isfinite(offset) or offset < 0 or offset > MAX_DAYS:
            raise ValueError(f"point {index}: offset_days {offset!r} is not in 0..{MAX_DAYS:g}")
        if offset < previous:
            raise ValueError(f"point {index}: offset_days {offset!r} is before the previous point")
        previous = offset
        temp = point.temperature_c
        if temp is None:
            temp_text = ""
        else:
            if not math.isfinite(temp) or not TEMP_MIN_C <= temp <= TEMP_MAX_C:
                raise ValueError(
                    f"point {index}: temperature {temp!r} °C is not in {TEMP_MIN_C:g}..{TEMP_MAX_C:g}"
                )
            temp_text = _trim(round(_from_c(temp, units), 2), 2)
        when = start_utc + timedelta(seconds=round(offset * 86400.0))
        rows.append([when.strftime("%Y-%m-%dT%H:%M:%S"), temp_text, _trim(offset + 0.0, 9)])

    lines = [",".join(HEADER) + ("" if name is None else "," + _quote(name))]
    lines.extend(",".join(row) for row in rows)
    return "\n".join(lines) + "\n"


def _quote(cell: str) -> str:
    """A CSV cell, quoted only if it holds a comma or a quote."""
    if any(ch in cell for ch in ',"'):
        return '"' + cell.replace('"', '""') + '"'
    return cell
