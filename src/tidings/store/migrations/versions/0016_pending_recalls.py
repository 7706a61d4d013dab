"""A vendor recall is written as asked (recall_due_at) before the vendor is asked, and settled
when it answers, so a process that dies in between leaves it for the recall sweep to ask again
instead of marked recalled; a partial index finds those whose asker's lease ran out.

Revision ID: 0016_pending_recalls
Revises: 0015_open_expiry_index
Create Date: 2026-12-07 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_pending_recalls"
down_revision = "0015_open_expiry_index"
branch_labels = None
depends_on = None

RECALLING = sa.text("recall_due_at IS NOT NULL")


def upgrade() -> None:
    # A nullable column without a default: both databases add it without rewriting the table.
    op.add_column("deliveries", sa.Column("recall_due_at", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_deliveries_recalls",
        "deliveries",
        ["recall_due_at"],
        sqlite_where=RECALLING,
        postgresql_where=RECALLING,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_recalls", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("recall_due_at")
