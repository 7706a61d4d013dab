"""The expiry sweep and /metrics find the open deliveries by a partial index of those only,
instead of an index of every delivery's status and expiry.

Revision ID: 0015_open_expiry_index
Revises: 0014_retry_index
Create Date: 2026-12-07 05:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_open_expiry_index"
down_revision = "0014_retry_index"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 0 OR status = 1")


def upgrade() -> None:
    op.drop_index("ix_deliveries_status_expires_at", table_name="deliveries")
    op.create_index(
        "ix_deliveries_open_by_expiry",
        "deliveries",
        ["status", "expires_at"],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_open_by_expiry", table_name="deliveries")
    op.create_index("ix_deliveries_status_expires_at", "deliveries", ["status", "expires_at"])
