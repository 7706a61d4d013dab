"""Queries for devices: registration, lookups by token and by bound user, bindings and reports."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from tidings.store.chunks import chunks
from tidings.store.plain import fetch, mark, one_of, one_of_values
from tidings.store.tables import devices

# A device's address: contract.DeviceAddress.from_rows reads these.
ADDRESS = (
    devices.c.pk.label("device_pk"),
    devices.c.token,
    devices.c.platform,
    devices.c.manufacturer,
    devices.c.third_token,
)


def insert_device(conn: Connection, values: dict[str, Any]) -> Row:
    """The new device's row, as ``find`` would read it."""
    return conn.execute(insert(devices).values(values).returning(*devices.c)).one()


# Built once: a registration storm runs it for hundreds of rows at a time.
_REGISTER = insert(devices).returning(*devices.c, sort_by_parameter_order=True)


def register_devices(conn: Connection, rows: list[dict[str, Any]]) -> list[Row]:
    """New devices, all with the same columns given: their rows in the order of ``rows``, as
    ``find`` would read them, from multi-row INSERTs (SQLAlchemy's "insertmanyvalues")."""
    return list(conn.execute(_REGISTER, rows))


def find(conn: Connection, app_pk: int, token: str) -> Row | None:
    query = select(devices).where(devices.c.app_pk == app_pk, devices.c.token == token)
    return conn.execute(query).first()


_BY_TOKENS = select(devices).where(
    devices.c.app_pk == bindparam("app_pk"),
    devices.c.token.in_(bindparam("tokens", expanding=True)),
)


def find_each(conn: Connection, keys: list[tuple[int, str]]) -> list[Row | None]:
    """``find`` for each (app_pk, token), in one query per app: devices resuming in a storm."""
    tokens: defaultdict[int, list[str]] = defaultdict(list)
    for app_pk, token in keys:
        tokens[app_pk].append(token)
    found: dict[tuple[int, str], Row] = {}
    for app_pk, wanted in tokens.items():
        for chunk in chunks(wanted):
            for row in conn.execute(_BY_TOKENS, {"app_pk": app_pk, "tokens": chunk}):
                found[app_pk, row.token] = row
    return [found.get(key) for key in keys]


def by_pk(conn: Connection, pk: int) -> Row | None:
    return conn.execute(select(devices).where(devices.c.pk == pk)).first()


def by_user(conn: Connection, app_pk: int, user_id: str) -> list[Row]:
    """The user's devices, most recently bound first."""
    query = (
        select(devices)
        .where(devices.c.app_pk == app_pk, devices.c.user_id == user_id)
        .order_by(devices.c.bound_at.desc(), devices.c.pk.desc())
    )
    return list(conn.execute(query))


def lock_users(conn: Connection, app_pk: int, user_ids: Sequence[str], *, exclusive: bool) -> None:
    """Hold, until the transaction ends, a lock on each of these users' bindings.

    Binding and unbinding take it exclusively, dispatch shared, so that a binding committed
    while a task for the same user is being resolved is either seen by the resolution or sees
    the NoBindInfo deliveries it wrote; without it each could miss the other (READ COMMITTED),
    stranding a message. SQLite runs one write transaction at a time: nothing to lock there.
    Locks are taken in key order, so transactions that lock several users cannot deadlock.
    """
    if conn.dialect.name != "postgresql" or not user_ids:
        return
    take = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    # Run through the driver (store/plain.py): dispatch takes these at every claim to users.
    fetch(
        conn,
        f"SELECT {take}(k) FROM (SELECT DISTINCT hashtextextended(%s || ':' || u, 0) AS k"
        " FROM unnest(CAST(%b AS text[])) AS u ORDER BY k OFFSET 0) AS keys",
        (str(app_pk), list(user_ids)),
    )


def addresses_by_user(
    conn: Connection, app_pk: int, user_ids: Sequence[str]
) -> list[tuple[Any, ...]]:
    """The user_id and address of every device bound to one of ``user_ids``: tuples of
    user_id and ADDRESS's columns.

    Written as text and read as the driver's tuples (store/plain.py): every dispatch to users
    reads their devices."""
    return _addresses(conn, app_pk, "user_id", user_ids, "user_id, ")


def _addresses(
    conn: Connection, app_pk: int, key: str, values: Sequence[str], extra: str
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    placeholder = mark(conn)
    for chunk in chunks(values):
        sql = _addresses_sql(placeholder, key, len(chunk), extra)
        rows.extend(fetch(conn, sql, (app_pk, *one_of_values(placeholder, chunk))))
    return rows


def address_columns(table: str, *, but_token: bool = False) -> str:
    """ADDRESS's columns of ``table`` (a name or alias of devices) for a statement's text,
    each under its name there (the device's pk as device_pk); ``but_token`` leaves out the
    token, for a statement that joins the device by a token it already reads."""
    return ", ".join(
        f"{table}.{getattr(c, 'element', c).name} AS {c.name}"
        for c in ADDRESS
        if not (but_token and c is devices.c.token)
    )


@functools.lru_cache(maxsize=128)
def _addresses_sql(mark: str, key: str, count: int, extra: str) -> str:
    """``extra`` columns and ADDRESS's (by their names there: the device's pk is read as
    device_pk) of the app's devices whose ``key`` is one of ``count`` values, ordered by
    ``key`` and then pk: the order of the (app_pk, ``key``) index the lookup walks, so no
    sort (by pk alone, SQLite sorted every row found)."""
    return (
        f"SELECT {extra}{address_columns('devices')} FROM devices"
        f" WHERE app_pk = {mark} AND {key} {one_of(mark, count)} ORDER BY {key}, pk"
    )


def update_device(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(update(devices).where(devices.c.pk == pk).values(values))


def touch(conn: Connection, pks: Sequence[int], now_ms: int) -> None:
    for chunk in chunks(pks):
        conn.execute(update(devices).where(devices.c.pk.in_(chunk)).values(last_seen_at=now_ms))


def plain_phone_numbers(conn: Connection, limit: int) -> list[Row]:
    """Devices whose bound phone number is still in plain text (``pk``, ``phone_number``)."""
    query = (
        select(devices.c.pk, devices.c.phone_number)
        .where(devices.c.phone_number.is_not(None))
        .limit(limit)
    )
    return list(conn.execute(query))
