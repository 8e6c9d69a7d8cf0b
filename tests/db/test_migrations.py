"""Alembic migrations: an empty database is brought to the newest schema, and the models
and migrations never drift apart (a model change without its migration fails here)."""

import re
import shutil
from pathlib import Path

import alembic.command
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db import engine as db_engine
from app.db.engine import MIGRATIONS, current_revision, head_revision, make_engine, migrate
from app.db.models import Base


def test_empty_database_migrates_to_the_full_schema_and_again_is_a_no_op(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert MigrationContext.configure(connection).get_current_revision() is not None


def test_migrations_match_the_models(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_foreign_keys_are_enforced(db_url):
    engine = make_engine(db_url)
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


def test_the_head_is_read_from_the_file_names_as_alembic_finds_it():
    """migrate() tells a current database without Alembic, from the migrations' file names:
    every migration must be named `<revision>_<slug>.py` with a 4-digit revision."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS))
    assert scripts.get_heads() == [head_revision()]
    for script in scripts.walk_revisions():
        assert re.fullmatch(r"\d{4}", script.revision), script.revision
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path


def test_a_database_at_the_head_is_not_handed_to_alembic(db_url, monkeypatch):
    engine = make_engine(db_url)
    migrate(engine)
    assert current_revision(engine) == head_revision()

    def refuse(*_args):
        raise AssertionError("Alembic ran on a database already at the head")

    monkeypatch.setattr(alembic.command, "upgrade", refuse)
    migrate(engine)


def test_a_database_behind_the_head_is_upgraded(tmp_path, db_url, monkeypatch):
    """An appliance upgraded in place: the database is at the old head, a new migration
    arrived with the software, and the next start applies it."""
    engine = make_engine(db_url)
    migrate(engine)
    old_head = head_revision()
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    new_head = f"{int(old_head) + 1:04d}"
    (migrations / "versions" / f"{new_head}_add_a_table.py").write_text(
        f'''"""add a table"""

import sqlalchemy as sa
from alembic import op

revision = "{new_head}"
down_revision = "{old_head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("added_later", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("added_later")
''',
        encoding="utf-8",
    )
    monkeypatch.setattr(db_engine, "MIGRATIONS", migrations)
    monkeypatch.setattr(db_engine, "VERSIONS", migrations / "versions")
    assert head_revision() == new_head
    migrate(engine)
    assert current_revision(engine) == new_head
    assert "added_later" in sa.inspect(engine).get_table_names()


def test_a_history_database_from_0002_gets_each_series_sample_count_once(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db'}")
    alembic.command.upgrade(db_engine.alembic_config(engine), "0002")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO series (id, name, unit, kind, created_at, raw_from) VALUES "
            "(1, 'a', '', 'measurement', '2026-01-01 00:00:00', 0), "
            "(2, 'b', '', 'event', '2026-01-01 00:00:00', 0), "
            "(3, 'empty', '', 'measurement', '2026-01-01 00:00:00', 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO sample (series_id, ts, value, text) VALUES "
            "(1, 1, 1.0, NULL), (1, 2, 2.0, NULL), (1, 3, 3.0, NULL), (2, 1, NULL, 'x')"
        )
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        counts = connection.exec_driver_sql("SELECT name, samples FROM series ORDER BY name").all()
    assert counts == [("a", 3), ("b", 1), ("empty", 0)]
