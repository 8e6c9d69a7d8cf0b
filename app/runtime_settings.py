"""Runtime settings the UI changes, stored in the `setting` table. Declared once here
(name, type, default, help); the API, its validation and the OpenAPI document read this table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .db.models import Setting


@dataclass(frozen=True)
class SettingSpec:
    name: str
    type: Any
    default: Any
    help: str

    @property
    def adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.type)


SPECS: dict[str, SettingSpec] = {
    spec.name: spec
    for spec in (
        SettingSpec("units", Literal["C", "F"], "C", "Temperature unit shown in the client and used by CSV."),
        SettingSpec("theme", Literal["dark", "light"], "dark", "Client colour theme."),
        SettingSpec(
            "logo",
            Annotated[str, Field(max_length=64 * 1024)],
            "",
            "Brewery logo: an image URL or a data: URL (at most 64 KiB).",
        ),
        SettingSpec(
            "brewery_name", Annotated[str, Field(max_length=64)], "My brewery", "Shown in the title bar."
        ),
        SettingSpec(
            "tick_period_s",
            Annotated[float, Field(ge=0.5, le=60, strict=True)],
            1.0,
            "Control loop period per chamber, in seconds.",
        ),
        SettingSpec(
            "public_read",
            StrictBool,
            True,
            "Reads (REST GET, WebSocket subscribe) allowed without logging in, for a wall tablet.",
        ),
        SettingSpec(
            "log_keep_days",
            Annotated[int, Field(ge=1, le=3650, strict=True)],
            30,
            "Stored log entries older than this many days are deleted (checked every hour).",
        ),
        SettingSpec(
            "log_keep_rows",
            Annotated[int, Field(ge=100, le=10_000_000, strict=True)],
            100_000,
            "At most this many log entries are kept; the oldest beyond it are deleted.",
        ),
        SettingSpec(
            "alarm_keep_days",
            Annotated[int, Field(ge=1, le=3650, strict=True)],
            365,
            "Archived alarms (acknowledged and cleared) are deleted this many days after both "
            "happened. Active or unacknowledged alarms are never deleted.",
        ),
        SettingSpec(
            "alarm_keep_rows",
            Annotated[int, Field(ge=10, le=1_000_000, strict=True)],
            10_000,
            "At most this many archived alarms are kept; the oldest beyond it are deleted.",
        ),
        SettingSpec(
            "history_interval_s",
            Annotated[float, Field(ge=1, le=3600, strict=True)],
            10.0,
            "Each chamber's readings are recorded as one sample per this many seconds: the mean "
            "of the ticks in the interval, with their min and max. Applies from the next interval.",
        ),
        SettingSpec(
            "history_raw_days",
            Annotated[int, Field(ge=1, le=3650, strict=True)],
            30,
            "Raw history samples older than this many days are deleted once rolled up into time "
            "frames; older samples sent in are refused. Checked every hour.",
        ),
        SettingSpec(
            "history_rollup_days",
            Annotated[int, Field(ge=1, le=36500, strict=True)],
            3650,
            "History roll-ups (1 min, 15 min, 1 h, 1 day frames) and events are kept this many "
            "days (never fewer than history_raw_days).",
        ),
    )
}


class UnknownSetting(KeyError):
    pass


class SettingsStore:
    """The current values, cached in memory; writes go to the database first."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._values: dict[str, Any] = {}

    def load(self) -> None:
        with self._sessions() as session:
            stored = {row.name: row.value for row in session.scalars(select(Setting))}
        self._values = {name: stored.get(name, spec.default) for name, spec in SPECS.items()}

    def get(self, name: str) -> Any:
        if name not in SPECS:
            raise UnknownSetting(name)
        return self._values.get(name, SPECS[name].default)

    def all(self) -> dict[str, Any]:
        return {name: self.get(name) for name in SPECS}

    @staticmethod
    def validate(name: str, value: Any) -> Any:
        """The value in its stored form, or ValidationError; UnknownSetting for a bad name."""
        if name not in SPECS:
            raise UnknownSetting(name)
        return SPECS[name].adapter.validate_python(value)

    def write(self, session: Session, values: dict[str, Any]) -> None:
        """Stage validated values in `session`; call `committed` after the commit."""
        for name, value in values.items():
            row = session.scalar(select(Setting).where(Setting.name == name))
            if row is None:
                session.add(Setting(name=name, value=value))
            else:
                row.value = value

    def committed(self, values: dict[str, Any]) -> None:
        self._values.update(values)


__all__ = ["SPECS", "SettingsStore", "UnknownSetting", "ValidationError"]
