"""Push-to-start tokens: per device and ActivityAttributes type, the APNs token a push uses to
start a Live Activity (iOS 17.2+); and both kinds of registration found by push token, for an
end event sent by token and a token APNs calls dead.

Revision ID: 0010_live_activity_start_tokens
Revises: 0009_live_activities
Create Date: 2026-12-06 06:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_live_activity_start_tokens"
down_revision = "0009_live_activities"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "live_activity_start_tokens",
        sa.Column(
            "device_pk",
            Serial,
            sa.ForeignKey(
                "devices.pk",
                ondelete="CASCADE",
                name="fk_live_activity_start_tokens_device_pk_devices",
            ),
            nullable=False,
        ),
        sa.Column("attributes_type", sa.String(128), nullable=False),
        sa.Column("push_token", sa.String(512), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "device_pk", "attributes_type", name="pk_live_activity_start_tokens"
        ),
    )
    op.create_index(
        "ix_live_activity_start_tokens_updated_at", "live_activity_start_tokens", ["updated_at"]
    )
    op.create_index(
        "ix_live_activity_start_tokens_push_token", "live_activity_start_tokens", ["push_token"]
    )
    op.create_index("ix_live_activities_push_token", "live_activities", ["push_token"])


def downgrade() -> None:
    op.drop_index("ix_live_activities_push_token", table_name="live_activities")
    op.drop_index(
        "ix_live_activity_start_tokens_updated_at", table_name="live_activity_start_tokens"
    )
    op.drop_table("live_activity_start_tokens")
