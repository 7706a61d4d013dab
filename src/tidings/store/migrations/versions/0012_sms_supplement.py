"""The SMS supplement: one row per message that asked for one, and the phone number of a binding
sealed at rest instead of kept in plain text.

The plain ``phone_number`` column is dropped with what it held: a migration has no access to the
secret key that would seal it, and no SMS was ever sent to those numbers (the supplement was
refused until now). Apps bind again with PhoneNumber to have a number on file.

Revision ID: 0012_sms_supplement
Revises: 0011_task_request_ids
Create Date: 2026-12-06 06:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_sms_supplement"
down_revision = "0011_task_request_ids"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_supplements",
        sa.Column("pk", Serial, primary_key=True, autoincrement=True),
        sa.Column(
            "message_pk",
            Serial,
            sa.ForeignKey("messages.pk", name="fk_sms_supplements_message_pk_messages"),
            nullable=False,
        ),
        sa.Column("task_id", Serial, nullable=False),
        sa.Column("app_pk", Serial, nullable=False),
        sa.Column("strategy", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger()),
        sa.Column("detail", sa.Text()),
        sa.Column("settled_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("pk", name="pk_sms_supplements"),
        sa.UniqueConstraint("message_pk", name="uq_sms_supplements_message_pk"),
    )
    op.create_index("ix_sms_supplements_state_due_at", "sms_supplements", ["state", "due_at"])
    with op.batch_alter_table("devices") as batch_op:
        batch_op.add_column(sa.Column("phone_ciphertext", sa.LargeBinary()))
        batch_op.drop_column("phone_number")


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch_op:
        batch_op.add_column(sa.Column("phone_number", sa.String(32)))
        batch_op.drop_column("phone_ciphertext")
    op.drop_index("ix_sms_supplements_state_due_at", table_name="sms_supplements")
    op.drop_table("sms_supplements")
