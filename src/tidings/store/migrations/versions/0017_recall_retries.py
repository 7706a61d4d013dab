"""A vendor that could not be reached for a recall is asked again, less and less often, from
when the recall was first asked (recall_asked_at), and the message trace tells what each vendor
answered to a recall (delivery_events.recall: refused, unreached, given_up).

Revision ID: 0017_recall_retries
Revises: 0016_pending_recalls
Create Date: 2026-12-07 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_recall_retries"
down_revision = "0016_pending_recalls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns without a default: both databases add them without rewriting the table.
    op.add_column("deliveries", sa.Column("recall_asked_at", sa.BigInteger(), nullable=True))
    op.add_column("delivery_events", sa.Column("recall", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_events") as batch:
        batch.drop_column("recall")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("recall_asked_at")
