"""The message trace finds a message's webhook events by their message_pk, an index that grows
in the order events are written, instead of by an index of (endpoint_pk, msg_key), where each
event's random msgKey landed at a random place (store/tables.py).

Rows written before keep their msgKey and are given the pk of the newest message their app sent
under it: the trace looks for the rows of every message the app sent under a msgKey, so they are
traced as before.

Revision ID: 0018_outbox_message_index
Revises: 0017_recall_retries
Create Date: 2026-12-08 00:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_outbox_message_index"
down_revision = "0017_recall_retries"
branch_labels = None
depends_on = None

# One join of the outbox with the newest message of each (endpoint, msgKey), not a subquery per
# outbox row: the messages' only index by msgKey leads with (app_pk, day), so each row's
# subquery walked its app's every message: 20,000 rows beside 5,000 messages took 70 s on
# SQLite, 38 s on PostgreSQL, growing with their product (1,000,000 beside 250,000: days); so
# joined, 0.3 and 2.2 s, and 1,000,000 beside 250,000 7.4 s of CPU on SQLite. UPDATE ... FROM
# is in both databases (SQLite since 3.33; Tidings needs 3.38).
BACKFILL = sa.text(
    "UPDATE webhook_outbox SET message_pk = newest.pk FROM ("
    " SELECT webhook_endpoints.pk AS endpoint_pk, messages.msg_key, max(messages.pk) AS pk"
    " FROM messages JOIN webhook_endpoints ON webhook_endpoints.app_pk = messages.app_pk"
    " GROUP BY webhook_endpoints.pk, messages.msg_key) AS newest"
    " WHERE newest.endpoint_pk = webhook_outbox.endpoint_pk"
    " AND newest.msg_key = webhook_outbox.msg_key"
)


def upgrade() -> None:
    # Nullable without a default: both databases add it without rewriting the table.
    op.add_column("webhook_outbox", sa.Column("message_pk", sa.BigInteger(), nullable=True))
    op.execute(BACKFILL)
    op.drop_index("ix_webhook_outbox_endpoint_pk_msg_key", table_name="webhook_outbox")
    op.create_index("ix_webhook_outbox_message_pk_pk", "webhook_outbox", ["message_pk", "pk"])


def downgrade() -> None:
    op.drop_index("ix_webhook_outbox_message_pk_pk", table_name="webhook_outbox")
    op.create_index(
        "ix_webhook_outbox_endpoint_pk_msg_key", "webhook_outbox", ["endpoint_pk", "msg_key"]
    )
    with op.batch_alter_table("webhook_outbox") as batch:
        batch.drop_column("message_pk")
