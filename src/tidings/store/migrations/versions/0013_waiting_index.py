"""Deliveries waiting for a user's device are found by a partial index of the waiting rows only,
instead of an index over every delivery's user id.

Revision ID: 0013_waiting_index
Revises: 0012_sms_supplement
Create Date: 2026-12-06 06:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_waiting_index"
down_revision = "0012_sms_supplement"
branch_labels = None
depends_on = None

WAITING = sa.text("status = 1")


def upgrade() -> None:
    op.drop_index("ix_deliveries_app_pk_user_id_status", table_name="deliveries")
    op.create_index(
        "ix_deliveries_waiting_by_user",
        "deliveries",
        ["app_pk", "user_id", "status"],
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_waiting_by_user", table_name="deliveries")
    op.create_index(
        "ix_deliveries_app_pk_user_id_status", "deliveries", ["app_pk", "user_id", "status"]
    )
