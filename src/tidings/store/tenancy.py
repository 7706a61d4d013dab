"""Queries for workspaces, apps and AccessKeys."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from tidings.store.tables import access_key_apps, access_keys, apps, workspaces

# Columns named as tenancy.models.App's fields (App.from_row reads them by name).
_APP = select(
    apps.c.pk,
    workspaces.c.name.label("workspace"),
    apps.c.app_id,
    apps.c.tenant_id,
    apps.c.timezone,
    apps.c.created_at,
).join_from(apps, workspaces)

_KEY = select(
    access_keys.c.pk,
    access_keys.c.access_key_id,
    workspaces.c.name.label("workspace"),
    access_keys.c.read_only,
    access_keys.c.active,
    access_keys.c.created_at,
    access_keys.c.secret_ciphertext,
).join_from(access_keys, workspaces)


def workspace_pk(conn: Connection, name: str) -> int | None:
    return conn.execute(select(workspaces.c.pk).where(workspaces.c.name == name)).scalar()


def insert_app(conn: Connection, workspace: str, values: dict[str, Any]) -> int:
    """Insert an app, creating its workspace on first use; the app's pk."""
    ws_pk = workspace_pk(conn, workspace)
    if ws_pk is None:
        ws_pk = conn.execute(
            insert(workspaces)
            .values(name=workspace, created_at=values["created_at"])
            .returning(workspaces.c.pk)
        ).scalar_one()
    return conn.execute(
        insert(apps).values(workspace_pk=ws_pk, **values).returning(apps.c.pk)
    ).scalar_one()


def list_apps(conn: Connection) -> list[Row]:
    return list(conn.execute(_APP.order_by(workspaces.c.name, apps.c.app_id)))


def find_app(conn: Connection, workspace: str, app_id: str) -> Row | None:
    query = _APP.where(workspaces.c.name == workspace, apps.c.app_id == app_id)
    return conn.execute(query).first()


def find_app_each(conn: Connection, keys: list[tuple[str, str]]) -> list[Row | None]:
    """``find_app`` for each (workspace, app_id), each asked once: the thousands of devices
    that connect when the app cache has just expired all name the same few apps."""
    found = {key: find_app(conn, *key) for key in dict.fromkeys(keys)}
    return [found[key] for key in keys]


def insert_key(
    conn: Connection, workspace: str, app_pks: Iterable[int], values: dict[str, Any]
) -> int:
    ws_pk = workspace_pk(conn, workspace)
    pk = conn.execute(
        insert(access_keys).values(workspace_pk=ws_pk, **values).returning(access_keys.c.pk)
    ).scalar_one()
    rows = [{"key_pk": pk, "app_pk": app_pk} for app_pk in app_pks]
    if rows:
        conn.execute(insert(access_key_apps), rows)
    return pk


def list_keys(conn: Connection) -> list[Row]:
    return list(conn.execute(_KEY.order_by(access_keys.c.pk)))


def find_key(conn: Connection, access_key_id: str) -> Row | None:
    return conn.execute(_KEY.where(access_keys.c.access_key_id == access_key_id)).first()


def key_scopes(conn: Connection, key_pks: Iterable[int]) -> dict[int, set[str]]:
    """The AppIds each key is limited to (a key absent here may use every app)."""
    query = (
        select(access_key_apps.c.key_pk, apps.c.app_id)
        .join_from(access_key_apps, apps)
        .where(access_key_apps.c.key_pk.in_(list(key_pks)))
    )
    scopes: dict[int, set[str]] = {}
    for row in conn.execute(query):
        scopes.setdefault(row.key_pk, set()).add(row.app_id)
    return scopes


def set_key_active(conn: Connection, access_key_id: str, active: bool) -> bool:
    result = conn.execute(
        update(access_keys)
        .where(access_keys.c.access_key_id == access_key_id)
        .values(active=active)
    )
    return result.rowcount > 0


def delete_key(conn: Connection, access_key_id: str) -> bool:
    pk = conn.execute(
        select(access_keys.c.pk).where(access_keys.c.access_key_id == access_key_id)
    ).scalar()
    if pk is None:
        return False
    conn.execute(delete(access_key_apps).where(access_key_apps.c.key_pk == pk))
    conn.execute(delete(access_keys).where(access_keys.c.pk == pk))
    return True
