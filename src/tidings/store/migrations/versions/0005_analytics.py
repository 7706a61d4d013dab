"""Broadcast audiences, revocation, analytics counters and delivery events.

The counters of deliveries made before this revision are filled in from the deliveries
themselves, so analytics cover them too.

Revision ID: 0005_analytics
Revises: 0004_console
Create Date: 2026-11-28 09:00:00.000000
"""

from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "0005_analytics"
down_revision = "0004_console"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The labels analytics/labels.py gives, as they were when this revision was written.
SLOT_MS = 15 * 60 * 1000
PLATFORMS = {"android": "ANDROID", "ios": "IOS", "harmonyos": "HARMONYOS"}
TYPE_PLATFORMS = {1: "ANDROID", 2: "IOS", 7: "HARMONYOS"}
CHANNELS = {
    "apns": "IOS",
    "fcm": "FCM",
    "hms": "HMS",
    "honor": "HONOR",
    "xiaomi": "MIUI",
    "oppo": "OPPO",
    "vivo": "VIVO",
}


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("audience", sa.Text(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("revoked_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("devices") as batch:
        batch.create_index(
            batch.f("ix_devices_app_pk_platform_pk"), ["app_pk", "platform", "pk"], unique=False
        )
    with op.batch_alter_table("deliveries") as batch:
        for name in ("sent_at", "revoked_at", "revoke_confirmed_at"):
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("stat_pk", Serial, nullable=True))
        batch.create_index(batch.f("ix_deliveries_message_pk"), ["message_pk"], unique=False)
    op.create_table(
        "delivery_events",
        sa.Column("pk", Serial, autoincrement=True, nullable=False),
        sa.Column("delivery_id", Serial, nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_delivery_events")),
    )
    op.create_index(
        op.f("ix_delivery_events_delivery_id"), "delivery_events", ["delivery_id"], unique=False
    )
    stats = op.create_table(
        "push_stats",
        sa.Column("pk", Serial, autoincrement=True, nullable=False),
        sa.Column("app_pk", Serial, nullable=False),
        sa.Column("task_id", Serial, nullable=False),
        sa.Column("push_id", Serial, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        *(
            sa.Column(name, sa.BigInteger(), nullable=False)
            for name in ("pushed", "successful", "arrived", "opened")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_push_stats")),
        sa.UniqueConstraint(
            "task_id",
            "slot",
            "platform",
            "channel",
            name=op.f("uq_push_stats_task_id_slot_platform_channel"),
        ),
    )
    op.create_index(op.f("ix_push_stats_app_pk_slot"), "push_stats", ["app_pk", "slot"])
    op.create_index(op.f("ix_push_stats_push_id"), "push_stats", ["push_id"])
    _count_earlier_deliveries(stats)


def _count_earlier_deliveries(stats: sa.Table) -> None:
    """One counter row per group of existing deliveries, and each delivery pointed at its row."""
    conn = op.get_bind()
    meta = sa.MetaData()
    deliveries = sa.Table("deliveries", meta, autoload_with=conn)
    tasks = sa.Table("tasks", meta, autoload_with=conn)
    devices = sa.Table("devices", meta, autoload_with=conn)
    rows = conn.execute(
        sa.select(
            deliveries.c.id,
            deliveries.c.app_pk,
            deliveries.c.task_id,
            deliveries.c.channel,
            deliveries.c.status,
            deliveries.c.created_at,
            deliveries.c.acked_at,
            deliveries.c.opened_at,
            sa.func.coalesce(tasks.c.parent_id, tasks.c.id).label("push_id"),
            tasks.c.action,
            tasks.c.delivery_type,
            devices.c.platform,
        )
        .join_from(deliveries, tasks, deliveries.c.task_id == tasks.c.id)
        .outerjoin(devices, deliveries.c.device_pk == devices.c.pk)
    )
    counts: Counter = Counter()
    members: dict[tuple, list[int]] = {}
    for row in rows:
        platform = (
            PLATFORMS.get(row.platform, "")
            if row.platform
            else TYPE_PLATFORMS.get(row.delivery_type, "")
        )
        channel = platform if row.channel == "selfbuilt" else CHANNELS.get(row.channel or "", "")
        key = (
            row.app_pk,
            row.task_id,
            row.push_id,
            row.action,
            row.created_at - row.created_at % SLOT_MS,
            platform,
            channel,
        )
        members.setdefault(key, []).append(row.id)
        arrived = row.acked_at is not None
        counts[key, "pushed"] += 1
        counts[key, "successful"] += int(arrived or row.status == 2)
        counts[key, "arrived"] += int(arrived)
        counts[key, "opened"] += int(row.opened_at is not None)
    for key, ids in members.items():
        app_pk, task_id, push_id, action, slot, platform, channel = key
        pk = conn.execute(
            stats.insert()
            .values(
                app_pk=app_pk,
                task_id=task_id,
                push_id=push_id,
                action=action,
                slot=slot,
                platform=platform,
                channel=channel,
                **{n: counts[key, n] for n in ("pushed", "successful", "arrived", "opened")},
            )
            .returning(stats.c.pk)
        ).scalar_one()
        for start in range(0, len(ids), 500):
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(ids[start : start + 500]))
                .values(stat_pk=pk)
            )


def downgrade() -> None:
    op.drop_index(op.f("ix_push_stats_push_id"), table_name="push_stats")
    op.drop_index(op.f("ix_push_stats_app_pk_slot"), table_name="push_stats")
    op.drop_table("push_stats")
    op.drop_index(op.f("ix_delivery_events_delivery_id"), table_name="delivery_events")
    op.drop_table("delivery_events")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index(batch.f("ix_deliveries_message_pk"))
        for name in ("stat_pk", "revoke_confirmed_at", "revoked_at", "sent_at"):
            batch.drop_column(name)
    with op.batch_alter_table("devices") as batch:
        batch.drop_index(batch.f("ix_devices_app_pk_platform_pk"))
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("revoked_at")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("audience")
