"""chamber.gravity_series: an ingested series linked to a chamber, shown beside its temperatures

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chamber", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gravity_series", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chamber", schema=None) as batch_op:
        batch_op.drop_column("gravity_series")
