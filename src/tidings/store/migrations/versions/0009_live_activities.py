"""Live Activities: each activity's id and APNs push token, registered by its device, and the
push token a delivery to an activity (which has no device) is sent to.

Revision ID: 0009_live_activities
Revises: 0008_webhooks
Create Date: 2026-12-06 04:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_live_activities"
down_revision = "0008_webhooks"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "live_activities",
        sa.Column(
            "app_pk",
            Serial,
            sa.ForeignKey("apps.pk", ondelete="CASCADE", name="fk_live_activities_app_pk_apps"),
            nullable=False,
        ),
        sa.Column("activity_id", sa.String(128), nullable=False),
        sa.Column("push_token", sa.String(512), nullable=False),
        sa.Column(
            "device_pk",
            Serial,
            sa.ForeignKey(
                "devices.pk", ondelete="CASCADE", name="fk_live_activities_device_pk_devices"
            ),
            nullable=False,
        ),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_pk", "activity_id", name="pk_live_activities"),
    )
    op.create_index("ix_live_activities_device_pk", "live_activities", ["device_pk"])
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("push_token", sa.String(512)))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("push_token")
    op.drop_index("ix_live_activities_device_pk", table_name="live_activities")
    op.drop_table("live_activities")
