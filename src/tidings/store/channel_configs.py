"""Queries for vendor channels: their configurations (sealed JSON per app and channel), and the
app of each task whose deliveries a channel sends."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Row, delete, insert, select, update

from tidings.store.chunks import chunks
from tidings.store.plain import fetch, mark, one_of, one_of_values
from tidings.store.tables import apps, channel_configs, workspaces


def put_config(conn: Connection, app_pk: int, channel: str, ciphertext: bytes, now: int) -> None:
    """Insert or replace the app's configuration of ``channel``."""
    changed = conn.execute(
        update(channel_configs)
        .where(channel_configs.c.app_pk == app_pk, channel_configs.c.channel == channel)
        .values(config_ciphertext=ciphertext, updated_at=now)
    ).rowcount
    if not changed:
        conn.execute(
            insert(channel_configs).values(
                app_pk=app_pk, channel=channel, config_ciphertext=ciphertext, updated_at=now
            )
        )


def delete_config(conn: Connection, app_pk: int, channel: str) -> bool:
    result = conn.execute(
        delete(channel_configs).where(
            channel_configs.c.app_pk == app_pk, channel_configs.c.channel == channel
        )
    )
    return result.rowcount > 0


def configs_of_app(conn: Connection, app_pk: int) -> list[Row]:
    """(channel, config_ciphertext) for each channel the app has configured."""
    query = select(channel_configs.c.channel, channel_configs.c.config_ciphertext).where(
        channel_configs.c.app_pk == app_pk
    )
    return list(conn.execute(query))


def list_configs(conn: Connection) -> list[Row]:
    """Every configuration with its app: workspace, app_id, channel, ciphertext, updated_at."""
    query = (
        select(
            workspaces.c.name.label("workspace"),
            apps.c.app_id,
            channel_configs.c.channel,
            channel_configs.c.config_ciphertext,
            channel_configs.c.updated_at,
        )
        .join_from(channel_configs, apps)
        .join(workspaces, apps.c.workspace_pk == workspaces.c.pk)
        .order_by(workspaces.c.name, apps.c.app_id, channel_configs.c.channel)
    )
    return list(conn.execute(query))


def apps_of_tasks(conn: Connection, task_ids: Sequence[int]) -> dict[int, int]:
    """The app of each task, by task id. Written as text and run through the driver
    (store/plain.py): a vendor channel asks it for every batch it sends."""
    found: dict[int, int] = {}
    placeholder = mark(conn)
    for chunk in chunks(task_ids):
        sql = f"SELECT id, app_pk FROM tasks WHERE id {one_of(placeholder, len(chunk))}"
        found.update(fetch(conn, sql, one_of_values(placeholder, chunk)))
    return found
