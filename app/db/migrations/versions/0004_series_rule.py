"""series_rule: alarm rules on ingested series (above, below, stale)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "series_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=64), nullable=False),
        sa.Column("above", sa.Float(), nullable=True),
        sa.Column("below", sa.Float(), nullable=True),
        sa.Column("hysteresis", sa.Float(), nullable=False),
        sa.Column("stale_min", sa.Float(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_rule")),
        sa.UniqueConstraint("series", name=op.f("uq_series_rule_series")),
    )


def downgrade() -> None:
    op.drop_table("series_rule")
