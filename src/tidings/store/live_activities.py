"""Queries for Live Activities: which APNs push token an app's activity id stands for, and
which push-to-start token a device holds for an ActivityAttributes type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, Table, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from tidings.store.chunks import chunks
from tidings.store.tables import live_activities, live_activity_start_tokens

# ActivityKit ends an activity after 8 hours and takes it off the Lock Screen 4 hours later: a
# registration not renewed for that long names an activity that is gone.
ACTIVITY_LIFETIME_MS = 12 * 3_600_000
# Apple gives push-to-start tokens no lifetime; one a device has not renewed for 30 days (the
# client sends its tokens on every connection) is taken to belong to an app no longer there.
START_TOKEN_LIFETIME_MS = 30 * 24 * 3_600_000


def register(
    conn: Connection, app_pk: int, device_pk: int, activity_id: str, push_token: str, now_ms: int
) -> None:
    """Record (or replace: ActivityKit renews an activity's token) the activity's push token."""
    values = {"app_pk": app_pk, "activity_id": activity_id, "device_pk": device_pk}
    _replace(conn, live_activities, values, push_token, now_ms)


def tokens(
    conn: Connection, app_pk: int, activity_ids: Sequence[str], since_ms: int
) -> dict[str, str]:
    """The push token of each of these activities the app has registered at ``since_ms`` or
    later (an older registration names an activity that has ended)."""
    scope = live_activities.c.app_pk == app_pk
    return _tokens_since(conn, live_activities.c.activity_id, scope, activity_ids, since_ms)


def tokens_of_devices(
    conn: Connection, device_pks: Sequence[int], since_ms: int
) -> dict[int, list[str]]:
    """The push tokens of the activities each of these devices registered at ``since_ms`` or
    later, by device (a device without one is left out), in activity id order."""
    found: dict[int, list[str]] = {}
    table = live_activities
    for chunk in chunks(device_pks):
        query = (
            select(table.c.device_pk, table.c.push_token)
            .where(table.c.device_pk.in_(chunk), table.c.updated_at >= since_ms)
            .order_by(table.c.device_pk, table.c.activity_id)
        )
        for device_pk, push_token in conn.execute(query):
            found.setdefault(device_pk, []).append(push_token)
    return found


def forget(conn: Connection, ended: Sequence[tuple[int, str]]) -> None:
    """Drop these (app_pk, activity_id) activities: they were sent their end event by id."""
    _forget(conn, live_activities.c.activity_id, ended)


def forget_tokens(conn: Connection, ended: Sequence[tuple[int, str]]) -> None:
    """Drop the activities registered under these (app_pk, push token) pairs: they were sent
    their end event by token (DeliveryType 5)."""
    _forget(conn, live_activities.c.push_token, ended)


def _forget(conn: Connection, column: Column, ended: Sequence[tuple[int, str]]) -> None:
    for chunk in chunks(ended):
        key = tuple_(live_activities.c.app_pk, column)
        conn.execute(delete(live_activities).where(key.in_(chunk)))


def forget_dead_tokens(conn: Connection, push_tokens: Sequence[str]) -> None:
    """Drop every activity registration and push-to-start token holding one of these tokens:
    APNs called them dead (410 Unregistered)."""
    for table in (live_activities, live_activity_start_tokens):
        for chunk in chunks(push_tokens):
            conn.execute(delete(table).where(table.c.push_token.in_(chunk)))


def delete_stale(conn: Connection, before_ms: int, limit: int) -> int:
    """Delete up to ``limit`` registrations last made before ``before_ms``: their activities
    have ended, told or not; how many went."""
    return _delete_older(conn, live_activities, before_ms, limit)


def register_start_token(
    conn: Connection, device_pk: int, attributes_type: str, push_token: str, now_ms: int
) -> None:
    """Record (or replace: ActivityKit renews it) the device's push-to-start token for the
    type."""
    values = {"device_pk": device_pk, "attributes_type": attributes_type}
    _replace(conn, live_activity_start_tokens, values, push_token, now_ms)


def _replace(
    conn: Connection, table: Table, values: dict[str, Any], push_token: str, now_ms: int
) -> None:
    """Insert a row of ``table`` with this push token, or give the row of the same primary
    key this token (and the rest of ``values``)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    row = {**values, "push_token": push_token, "updated_at": now_ms}
    insert = dialect.insert(table).values(**row)
    key = list(table.primary_key.columns)
    changed = {name: insert.excluded[name] for name in row if name not in table.primary_key.c}
    conn.execute(insert.on_conflict_do_update(index_elements=key, set_=changed))


def start_tokens(
    conn: Connection, attributes_type: str, device_pks: Sequence[int], since_ms: int
) -> dict[int, str]:
    """The push-to-start token of each of these devices for the type, renewed at ``since_ms``
    or later."""
    table = live_activity_start_tokens
    scope = table.c.attributes_type == attributes_type
    return _tokens_since(conn, table.c.device_pk, scope, device_pks, since_ms)


def _tokens_since(
    conn: Connection,
    key: Column,
    scope: ColumnElement[bool],
    wanted: Sequence[Any],
    since_ms: int,
) -> dict[Any, str]:
    """The push token of each ``wanted`` value of ``key`` in the rows ``scope`` selects, for
    rows updated at ``since_ms`` or later."""
    table = key.table
    found: dict[Any, str] = {}
    for chunk in chunks(wanted):
        query = select(key, table.c.push_token).where(
            scope, key.in_(chunk), table.c.updated_at >= since_ms
        )
        found.update((row[0], row[1]) for row in conn.execute(query))
    return found


def delete_stale_start_tokens(conn: Connection, before_ms: int, limit: int) -> int:
    """Delete up to ``limit`` push-to-start tokens last renewed before ``before_ms``."""
    return _delete_older(conn, live_activity_start_tokens, before_ms, limit)


def _delete_older(conn: Connection, table: Table, before_ms: int, limit: int) -> int:
    """Delete up to ``limit`` rows of ``table`` updated before ``before_ms``, by primary key."""
    columns = list(table.primary_key.columns)
    keys = select(*columns).where(table.c.updated_at < before_ms)
    found = [tuple(row) for row in conn.execute(keys.limit(limit))]
    if not found:
        return 0
    return conn.execute(delete(table).where(tuple_(*columns).in_(found))).rowcount
