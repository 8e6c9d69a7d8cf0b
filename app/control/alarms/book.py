"""The alarm book (control.md "Alarms"): the latched state machine of every listed alarm.

Pure Python and clock free: every call takes `now`, wall time (epoch seconds, UTC), the
stamp stored and published on the alarm (the rules measure their delays on a monotonic
clock instead; see `chamber_rules`). Nothing here stores or publishes; the book returns an
`AlarmChange` for every transition and the caller persists it (`change.row_values()`, the
`Alarm` table's columns) and then publishes `{"alarms": [change.as_message(), ...]}`.

One alarm per (source, code) at a time. Its state follows from two times:

    acknowledged_at  cleared_at   state
    None             None         active_unacknowledged
    set              None         active_acknowledged
    None             set          cleared_unacknowledged  (latched: still listed, still to acknowledge)
    set              set          cleared                 (archived: leaves the book)

Raising an alarm that is already active changes nothing; raising one that is latched
(cleared, unacknowledged) makes that same alarm active again, with the same id.

Ids come from the caller's database. A newly raised alarm comes out with `id=None`; the
caller inserts the row and calls `book.assign_id(change, row.id)`, which records the id and
returns the change with it, ready to publish. Later changes of that alarm carry the id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from .finding import WARNING, Finding, check_severity

if TYPE_CHECKING:
    from .wire import OutsideAlarm

ACTIVE_UNACKNOWLEDGED = "active_unacknowledged"
ACTIVE_ACKNOWLEDGED = "active_acknowledged"
CLEARED_UNACKNOWLEDGED = "cleared_unacknowledged"
CLEARED = "cleared"

ALL: Literal["all"] = "all"  # acknowledge every alarm in the book


def _iso(epoch_s: float) -> str:
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _utc(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, tz=UTC)


def _epoch(value: datetime | float | None) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime in an alarm record; times are UTC")
    return value.timestamp()


def alarm_state(acknowledged_at: object | None, cleared_at: object | None) -> str:
    """The state the two times give (the table in the module doc); times of any kind."""
    if cleared_at is None:
        return ACTIVE_UNACKNOWLEDGED if acknowledged_at is None else ACTIVE_ACKNOWLEDGED
    return CLEARED_UNACKNOWLEDGED if acknowledged_at is None else CLEARED


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm as it stands; field names match the `Alarm` table (times as epoch s)."""

    id: int | None  # None until the caller has stored it and called `assign_id`
    source: str
    code: str
    severity: str
    message: str
    raised_at: float
    acknowledged_at: float | None = None
    cleared_at: float | None = None

    @property
    def state(self) -> str:
        return alarm_state(self.acknowledged_at, self.cleared_at)

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.code)

    def as_message(self) -> dict[str, Any]:
        """The item of `{"alarms": [...]}` on the `alarms` channel."""
        return {
            "id": self.id,
            "source": self.source,
            "code": self.code,
            "severity": self.severity,
            "msg": self.message,
            "state": self.state,
            "raised_at": _iso(self.raised_at),
        }

    def row_values(self) -> dict[str, Any]:
        """Column values for the `Alarm` table (aware UTC datetimes); the id is the table's."""
        return {
            "source": self.source,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "raised_at": _utc(self.raised_at),
            "acknowledged_at": _utc(self.acknowledged_at),
            "cleared_at": _utc(self.cleared_at),
        }


ChangeEvent = Literal["raised", "reraised", "acknowledged", "cleared"]


@dataclass(frozen=True)
class AlarmChange:
    """One transition: `event` says what happened, `alarm` is the alarm after it.

    `raised` is a new alarm (insert a row; its id is None until `assign_id`); the other
    events update the row with `alarm.id`.
    """

    event: ChangeEvent
    alarm: AlarmRecord

    @property
    def id(self) -> int | None:
        return self.alarm.id

    @property
    def state(self) -> str:
        return self.alarm.state

    def as_message(self) -> dict[str, Any]:
        return self.alarm.as_message()

    def row_values(self) -> dict[str, Any]:
        return self.alarm.row_values()


def _field(record: Any, name: str) -> Any:
    return record[name] if isinstance(record, Mapping) else getattr(record, name)


