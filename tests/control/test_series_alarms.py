"""`SeriesAlarms` on its own, after a restart: the stored rules are read, alarms still
active in the book are taken up with their hysteresis, and alarms of a rule deleted while
the server was down are cleared. (Through the server: tests/ingest/test_series_rules.py.)"""

from __future__ import annotations

from dataclasses import dataclass

from app.control.alarms.book import CLEARED_UNACKNOWLEDGED, AlarmBook
from app.control.series_alarms import SeriesAlarms
from app.db.engine import make_engine, make_sessionmaker, migrate
from app.db.models import SeriesAlarmRule

T0 = 1_800_000_000.0


@dataclass
class Reading:
    series: str
    ts_ms: int
    value: float | None
    unit: str | None = "SG"


class BookAlarms:
    """The alarm service's interface on a bare book (what is stored and published is not
    this test's concern)."""

    def __init__(self, book: AlarmBook) -> None:
        self.book = book

    def apply(self, source, findings):
        return self.book.apply(source, findings, T0)

    def clear_source(self, source):
        for alarm in self.book.active():
            if alarm.source == source:
                self.book.clear(source, alarm.code, T0)

    def active_codes(self, prefix):
        found: dict[str, set[str]] = {}
        for alarm in self.book.active():
            if alarm.source.startswith(prefix):
                found.setdefault(alarm.source, set()).add(alarm.code)
        return found


def sessions_with(tmp_path, *rules: SeriesAlarmRule):
    engine = make_engine(f"sqlite:///{tmp_path / 'db'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.add_all(rules)
    return sessions


def test_after_a_restart_an_active_alarm_is_held_through_its_hysteresis_and_an_orphan_is_cleared(tmp_path):
    sessions = sessions_with(
        tmp_path, SeriesAlarmRule(series="fv1/gravity", above=1.050, hysteresis=0.005, severity="warning")
    )
    book = AlarmBook()  # as rebuilt from the alarm table at start
    book.raise_("series::fv1/gravity", "above", "warning", "fv1/gravity at 1.06, above 1.05", T0)
    book.raise_("series::gone/gravity", "below", "warning", "a rule deleted while stopped", T0)
    alarms = SeriesAlarms(sessions, BookAlarms(book), clock=lambda: 100.0)
    alarms.start()
    assert book.get("series::gone/gravity", "below").state == CLEARED_UNACKNOWLEDGED
    assert book.get("series::fv1/gravity", "above").cleared_at is None

    alarms.record([Reading("fv1/gravity", 1, 1.047)])  # inside the hysteresis: held
    assert book.get("series::fv1/gravity", "above").cleared_at is None
    alarms.record([Reading("fv1/gravity", 2, 1.044)])
    assert book.get("series::fv1/gravity", "above").state == CLEARED_UNACKNOWLEDGED


def test_a_late_sample_is_not_judged_but_shows_the_series_alive(tmp_path):
    sessions = sessions_with(tmp_path, SeriesAlarmRule(series="fv1/gravity", below=1.000, stale_min=1))
    clock = {"now": 0.0}
    book = AlarmBook()
    alarms = SeriesAlarms(sessions, BookAlarms(book), clock=lambda: clock["now"])
    alarms.start()
    alarms.record([Reading("fv1/gravity", 10_000, 1.010)])
    clock["now"] = 50.0
    alarms.record([Reading("fv1/gravity", 5_000, 0.990)])  # a backlog, older than the last judged
    assert book.get("series::fv1/gravity", "below") is None
    clock["now"] = 100.0  # 50 s after the late one arrived: not stale
    alarms.check_stale()
    assert book.get("series::fv1/gravity", "stale") is None
    clock["now"] = 111.0
    alarms.check_stale()
    assert "no sample for 61 s" in book.get("series::fv1/gravity", "stale").message


def test_a_new_rule_judges_the_latest_sample_at_once(tmp_path):
    sessions = sessions_with(tmp_path, SeriesAlarmRule(series="fv1/gravity", above=1.050))
    book = AlarmBook()
    latest = {"fv1/gravity": Reading("fv1/gravity", 1, 1.061)}
    alarms = SeriesAlarms(sessions, BookAlarms(book), latest=latest.get, clock=lambda: 0.0)
    alarms.start()
    assert "at 1.061, above 1.05" in book.get("series::fv1/gravity", "above").message
