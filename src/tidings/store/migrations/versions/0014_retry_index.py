"""The retry sweep finds the vendor deliveries due again by a partial index of the pending
deliveries that have a next attempt, instead of walking every pending delivery.

Revision ID: 0014_retry_index
Revises: 0013_waiting_index
Create Date: 2026-12-07 04:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_retry_index"
down_revision = "0013_waiting_index"
branch_labels = None
depends_on = None

RETRYABLE = sa.text("status = 0 AND next_attempt_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_retries",
        "deliveries",
        ["status", "next_attempt_at"],
        sqlite_where=RETRYABLE,
        postgresql_where=RETRYABLE,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_retries", table_name="deliveries")
