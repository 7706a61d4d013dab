"""msgKeys unique per app and UTC day of acceptance, instead of for all time.

One index over every stored message's random msgKey puts each new key on a page of its own, and
every commit then writes a page per message; per day, new keys land among the day's only
(tables.py, store/msg_keys.py). On SQLite the messages table is rebuilt without its old unique
constraint, which takes a while on a large database. Making the file's space reusable
(auto_vacuum) cannot be done by a migration on a database that has tables; docs/operations.md
gives the one-off command.

Revision ID: 0006_retention
Revises: 0005_analytics
Create Date: 2026-12-06 03:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_retention"
down_revision = "0005_analytics"
branch_labels = None
depends_on = None

DAY_MS = 86_400_000
INDEX = "uq_messages_app_pk_day_msg_key"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_app_pk_msg_key", type_="unique")
    op.create_index(
        INDEX,
        "messages",
        ["app_pk", sa.text(f"(created_at / {DAY_MS})"), "msg_key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.create_unique_constraint("uq_messages_app_pk_msg_key", ["app_pk", "msg_key"])
