"""Queries for templates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from tidings.store.tables import templates


def count(conn: Connection, app_pk: int) -> int:
    query = select(func.count()).select_from(templates).where(templates.c.app_pk == app_pk)
    return conn.execute(query).scalar_one()


def insert_template(conn: Connection, values: dict[str, Any]) -> Row:
    return conn.execute(insert(templates).values(values).returning(*templates.c)).one()


def update_template(conn: Connection, pk: int, values: dict[str, Any]) -> Row:
    query = update(templates).where(templates.c.pk == pk).values(values)
    return conn.execute(query.returning(*templates.c)).one()


def find(
    conn: Connection, app_pk: int, *, pk: int | None = None, name: str | None = None
) -> Row | None:
    query = select(templates).where(templates.c.app_pk == app_pk)
    if pk is not None:
        query = query.where(templates.c.pk == pk)
    if name is not None:
        query = query.where(templates.c.name == name)
    return conn.execute(query).first()


def page(conn: Connection, app_pk: int, offset: int, limit: int) -> tuple[list[Row], int]:
    """One page of the app's templates, newest first, and how many it has in all."""
    rows = conn.execute(
        select(templates)
        .where(templates.c.app_pk == app_pk)
        .order_by(templates.c.pk.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), count(conn, app_pk)


def delete_template(conn: Connection, pk: int) -> None:
    conn.execute(delete(templates).where(templates.c.pk == pk))