class AlarmBook:
    """The alarms not yet archived, one per (source, code), in memory."""

    def __init__(self) -> None:
        self._alarms: dict[tuple[str, str], AlarmRecord] = {}

    @classmethod
    def from_records(cls, records: Iterable[Any]) -> AlarmBook:
        """Rebuild from stored rows (`Alarm` objects, `AlarmRecord`s or mappings with the
        same names; times as aware datetimes or epoch seconds). Archived rows (cleared and
        acknowledged) are skipped; of two open rows for one (source, code) the later
        raised one is kept."""
        book = cls()
        for record in records:
            alarm = AlarmRecord(
                id=_field(record, "id"),
                source=_field(record, "source"),
                code=str(_field(record, "code")),
                severity=_field(record, "severity"),
                message=_field(record, "message"),
                raised_at=_epoch(_field(record, "raised_at")) or 0.0,
                acknowledged_at=_epoch(_field(record, "acknowledged_at")),
                cleared_at=_epoch(_field(record, "cleared_at")),
            )
            if alarm.state == CLEARED:
                continue
            kept = book._alarms.get(alarm.key)
            if kept is None or alarm.raised_at >= kept.raised_at:
                book._alarms[alarm.key] = alarm
        return book

    def get(self, source: str, code: str | int) -> AlarmRecord | None:
        return self._alarms.get((source, str(code)))

    def entries(self) -> list[AlarmRecord]:
        """Every alarm still listed (active or latched), oldest first."""
        return sorted(self._alarms.values(), key=lambda alarm: alarm.raised_at)

    def active(self) -> list[AlarmRecord]:
        """The alarms whose condition still holds, acknowledged or not, oldest first."""
        return [alarm for alarm in self.entries() if alarm.cleared_at is None]

    def raise_(self, source: str, code: str | int, severity: str, msg: str, now: float) -> AlarmChange | None:
        """The condition holds. A new alarm, or a latched one made active again; None when
        it is already active (no duplicate, no churn)."""
        check_severity(severity)
        key = (source, str(code))
        alarm = self._alarms.get(key)
        if alarm is None:
            alarm = AlarmRecord(None, source, key[1], severity, msg, raised_at=now)
            return self._store("raised", alarm)
        if alarm.state == CLEARED_UNACKNOWLEDGED:
            alarm = replace(alarm, severity=severity, message=msg, raised_at=now, cleared_at=None)
            return self._store("reraised", alarm)
        return None

    def raise_event(
        self, source: str, code: str | int, severity: str, msg: str, now: float
    ) -> AlarmChange | None:
        """Something happened that nothing will clear (an alarm published from outside):
        it is raised already cleared, so it stays listed (`cleared_unacknowledged`) until
        acknowledged, then is archived. None when that (source, code) is already listed."""
        check_severity(severity)
        if (source, str(code)) in self._alarms:
            return None
        return self._store("raised", AlarmRecord(None, source, str(code), severity, msg, now, cleared_at=now))

    def raise_outside(self, alarms: Iterable[OutsideAlarm], now: float) -> list[AlarmChange]:
        """Raise alarms published from outside (see `parse_alarm_publication`) as events."""
        changes = (self.raise_event(a.source, a.code, WARNING, a.msg, now) for a in alarms)
        return [change for change in changes if change is not None]

    def clear(self, source: str, code: str | int, now: float) -> AlarmChange | None:
        """The condition went away: latched when unacknowledged, archived when acknowledged."""
        alarm = self._alarms.get((source, str(code)))
        if alarm is None or alarm.cleared_at is not None:
            return None
        return self._store("cleared", replace(alarm, cleared_at=now))

    def acknowledge(self, ids: Iterable[int] | Literal["all"], now: float) -> list[AlarmChange]:
        """Acknowledge the alarms with these ids, or every listed alarm with `ALL`. Unknown or
        already acknowledged ids are ignored. A latched alarm acknowledged is archived."""
        wanted = None if ids == ALL else set(ids)
        changes = []
        for alarm in self.entries():
            if alarm.acknowledged_at is not None:
                continue
            if wanted is not None and (alarm.id is None or alarm.id not in wanted):
                continue
            changes.append(self._store("acknowledged", replace(alarm, acknowledged_at=now)))
        return changes

    def assign_id(self, change: AlarmChange, alarm_id: int) -> AlarmChange:
        """Record the database id of a newly raised alarm; returns the change carrying it."""
        current = self._alarms.get(change.alarm.key)
        if current is not None and current.id is None:
            self._alarms[current.key] = replace(current, id=alarm_id)
        return replace(change, alarm=replace(change.alarm, id=alarm_id))

    def apply(self, source: str, findings: Mapping[str, Finding | None], now: float) -> list[AlarmChange]:
        """Raise each finding, clear each code mapped to None; codes not in `findings` are
        left as they are (their rule could not be evaluated this tick)."""
        changes = []
        alarms = self._alarms
        for code, finding in findings.items():
            if finding is None:
                if (source, code) not in alarms:  # the usual case, every tick: nothing to clear
                    continue
                change = self.clear(source, code, now)
            else:
                change = self.raise_(source, code, finding.severity, finding.message, now)
            if change is not None:
                changes.append(change)
        return changes

    def _store(self, event: ChangeEvent, alarm: AlarmRecord) -> AlarmChange:
        if alarm.state == CLEARED:
            self._alarms.pop(alarm.key, None)
        else:
            self._alarms[alarm.key] = alarm
        return AlarmChange(event, alarm)
