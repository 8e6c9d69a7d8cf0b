"""series: the count of raw samples each holds, kept by the writes instead of counted

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("series", sa.Column("samples", sa.BigInteger(), server_default="0", nullable=False))
    # counted once here; from now on every write and delete of samples keeps it
    op.execute("UPDATE series SET samples = (SELECT count(*) FROM sample WHERE sample.series_id = series.id)")


def downgrade() -> None:
    with op.batch_alter_table("series") as batch_op:
        batch_op.drop_column("samples")
