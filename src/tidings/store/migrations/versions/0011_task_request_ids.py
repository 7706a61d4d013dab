"""The request id of the call that accepted each task, so the delivery failures logged long after
the answer name the request the caller was given (its ``RequestId``).

Revision ID: 0011_task_request_ids
Revises: 0010_live_activity_start_tokens
Create Date: 2026-12-06 06:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_task_request_ids"
down_revision = "0010_live_activity_start_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("request_id")
