"""Alarms (control.md "Alarms"), one job a module:

- `finding`: severities and `Finding`, what a rule hands the book;
- `book`: the latched state machine (`AlarmBook`, `AlarmRecord`, `AlarmChange`);
- `chamber_rules`: the per-chamber rules (`ChamberAlarmRules`, `AlarmLimits`, `ChamberTick`);
- `series_rules`: rules on ingested series (`SeriesRule`);
- `wire`: messages published on `alarms` from outside (`parse_alarm_publication`).

New code imports from those modules. The names are re-exported here so that code written
against the single `alarms` module (the control loop and runtime among it) keeps working.
"""

from .book import (
    ACTIVE_ACKNOWLEDGED,
    ACTIVE_UNACKNOWLEDGED,
    ALL,
    CLEARED,
    CLEARED_UNACKNOWLEDGED,
    AlarmBook,
    AlarmChange,
    AlarmRecord,
    ChangeEvent,
    alarm_state,
)
from .chamber_rules import CHAMBER_CODES, DAY_S, AlarmLimits, ChamberAlarmRules, ChamberTick
from .finding import ADVISORY, CRITICAL, SEVERITIES, WARNING, Finding
from .series_rules import SeriesRule
from .wire import (
    MAX_CODE_CHARS,
    MAX_ITEMS,
    MAX_MSG_CHARS,
    MAX_SOURCE_CHARS,
    Acknowledge,
    OutsideAlarm,
    parse_alarm_publication,
)

__all__ = [
    "ACTIVE_ACKNOWLEDGED",
    "ACTIVE_UNACKNOWLEDGED",
    "ADVISORY",
    "ALL",
    "CHAMBER_CODES",
    "CLEARED",
    "CLEARED_UNACKNOWLEDGED",
    "CRITICAL",
    "DAY_S",
    "MAX_CODE_CHARS",
    "MAX_ITEMS",
    "MAX_MSG_CHARS",
    "MAX_SOURCE_CHARS",
    "SEVERITIES",
    "WARNING",
    "Acknowledge",
    "AlarmBook",
    "AlarmChange",
    "AlarmLimits",
    "AlarmRecord",
    "ChamberAlarmRules",
    "ChamberTick",
    "ChangeEvent",
    "Finding",
    "OutsideAlarm",
    "SeriesRule",
    "alarm_state",
    "parse_alarm_publication",
]
