"""SQLAlchemy 2.0 models: the data model of design.md. Temperatures in °C, times in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; times are stored as UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    # Named constraints, so later migrations can alter them on SQLite (batch mode).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Setting(Base):
    __tablename__ = "setting"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[Any] = mapped_column(JSON)


class Controller(Base):
    __tablename__ = "controller"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(256), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    chambers: Mapped[list[Chamber]] = relationship(
        back_populates="controller", order_by="Chamber.id", cascade="all, delete-orphan", passive_deletes=True
    )


class Chamber(Base):
    __tablename__ = "chamber"
    __table_args__ = (UniqueConstraint("controller_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    controller_id: Mapped[int] = mapped_column(ForeignKey("controller.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="fermenter")
    mode: Mapped[str] = mapped_column(String(16), default="off")
    beer_setpoint: Mapped[float | None] = mapped_column(Float, nullable=True)
    fridge_setpoint: Mapped[float | None] = mapped_column(Float, nullable=True)
    tuning: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    alarm_limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("profile.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    profile_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    profile_paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    profile_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # an ingested series shown beside the temperatures (docs/ingest.md "Gravity beside temperature")
    gravity_series: Mapped[str | None] = mapped_column(String(64), nullable=True)
    controller: Mapped[Controller] = relationship(back_populates="chambers")
    devices: Mapped[list[Device]] = relationship(
        back_populates="chamber", order_by="Device.id", cascade="all, delete-orphan", passive_deletes=True
    )


class Device(Base):
    __tablename__ = "device"
    __table_args__ = (UniqueConstraint("chamber_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    chamber_id: Mapped[int] = mapped_column(ForeignKey("chamber.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    function: Mapped[str] = mapped_column(String(16))
    hardware: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(32))
    slot: Mapped[int | None] = mapped_column(Integer, nullable=True)
    invert: Mapped[bool] = mapped_column(Boolean, default=False)
    calibration_offset: Mapped[float] = mapped_column(Float, default=0.0)
    min_on_s: Mapped[int] = mapped_column(Integer, default=0)
    min_off_s: Mapped[int] = mapped_column(Integer, default=0)
    chamber: Mapped[Chamber] = relationship(back_populates="devices")


class Profile(Base):
    __tablename__ = "profile"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[list[ProfilePoint]] = relationship(
        order_by="ProfilePoint.position", cascade="all, delete-orphan", passive_deletes=True
    )
    steps: Mapped[list[ProfileStep]] = relationship(
        order_by="ProfileStep.position", cascade="all, delete-orphan", passive_deletes=True
    )


class ProfilePoint(Base):
    __tablename__ = "profile_point"
    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    offset_days: Mapped[float] = mapped_column(Float)
    temperature: Mapped[float | None] = mapped_column(Float, nullable=True)
    event: Mapped[str | None] = mapped_column(String(256), nullable=True)


class ProfileStep(Base):
    __tablename__ = "profile_step"
    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    temperature: Mapped[float] = mapped_column(Float)
    hold_min: Mapped[float] = mapped_column(Float)
    ramp_c_per_min: Mapped[float | None] = mapped_column(Float, nullable=True)
    confirm: Mapped[bool] = mapped_column(Boolean, default=False)


class Alarm(Base):
    __tablename__ = "alarm"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(128), index=True)
    code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class SeriesAlarmRule(Base):
    """Alarm rule on an ingested series (docs/control.md "Alarm rules on ingested series"):
    above / below a value (with hysteresis), or no sample for `stale_min`. None turns a
    condition off; one rule per series."""

    __tablename__ = "series_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(64), unique=True)
    above: Mapped[float | None] = mapped_column(Float, nullable=True)
    below: Mapped[float | None] = mapped_column(Float, nullable=True)
    hysteresis: Mapped[float] = mapped_column(Float, default=0.0)
    stale_min: Mapped[float | None] = mapped_column(Float, nullable=True)
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


LOG_LEVELS = ("debug", "info", "warning", "error")


class LogEntry(Base):
    __tablename__ = "log_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(8))  # one of LOG_LEVELS
    message: Mapped[str] = mapped_column(Text)


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


# -- history (docs/history.md) -----------------------------------------------------------
# Times are integer epoch milliseconds: 8 bytes at most, compared as integers on SQLite
# (no text dates to parse) and a plain BIGINT on PostgreSQL. The three tables keyed by
# (series, time) are SQLite WITHOUT ROWID tables: the rows are stored in key order, so a
# series' time range is one contiguous read and no separate index doubles the size.
SERIES_KINDS = ("measurement", "counter", "event", "state")
FRAMES_S = (60, 900, 3600, 86400)


class Series(Base):
    __tablename__ = "series"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    unit: Mapped[str] = mapped_column(String(16), default="")
    kind: Mapped[str] = mapped_column(String(16))  # one of SERIES_KINDS
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # raw samples before this (epoch ms) may have been pruned: older ones are refused, so a
    # late sample can never re-open a minute whose other samples are gone
    raw_from: Mapped[int] = mapped_column(BigInteger, default=0)
    # raw samples stored now: kept by the writes and deletes themselves, in their
    # transactions (history/store.py, history/retention.py), so nothing counts rows to show it
    samples: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Sample(Base):
    """One raw sample: a value (a recorded interval's mean, with its min and max when they
    differ from it) or a text (events, categorical states)."""

    __tablename__ = "sample"
    __table_args__ = (PrimaryKeyConstraint("series_id", "ts"), {"sqlite_with_rowid": False})
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    ts: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    min: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: the value itself
    max: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)


class Rollup(Base):
    """One time frame of a series (`frame` seconds from `start`, epoch ms, UTC-aligned)."""

    __tablename__ = "rollup"
    __table_args__ = (PrimaryKeyConstraint("series_id", "frame", "start"), {"sqlite_with_rowid": False})
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    frame: Mapped[int] = mapped_column(Integer)  # one of FRAMES_S
    start: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    mean: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)


class RollupPending(Base):
    """A minute with samples written since its frames were last rolled up. Written in the
    same transaction as the samples, deleted in the one that rolls the minute up: the
    roll-up task's whole state, so it resumes after any stop exactly where it was."""

    __tablename__ = "rollup_pending"
    __table_args__ = (PrimaryKeyConstraint("series_id", "start"), {"sqlite_with_rowid": False})
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(BigInteger)  # the minute's start, epoch ms
