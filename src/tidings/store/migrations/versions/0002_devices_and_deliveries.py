"""Devices (tokens, hashed secrets, bindings, vendor tokens) and deliveries (one message to one
device, with its status).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 02:12:02.363009
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("app_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token", sa.String(length=256), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("phone_number", sa.String(length=32), nullable=True),
        sa.Column("bound_at", sa.BigInteger(), nullable=True),
        sa.Column("unbound_at", sa.BigInteger(), nullable=True),
        sa.Column("third_channel", sa.SmallInteger(), nullable=True),
        sa.Column("third_token", sa.String(length=512), nullable=True),
        sa.Column("manufacturer", sa.String(length=16), nullable=False),
        sa.Column("facts", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["app_pk"], ["apps.pk"], name=op.f("fk_devices_app_pk_apps")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_devices")),
        sa.UniqueConstraint("app_pk", "token", name=op.f("uq_devices_app_pk_token")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_devices_app_pk_user_id"), ["app_pk", "user_id"], unique=False
        )

    op.create_table(
        "deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "message_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("app_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("acked_at", sa.BigInteger(), nullable=True),
        sa.Column("opened_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_pk"], ["devices.pk"], name=op.f("fk_deliveries_device_pk_devices")
        ),
        sa.ForeignKeyConstraint(
            ["message_pk"], ["messages.pk"], name=op.f("fk_deliveries_message_pk_messages")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_deliveries_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "task_id",
            "message_pk",
            "device_pk",
            name=op.f("uq_deliveries_task_id_message_pk_device_pk"),
        ),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliveries_app_pk_user_id_status"),
            ["app_pk", "user_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deliveries_device_pk_status"), ["device_pk", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deliveries_status_expires_at"), ["status", "expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_status_expires_at"))
        batch_op.drop_index(batch_op.f("ix_deliveries_device_pk_status"))
        batch_op.drop_index(batch_op.f("ix_deliveries_app_pk_user_id_status"))

    op.drop_table("deliveries")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_app_pk_user_id"))

    op.drop_table("devices")
