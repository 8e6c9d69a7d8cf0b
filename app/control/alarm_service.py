"""The server's alarm book: persisted in the `alarm` table, published on `alarms`.

Every transition from the book (raised, re-raised, acknowledged, cleared) is written to
the database first, by the one database writer off the loop, and then published as
`{"alarms": [...]}`, so a client never sees an alarm that a restart would lose. Outside
publications on `alarms` are checked before they are published (a bad one is refused with
an error naming the problem) and then acted on: `{"alarms": [{source, code, msg}]}`
raises, `{"acknowledge": true | [ids]}` acknowledges.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from ..db.models import Alarm
from ..db.writer import DbWriter
from ..pubsub.hub import Hub, Message
from .alarms.book import AlarmBook, AlarmChange
from .alarms.finding import Finding
from .alarms.wire import Acknowledge, parse_alarm_publication

log = logging.getLogger(__name__)
CHANNEL = "alarms"


def check_publication(data: Any) -> None:
    """Refuse (ValueError) anything on `alarms` that is not an alarm or acknowledge message."""
    parse_alarm_publication(data)


class AlarmService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        writer: DbWriter,
        hub: Hub,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._writer = writer
        self._pending_ids: dict[tuple[str, str, float], list[int | None]] = {}
        self.hub = hub
        self._clock = clock
        self.book = AlarmBook()

    def start(self) -> None:
        with self._sessions() as session:
            rows = session.scalars(
                select(Alarm).where(or_(Alarm.cleared_at.is_(None), Alarm.acknowledged_at.is_(None)))
            ).all()
            self.book = AlarmBook.from_records(rows)
        self.hub.external_checks[CHANNEL] = check_publication
        self.hub.subscribe(self, CHANNEL)

    def stop(self) -> None:
        self.hub.external_checks.pop(CHANNEL, None)
        self.hub.unsubscribe_all(self)

    # -- what the control loop and the REST API call ---------------------------------------
    def apply(self, source: str, findings: Mapping[str, Finding | None]) -> list[AlarmChange]:
        """Raise or clear a chamber's alarms from one evaluation of its rules."""
        return self._record(self.book.apply(source, findings, self._clock()))

    def clear_source(self, source: str) -> None:
        """Clear every alarm of a source that no longer exists (a deleted chamber)."""
        now = self._clock()
        self._record([self.book.clear(source, a.code, now) for a in self.book.active() if a.source == source])

    def active_codes(self, prefix: str) -> dict[str, set[str]]:
        """The codes active now (acknowledged or not) of each source starting with `prefix`."""
        found: dict[str, set[str]] = {}
        for alarm in self.book.active():
            if alarm.source.startswith(prefix):
                found.setdefault(alarm.source, set()).add(alarm.code)
        return found

    def acknowledge(self, ids: Iterable[int] | Literal["all"]) -> list[AlarmChange]:
        return self._record(self.book.acknowledge(ids, self._clock()))

    # -- the `alarms` channel ---------------------------------------------------------------
    def deliver(self, message: Message) -> None:
        # after this publication has reached every subscriber: our broadcast must follow it
        asyncio.get_running_loop().call_soon(self._handle, message)

    def _handle(self, message: Message) -> None:
        try:
            parsed = parse_alarm_publication(message.data)
        except ValueError as error:  # the server's own broadcasts always parse
            log.warning("alarms message %d ignored: %s", message.seq, error)
            return
        if isinstance(parsed, Acknowledge):
            self.acknowledge(parsed.ids)
        elif parsed:
            self._record(self.book.raise_outside(parsed, self._clock()))

    def _record(self, changes: Iterable[AlarmChange | None]) -> list[AlarmChange]:
        """Store the changes through the writer, then publish them with their ids; returns
        them as they stand now (a newly raised alarm's id is None until it is stored)."""
        done = [change for change in changes if change is not None]
        if not done:
            return []
        slots = [self._id_slot(change) for change in done]
        self._writer.enqueue("alarms", lambda session: _store(session, done, slots), self._stored(done))
        return done

    def _id_slot(self, change: AlarmChange) -> list[int | None]:
        """A holder shared by every change of one alarm until its row exists, so a clear
        queued behind the raise updates the raise's row (the writer fills it in order)."""
        alarm = change.alarm
        key = (alarm.source, alarm.code, alarm.raised_at)
        if change.id is not None:
            return [change.id]
        return self._pending_ids.setdefault(key, [None])

    def _stored(self, done: list[AlarmChange]) -> Callable[[list[int]], None]:
        def publish(ids: list[int]) -> None:
            stored = []
            for change, alarm_id in zip(done, ids, strict=True):
                if change.id is None:
                    change = self.book.assign_id(change, alarm_id)
                    alarm = change.alarm
                    self._pending_ids.pop((alarm.source, alarm.code, alarm.raised_at), None)
                stored.append(change)
                log.info(
                    "alarm %s %s/%s: %s",
                    change.event,
                    change.alarm.source,
                    change.alarm.code,
                    change.alarm.message,
                )
            self.hub.publish(CHANNEL, {"alarms": [change.as_message() for change in stored]})

        return publish


def _store(session: Session, changes: list[AlarmChange], slots: list[list[int | None]]) -> list[int]:
    """On the writer's thread: insert or update each change's row; the ids, in order."""
    ids = []
    for change, slot in zip(changes, slots, strict=True):
        row = session.get(Alarm, slot[0]) if slot[0] is not None else None
        if row is None:  # new, or its insert was rolled back by a failed try
            row = Alarm(**change.row_values())
            session.add(row)
            session.flush()
            slot[0] = row.id
        else:
            for name, value in change.row_values().items():
                setattr(row, name, value)
        ids.append(row.id)
    return ids
