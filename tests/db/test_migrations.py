"""Alembic migrations: an empty database is brought to the newest schema, and the models
and migrations never drift apart (a model change without its migration fails here)."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db.engine import make_engine, migrate
from app.db.models import Base


def test_empty_database_migrates_to_the_full_schema_and_again_is_a_no_op(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db'}")
    migrate(engine)
    migrate(engine)
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert MigrationContext.configure(connection).get_current_revision() is not None


def test_migrations_match_the_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db'}")
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_foreign_keys_are_enforced(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db'}")
    migrate(engine)
    with engine.connect() as connection:
        try:
            connection.exec_driver_sql(
                "INSERT INTO chamber (controller_id, name, kind, mode, tuning, alarm_limits, profile_state) "
                "VALUES (999, 'orphan', 'fermenter', 'off', '{}', '{}', '{}')"
            )
        except sa.exc.IntegrityError:
            return
    raise AssertionError("a chamber without its controller was accepted")


def test_a_new_database_has_incremental_vacuum(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db'}")
    migrate(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 2  # INCREMENTAL


def test_a_database_from_before_history_is_switched_to_incremental_vacuum_once(tmp_path, caplog):
    import sqlite3

    path = tmp_path / "db"
    old = sqlite3.connect(path)  # as version 0001 left it: auto_vacuum off, WAL, some rows
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE filler (x TEXT)")
    old.executemany("INSERT INTO filler VALUES (?)", [("x" * 100,)] * 1000)
    old.commit()
    old.close()
    engine = make_engine(f"sqlite:///{path}")
    with caplog.at_level("INFO", logger="app.db.engine"):
        migrate(engine)
    assert "one-time VACUUM" in caplog.text
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 2
        assert connection.exec_driver_sql("SELECT count(*) FROM filler").scalar() == 1000
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    caplog.clear()
    with caplog.at_level("INFO", logger="app.db.engine"):
        migrate(engine)
    assert "VACUUM" not in caplog.text  # once
