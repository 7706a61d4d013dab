"""Queries for Live Activities: which APNs push token an app's activity id stands for."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from tidings.store.chunks import chunks
from tidings.store.tables import live_activities


def register(
    conn: Connection, app_pk: int, device_pk: int, activity_id: str, push_token: str, now_ms: int
) -> None:
    """Record (or replace: ActivityKit renews an activity's token) the activity's push token."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(live_activities).values(
        app_pk=app_pk,
        activity_id=activity_id,
        push_token=push_token,
        device_pk=device_pk,
        updated_at=now_ms,
    )
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[live_activities.c.app_pk, live_activities.c.activity_id],
            set_={
                "push_token": insert.excluded.push_token,
                "device_pk": insert.excluded.device_pk,
                "updated_at": insert.excluded.updated_at,
            },
        )
    )


def tokens(conn: Connection, app_pk: int, activity_ids: Sequence[str]) -> dict[str, str]:
    """The push token of each of these activities the app has registered."""
    found: dict[str, str] = {}
    for chunk in chunks(activity_ids):
        query = select(live_activities.c.activity_id, live_activities.c.push_token).where(
            live_activities.c.app_pk == app_pk, live_activities.c.activity_id.in_(chunk)
        )
        found.update((row.activity_id, row.push_token) for row in conn.execute(query))
    return found


def forget(conn: Connection, ended: Sequence[tuple[int, str]]) -> None:
    """Drop these (app_pk, activity_id) activities: they were sent their end event."""
    for chunk in chunks(ended):
        key = tuple_(live_activities.c.app_pk, live_activities.c.activity_id)
        conn.execute(delete(live_activities).where(key.in_(chunk)))


def delete_stale(conn: Connection, before_ms: int, limit: int) -> int:
    """Delete up to ``limit`` registrations last made before ``before_ms``: their activities
    have ended, told or not; how many went."""
    keys = select(live_activities.c.app_pk, live_activities.c.activity_id).where(
        live_activities.c.updated_at < before_ms
    )
    found = [tuple(row) for row in conn.execute(keys.limit(limit))]
    if not found:
        return 0
    key = tuple_(live_activities.c.app_pk, live_activities.c.activity_id)
    return conn.execute(delete(live_activities).where(key.in_(found))).rowcount
