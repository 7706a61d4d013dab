"""Webhook endpoints, their outbox of events and the attempts to deliver them.

Revision ID: 0008_webhooks
Revises: 0006_retention
Create Date: 2026-12-06 02:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_webhooks"
down_revision = "0006_retention"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("pk", Serial, primary_key=True, autoincrement=True),
        sa.Column(
            "app_pk",
            Serial,
            sa.ForeignKey("apps.pk", ondelete="CASCADE", name="fk_webhook_endpoints_app_pk_apps"),
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("secrets_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("failing_since", sa.BigInteger()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_webhook_endpoints"),
    )
    op.create_index("ix_webhook_endpoints_app_pk", "webhook_endpoints", ["app_pk"])
    op.create_table(
        "webhook_outbox",
        sa.Column("pk", Serial, primary_key=True, autoincrement=True),
        sa.Column(
            "endpoint_pk",
            Serial,
            sa.ForeignKey(
                "webhook_endpoints.pk",
                ondelete="CASCADE",
                name="fk_webhook_outbox_endpoint_pk_webhook_endpoints",
            ),
            nullable=False,
        ),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("msg_key", sa.String(128)),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("pk", name="pk_webhook_outbox"),
    )
    op.create_index(
        "ix_webhook_outbox_state_next_attempt_at", "webhook_outbox", ["state", "next_attempt_at"]
    )
    op.create_index("ix_webhook_outbox_endpoint_pk_pk", "webhook_outbox", ["endpoint_pk", "pk"])
    op.create_index(
        "ix_webhook_outbox_endpoint_pk_msg_key", "webhook_outbox", ["endpoint_pk", "msg_key"]
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("pk", Serial, primary_key=True, autoincrement=True),
        sa.Column(
            "endpoint_pk",
            Serial,
            sa.ForeignKey(
                "webhook_endpoints.pk",
                ondelete="CASCADE",
                name="fk_webhook_attempts_endpoint_pk_webhook_endpoints",
            ),
            nullable=False,
        ),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("response", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_webhook_attempts"),
    )
    op.create_index("ix_webhook_attempts_endpoint_pk_at", "webhook_attempts", ["endpoint_pk", "at"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_outbox")
    op.drop_table("webhook_endpoints")
