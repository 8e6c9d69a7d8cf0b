"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 15:11:34.197640
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm")),
    )
    with op.batch_alter_table("alarm", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alarm_source"), ["source"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("hash", name=op.f("uq_api_token_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_token_name")),
    )
    op.create_table(
        "controller",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_controller")),
        sa.UniqueConstraint("name", name=op.f("uq_controller_name")),
    )
    op.create_table(
        "log_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_entry")),
    )
    with op.batch_alter_table("log_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_entry_ts"), ["ts"], unique=False)

    op.create_table(
        "profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile")),
        sa.UniqueConstraint("name", name=op.f("uq_profile_name")),
    )
    op.create_table(
        "setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setting")),
        sa.UniqueConstraint("name", name=op.f("uq_setting_name")),
    )
    op.create_table(
        "chamber",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("controller_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("beer_setpoint", sa.Float(), nullable=True),
        sa.Column("fridge_setpoint", sa.Float(), nullable=True),
        sa.Column("tuning", sa.JSON(), nullable=False),
        sa.Column("alarm_limits", sa.JSON(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("profile_started_at", sa.DateTime(), nullable=True),
        sa.Column("profile_paused_at", sa.DateTime(), nullable=True),
        sa.Column("profile_state", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["controller_id"],
            ["controller.id"],
            name=op.f("fk_chamber_controller_id_controller"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profile.id"], name=op.f("fk_chamber_profile_id_profile"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chamber")),
        sa.UniqueConstraint("controller_id", "name", name=op.f("uq_chamber_controller_id")),
    )
    with op.batch_alter_table("chamber", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chamber_controller_id"), ["controller_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chamber_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "profile_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("offset_days", sa.Float(), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("event", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profile.id"],
            name=op.f("fk_profile_point_profile_id_profile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_point")),
    )
    with op.batch_alter_table("profile_point", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profile_point_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "profile_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=False),
        sa.Column("hold_min", sa.Float(), nullable=False),
        sa.Column("ramp_c_per_min", sa.Float(), nullable=True),
        sa.Column("confirm", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profile.id"],
            name=op.f("fk_profile_step_profile_id_profile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_step")),
    )
    with op.batch_alter_table("profile_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profile_step_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chamber_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("function", sa.String(length=16), nullable=False),
        sa.Column("hardware", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("invert", sa.Boolean(), nullable=False),
        sa.Column("calibration_offset", sa.Float(), nullable=False),
        sa.Column("min_on_s", sa.Integer(), nullable=False),
        sa.Column("min_off_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chamber_id"], ["chamber.id"], name=op.f("fk_device_chamber_id_chamber"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint("chamber_id", "name", name=op.f("uq_device_chamber_id")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_chamber_id"), ["chamber_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_chamber_id"))

    op.drop_table("device")
    with op.batch_alter_table("profile_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_step_profile_id"))

    op.drop_table("profile_step")
    with op.batch_alter_table("profile_point", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_point_profile_id"))

    op.drop_table("profile_point")
    with op.batch_alter_table("chamber", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chamber_profile_id"))
        batch_op.drop_index(batch_op.f("ix_chamber_controller_id"))

    op.drop_table("chamber")
    op.drop_table("setting")
    op.drop_table("profile")
    with op.batch_alter_table("log_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_entry_ts"))

    op.drop_table("log_entry")
    op.drop_table("controller")
    op.drop_table("api_token")
    with op.batch_alter_table("alarm", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alarm_source"))

    op.drop_table("alarm")
