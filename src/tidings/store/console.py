"""Queries for the console's own records: operators, grants, sessions, failed sign-ins.

The reports its task and analytics pages show are store/reports.py's."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Row, delete, insert, select, update

from tidings.store.tables import (
    console_login_failures,
    console_sessions,
    operator_workspaces,
    operators,
)


def insert_operator(
    conn: Connection,
    username: str,
    password_hash: str,
    all_workspaces: bool,
    workspaces: Iterable[str],
    now_ms: int,
) -> int:
    pk = conn.execute(
        insert(operators)
        .values(
            username=username,
            password_hash=password_hash,
            all_workspaces=all_workspaces,
            created_at=now_ms,
        )
        .returning(operators.c.pk)
    ).scalar_one()
    rows = [{"operator_pk": pk, "workspace": w} for w in workspaces]
    if rows:
        conn.execute(insert(operator_workspaces), rows)
    return pk


def find_operator(conn: Connection, username: str) -> Row | None:
    return conn.execute(select(operators).where(operators.c.username == username)).first()


def operator_by_pk(conn: Connection, pk: int) -> Row | None:
    return conn.execute(select(operators).where(operators.c.pk == pk)).first()


def list_operators(conn: Connection) -> list[Row]:
    return list(conn.execute(select(operators).order_by(operators.c.username)))


def grants(conn: Connection, operator_pks: Iterable[int]) -> dict[int, set[str]]:
    """The workspaces granted to each operator (absent: none besides ``all_workspaces``)."""
    query = select(operator_workspaces).where(
        operator_workspaces.c.operator_pk.in_(list(operator_pks))
    )
    found: dict[int, set[str]] = {}
    for row in conn.execute(query):
        found.setdefault(row.operator_pk, set()).add(row.workspace)
    return found


def set_password_hash(conn: Connection, pk: int, password_hash: str) -> None:
    conn.execute(update(operators).where(operators.c.pk == pk).values(password_hash=password_hash))


def delete_operator(conn: Connection, username: str) -> bool:
    pk = conn.execute(select(operators.c.pk).where(operators.c.username == username)).scalar()
    if pk is None:
        return False
    conn.execute(delete(console_sessions).where(console_sessions.c.operator_pk == pk))
    conn.execute(delete(operator_workspaces).where(operator_workspaces.c.operator_pk == pk))
    conn.execute(delete(operators).where(operators.c.pk == pk))
    return True


def insert_session(
    conn: Connection, token_hash: str, operator_pk: int, csrf_token: str, now_ms: int, ttl_ms: int
) -> None:
    conn.execute(delete(console_sessions).where(console_sessions.c.expires_at <= now_ms))
    conn.execute(
        insert(console_sessions).values(
            token_hash=token_hash,
            operator_pk=operator_pk,
            csrf_token=csrf_token,
            created_at=now_ms,
            expires_at=now_ms + ttl_ms,
        )
    )


def find_session(conn: Connection, token_hash: str, now_ms: int) -> Row | None:
    query = select(console_sessions).where(
        console_sessions.c.token_hash == token_hash, console_sessions.c.expires_at > now_ms
    )
    return conn.execute(query).first()


def delete_session(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(console_sessions).where(console_sessions.c.token_hash == token_hash))


_SIGN_IN_LOCK = 0x7469_6473  # any constant shared by every Tidings process


def lock_sign_ins(conn: Connection) -> None:
    """Serialise sign-in counting across processes until the transaction ends (PostgreSQL; a
    SQLite write transaction is alone already)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SIGN_IN_LOCK})")


def recent_failures(
    conn: Connection, username: str, address: str, since_ms: int
) -> tuple[list[int], list[int]]:
    """Times of failed sign-ins since ``since_ms``: for the username, and from the address."""
    table = console_login_failures
    by_user = select(table.c.at).where(table.c.username == username, table.c.at > since_ms)
    by_address = select(table.c.at).where(table.c.address == address, table.c.at > since_ms)
    return (
        list(conn.execute(by_user.order_by(table.c.at)).scalars()),
        list(conn.execute(by_address.order_by(table.c.at)).scalars()),
    )


def insert_failure(
    conn: Connection, username: str, address: str, now_ms: int, forget_before_ms: int
) -> None:
    conn.execute(
        delete(console_login_failures).where(console_login_failures.c.at < forget_before_ms)
    )
    conn.execute(
        insert(console_login_failures).values(username=username, address=address, at=now_ms)
    )


def clear_failures(conn: Connection, username: str) -> None:
    conn.execute(
        delete(console_login_failures).where(console_login_failures.c.username == username)
    )
