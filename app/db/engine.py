"""Engine and sessions. SQLite runs with WAL and foreign keys on; the schema is migrated
by Alembic at start so an appliance upgrades in place."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:  # Alembic is imported only when there is a migration to run
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
VERSIONS = MIGRATIONS / "versions"


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir).resolve() / 'db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # before WAL: only a database without pages takes it; an older one is converted once by
    # migrate(). Lets history retention give deleted pages back to the file system.
    # Only on a file without pages: set on every connection of a used database, a write got
    # through while another program held BEGIN IMMEDIATE (test_rest_writes_off_loop.py);
    # why was not run down. An older database is converted once by migrate().
    if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:
        cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a power cut loses at most the last commit
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# PostgreSQL waits for a lock as long as SQLite's busy_timeout does, then refuses the
# statement (is_locked: the REST API answers 503, the writer tries again), instead of
# waiting for ever behind another program's LOCK TABLE or long transaction.
PG_LOCK_TIMEOUT_MS = 5000


def make_engine(url: str) -> Engine:
    """SQLite (the default) or PostgreSQL (`postgresql://` runs on psycopg 3)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("postgresql"):
        # pre-ping: a PostgreSQL restarted under a running appliance costs one failed
        # checkout, not a failed write per pooled connection
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"options": f"-c lock_timeout={PG_LOCK_TIMEOUT_MS} -c timezone=UTC"},
        )
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration's revision id, from the file names alone.

    Migrations are named `<revision>_<slug>.py` with zero-padded numeric revision ids, one
    after the other (tests/db/test_migrations.py holds every file to it and checks the
    result against Alembic's own head), so the start needs no Alembic to know it."""
    names = [path.name for path in VERSIONS.glob("[0-9]*_*.py")]
    return max(name.split("_", 1)[0] for name in names)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at: None when it has none, or more than one head."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it in an empty database).

    Alembic, its DDL for every dialect and its templating cost about 10 MiB of resident
    memory to import; a database already at the head (every start but the first after an
    install or an upgrade) is told by one query and never loads it."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    from alembic import command

    log.info("migrating the database schema from revision %s to %s", current or "(none)", head)
    command.upgrade(alembic_config(engine), "head")
    if engine.dialect.name == "sqlite":
        _incremental_vacuum_on(engine)


def _incremental_vacuum_on(engine: Engine) -> None:
    """A database made before history recording has auto_vacuum off, and SQLite switches it
    only with a full VACUUM: done once here, at start, before anything is served. Such a
    database holds configuration, logs and alarms (megabytes, a second or two on a Pi); a
    VACUUM that fails (a full disk, another program's lock) leaves it as it was."""
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA auto_vacuum").scalar()
        if mode == INCREMENTAL or engine.url.database in (None, "", ":memory:"):
            return
        log.info("switching the database to incremental vacuum (a one-time VACUUM)")
        try:
            connection.exec_driver_sql("PRAGMA auto_vacuum=INCREMENTAL")
            connection.exec_driver_sql("VACUUM")
        except Exception as error:  # the server runs as before; the file just does not shrink
            log.warning("the one-time VACUUM failed (%s); deleted history pages are reused, not freed", error)


INCREMENTAL = 2  # PRAGMA auto_vacuum's value for INCREMENTAL


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def database_bytes(session: Session) -> tuple[int | None, int | None]:
    """(the database's size, of which the WAL) in bytes: for SQLite the file and its WAL
    (the `-shm` index is not data), for PostgreSQL `pg_database_size` (WAL is the
    cluster's, not the database's: None). (None, None) for an in-memory SQLite. File
    system or database work: call it off the IOLoop."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        size = connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
        return int(size or 0), None
    path = connection.engine.url.database
    if dialect != "sqlite" or path in (None, "", ":memory:"):
        return None, None
    main = os.path.getsize(path)
    wal = os.path.getsize(f"{path}-wal") if os.path.exists(f"{path}-wal") else 0
    return main + wal, wal
