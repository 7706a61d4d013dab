"""Queries for webhooks: endpoints, the outbox of events owed to them, and their attempts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Connection,
    Integer,
    Row,
    Text,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.sql import ColumnElement

from tidings.store.chunks import chunks
from tidings.store.plain import fetch, run_statement
from tidings.store.rows import insert_rows
from tidings.store.tables import (
    deliveries,
    devices,
    messages,
    tasks,
    webhook_attempts,
    webhook_endpoints,
    webhook_outbox,
)

PENDING = "pending"
DELIVERED = "delivered"
EXPIRED = "expired"


# Plain SQL text run through the driver (store/plain.py): every accepted push, every dispatch
# and every batch of acks asks it.
_ENABLED = f"SELECT pk, app_pk, events FROM {webhook_endpoints.name} WHERE enabled"


def subscribers(conn: Connection, event_type: str) -> dict[int, list[int]]:
    """The enabled endpoints taking ``event_type``, by app. The table is small (a few rows per
    app), so reading it whole in every transaction that makes events costs next to nothing."""
    found: dict[int, list[int]] = {}
    for pk, app_pk, events in fetch(conn, _ENABLED, ()):
        if event_type in events.split(","):
            found.setdefault(app_pk, []).append(pk)
    return found


def delivery_facts(
    conn: Connection, app_pks: Collection[int], ids: Sequence[int], *where: ColumnElement[bool]
) -> list[Row]:
    """What an event tells of each of these deliveries (of these apps, meeting ``where``).

    The ids are one expanding parameter, and the rows fetched at once: an app taking
    ``delivery.arrived`` has this read for every batch of acks, and an ``IN`` of the ids as
    values (each made a parameter object) and a fetch per row cost ~4 µs an ack."""
    query = _facts(app_pks, deliveries.c.id.in_(bindparam("ids", expanding=True)), *where)
    rows: list[Row] = []
    for chunk in chunks(sorted(ids)):
        rows.extend(conn.execute(query, {"ids": list(chunk)}).all())
    return rows


def add_delivery_events(
    conn: Connection,
    event_type: str,
    endpoint_pks: Collection[int],
    ids: Sequence[int],
    now_ms: int,
    status: int | None,
    *where: ColumnElement[bool],
) -> None:
    """Outbox rows of ``event_type`` for the deliveries among ``ids`` meeting ``where``, one for
    each of ``endpoint_pks`` of the delivery's app, their ``data`` as ``events.data`` makes it
    (``status`` the status the deliveries take, their current one when None), in the order of
    the deliveries' ids and then the endpoints'.

    Written by the database in one ``INSERT ... SELECT``, the JSON made by its own function: an
    app taking ``delivery.sent`` or ``delivery.arrived`` has one for every delivery settled,
    and reading each delivery's facts into Python, encoding them there and writing them back
    cost the writer ~15 µs an event (bench/outcome_cpu.py --webhook). The lists are one
    parameter each (a JSON array on SQLite, an array on PostgreSQL), so the statement's text
    is one for any number of deliveries, and once built it is run through the driver
    (store/plain.run_statement): SQLAlchemy's work around it cost ~1 µs an event."""
    postgresql = conn.dialect.name == "postgresql"
    values = {
        "event_type": event_type,
        "endpoints": list(endpoint_pks) if postgresql else _json_list(endpoint_pks),
        "ids": sorted(ids) if postgresql else _json_list(sorted(ids)),
        "now": now_ms,
        "status": status,
        "pending": PENDING,
    }
    key = (conn.dialect.name, status is None, *map(id, where))
    found = _BUILT.get(key)
    if found is not None and all(a is b for a, b in zip(found[0], where, strict=True)):
        run_statement(conn, found[1], values)
        return
    statement = _delivery_events(conn.dialect.name, status is None, where)
    conn.execute(statement, values)
    if len(_BUILT) >= _BUILT_MOST:
        _BUILT.clear()
    _BUILT[key] = (where, statement)


def _json_list(values: Iterable[int]) -> str:
    return "[" + ",".join(map(str, values)) + "]"


# The statements by (database, whether the status is the delivery's own, the ids of the
# conditions), each kept with its conditions (whose ids are the key): building one cost
# SQLAlchemy several times what running it costs for one delivery (an idle server's ack), and
# the callers' conditions are most often the same objects (the recorder's). Conditions made per
# call (a receipt's: its app and channel) never match one kept, and are run by SQLAlchemy, whose
# cache knows their shape; the dictionary is emptied when full.
_BUILT: dict[tuple[Any, ...], tuple[tuple[ColumnElement[bool], ...], Any]] = {}
_BUILT_MOST = 64


def _delivery_events(dialect: str, own_status: bool, where: tuple[ColumnElement[bool], ...]) -> Any:
    """The INSERT of ``add_delivery_events``; PostgreSQL's JSON function has another name."""
    now = cast(_param("now"), BigInteger)
    status = deliveries.c.status if own_status else cast(_param("status"), Integer)
    # events.data's ``target or None`` of the call's target, or else the user bound
    call_target = func.nullif(messages.c.target, "")
    target = func.nullif(func.coalesce(call_target, deliveries.c.user_id), "")
    fields = (
        ("taskId", cast(deliveries.c.task_id, Text)),
        ("msgKey", messages.c.msg_key),
        ("target", target),
        ("device", devices.c.token),
        ("channel", deliveries.c.channel),
        ("status", status),
        ("time", now),
    )
    arguments = [part for name, value in fields for part in (literal_column(f"'{name}'"), value)]
    if dialect == "postgresql":
        payload = cast(func.json_build_object(*arguments), Text)
    else:
        payload = func.json_object(*arguments)
    rows = (
        select(
            webhook_endpoints.c.pk,
            cast(_param("event_type"), Text),
            messages.c.msg_key,
            messages.c.pk,
            payload,
            cast(_param("pending"), Text),
            literal_column("0"),
            now,
            now,
        )
        .join_from(deliveries, messages, deliveries.c.message_pk == messages.c.pk)
        .outerjoin(devices, deliveries.c.device_pk == devices.c.pk)
        .join(webhook_endpoints, webhook_endpoints.c.app_pk == deliveries.c.app_pk)
        .where(
            _one_of(dialect, webhook_endpoints.c.pk, "endpoints"),
            _one_of(dialect, deliveries.c.id, "ids"),
            *where,
        )
        .order_by(deliveries.c.id, webhook_endpoints.c.pk)
    )
    return insert(webhook_outbox).from_select(list(_OUTBOX_COLUMNS), rows)


def _one_of(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """``column`` holds one of the integers of the list parameter ``name``."""
    if dialect == "postgresql":
        return column == any_(cast(_param(name), ARRAY(BigInteger)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(_param(name))))


def _param(name: str) -> Any:
    """A parameter of ``_delivery_events``, with a value (None) so that its statement compiles
    to the driver's text without one (``render_postcompile``, which writes out the IN lists the
    conditions hold)."""
    return bindparam(name, None)


def _facts(app_pks: Collection[int], *where: ColumnElement[bool]) -> Any:
    return (
        select(
            deliveries.c.id,
            deliveries.c.app_pk,
            deliveries.c.task_id,
            deliveries.c.channel,
            deliveries.c.status,
            deliveries.c.user_id,
            messages.c.msg_key,
            messages.c.pk.label("message_pk"),
            messages.c.target,
            devices.c.token,
        )
        .join_from(deliveries, messages, deliveries.c.message_pk == messages.c.pk)
        .outerjoin(devices, deliveries.c.device_pk == devices.c.pk)
        .where(deliveries.c.app_pk.in_(list(app_pks)), *where)
        .order_by(deliveries.c.id)
    )


def message_pks(conn: Connection, task_id: int) -> dict[str, int]:
    """The pk of each message of the task, by its msgKey (unique within a task)."""
    query = select(messages.c.msg_key, messages.c.pk).where(messages.c.task_id == task_id)
    return {key: pk for key, pk in conn.execute(query)}


def device_facts(conn: Connection, device_pks: Sequence[int]) -> list[Row]:
    query = select(devices.c.pk, devices.c.app_pk, devices.c.token, devices.c.manufacturer)
    return _by_key(conn, query, devices.c.pk, device_pks)


def task_facts(conn: Connection, task_ids: Sequence[int]) -> list[Row]:
    query = select(tasks.c.id, tasks.c.parent_id, tasks.c.app_pk, tasks.c.due_at)
    return _by_key(conn, query, tasks.c.id, task_ids)


def _by_key(conn: Connection, query: Any, key: Any, values: Sequence[int]) -> list[Row]:
    rows: list[Row] = []
    for chunk in chunks(sorted(values)):
        rows.extend(conn.execute(query.where(key.in_(chunk))))
    return rows


def add_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Outbox rows: each ``endpoint_pk``, ``event_type``, ``msg_key``, ``message_pk``,
    ``payload``, ``created_at``. In multi-row statements (store/rows.py), in order: an app
    whose endpoints take ``delivery.arrived`` has a row written for every ack, and
    SQLAlchemy's insert of a dict per row cost more than the rest of recording the ack."""
    if rows:
        values = [
            (
                r["endpoint_pk"],
                r["event_type"],
                r["msg_key"],
                r["message_pk"],
                r["payload"],
                PENDING,
                0,
                at,
                at,
            )
            for r in rows
            for at in (r["created_at"],)
        ]
        insert_rows(conn, webhook_outbox.name, _OUTBOX_COLUMNS, values)


# A new outbox row's columns: pending, no attempt yet, due at once (next_attempt_at is its
# created_at).
_OUTBOX_COLUMNS = (
    "endpoint_pk",
    "event_type",
    "msg_key",
    "message_pk",
    "payload",
    "state",
    "attempts",
    "created_at",
    "next_attempt_at",
)


def add_event(conn: Connection, row: dict[str, Any], lease_until: int) -> Row:
    """One outbox row, leased until ``lease_until``; the row as ``claim_due`` gives it."""
    values = {**row, "state": PENDING, "attempts": 0, "next_attempt_at": lease_until}
    pk = conn.execute(insert(webhook_outbox).values(values)).inserted_primary_key[0]
    return conn.execute(_OWED.where(webhook_outbox.c.pk == pk)).one()


_OWED = select(
    webhook_outbox.c.pk,
    webhook_outbox.c.endpoint_pk,
    webhook_outbox.c.event_type,
    webhook_outbox.c.payload,
    webhook_outbox.c.created_at,
    webhook_outbox.c.attempts,
)


def next_due(conn: Connection) -> int | None:
    """When the soonest pending event of an enabled endpoint is due, or None."""
    query = (
        select(func.min(webhook_outbox.c.next_attempt_at))
        .join_from(
            webhook_outbox,
            webhook_endpoints,
            webhook_outbox.c.endpoint_pk == webhook_endpoints.c.pk,
        )
        .where(webhook_outbox.c.state == PENDING, webhook_endpoints.c.enabled.is_(True))
    )
    return conn.execute(query).scalar()


def claim_due(conn: Connection, now_ms: int, limit: int, lease_until: int) -> list[Row]:
    """Up to ``limit`` due events of enabled endpoints, leased to the caller until
    ``lease_until``: rows another process holds locked are skipped (PostgreSQL), and once this
    transaction commits the lease keeps them from everyone else until the attempt is over."""
    query = (
        _OWED.join_from(
            webhook_outbox,
            webhook_endpoints,
            webhook_outbox.c.endpoint_pk == webhook_endpoints.c.pk,
        )
        .where(
            webhook_outbox.c.state == PENDING,
            webhook_outbox.c.next_attempt_at <= now_ms,
            webhook_endpoints.c.enabled.is_(True),
        )
        .order_by(webhook_outbox.c.next_attempt_at, webhook_outbox.c.pk)
        .limit(limit)
        .with_for_update(of=webhook_outbox, skip_locked=True)
    )
    rows = list(conn.execute(query))
    for chunk in chunks([row.pk for row in rows]):
        conn.execute(
            update(webhook_outbox)
            .where(webhook_outbox.c.pk.in_(chunk))
            .values(next_attempt_at=lease_until)
        )
    return rows


def endpoint_exists(conn: Connection, pk: int) -> bool:
    query = select(webhook_endpoints.c.pk).where(webhook_endpoints.c.pk == pk)
    return conn.execute(query).first() is not None


def endpoints_by_pk(conn: Connection, pks: Collection[int]) -> list[Row]:
    query = select(webhook_endpoints).where(webhook_endpoints.c.pk.in_(list(pks)))
    return list(conn.execute(query))


def mark_delivered(conn: Connection, pks: Sequence[int], now_ms: int) -> None:
    for chunk in chunks(pks):
        conn.execute(
            update(webhook_outbox)
            .where(webhook_outbox.c.pk.in_(chunk))
            .values(
                state=DELIVERED,
                delivered_at=now_ms,
                attempts=webhook_outbox.c.attempts + 1,
            )
        )


def reschedule(conn: Connection, pks: Sequence[int], next_attempt_at: int) -> None:
    for chunk in chunks(pks):
        conn.execute(
            update(webhook_outbox)
            .where(webhook_outbox.c.pk.in_(chunk))
            .values(next_attempt_at=next_attempt_at, attempts=webhook_outbox.c.attempts + 1)
        )


def give_up(conn: Connection, pks: Sequence[int]) -> None:
    for chunk in chunks(pks):
        conn.execute(
            update(webhook_outbox)
            .where(webhook_outbox.c.pk.in_(chunk))
            .values(state=EXPIRED, attempts=webhook_outbox.c.attempts + 1)
        )


def add_attempt(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(webhook_attempts), [row])


def set_health(conn: Connection, endpoint_pk: int, values: dict[str, Any]) -> None:
    conn.execute(
        update(webhook_endpoints).where(webhook_endpoints.c.pk == endpoint_pk).values(values)
    )


def mark_failing(conn: Connection, endpoint_pk: int, now_ms: int, disable_before: int) -> None:
    """The endpoint is failing since now, unless it already was; disabled if it has been
    since before ``disable_before``."""
    row = webhook_endpoints.c
    conn.execute(
        update(webhook_endpoints)
        .where(row.pk == endpoint_pk)
        .values(failing_since=func.coalesce(row.failing_since, now_ms))
    )
    conn.execute(
        update(webhook_endpoints)
        .where(row.pk == endpoint_pk, row.failing_since < disable_before)
        .values(enabled=False)
    )


def delete_settled(conn: Connection, before_ms: int, limit: int) -> int:
    """Delete up to ``limit`` delivered or dropped events settled before ``before_ms``, and up
    to ``limit`` attempts made before it; how many rows went. Pending events are never
    deleted: what is owed stays until it is delivered or its retry period ends."""
    settled_at = func.coalesce(webhook_outbox.c.delivered_at, webhook_outbox.c.created_at)
    events = (
        select(webhook_outbox.c.pk)
        .where(webhook_outbox.c.state != PENDING, settled_at < before_ms)
        .limit(limit)
    )
    attempts = select(webhook_attempts.c.pk).where(webhook_attempts.c.at < before_ms).limit(limit)
    gone = 0
    for table, query in ((webhook_outbox, events), (webhook_attempts, attempts)):
        pks = list(conn.execute(query).scalars())
        if pks:
            gone += conn.execute(delete(table).where(table.c.pk.in_(pks))).rowcount
    return gone


# Managing endpoints.


def insert_endpoint(conn: Connection, row: dict[str, Any]) -> int:
    return conn.execute(insert(webhook_endpoints).values(row)).inserted_primary_key[0]


def endpoints_of(conn: Connection, app_pk: int) -> list[Row]:
    query = select(webhook_endpoints).where(webhook_endpoints.c.app_pk == app_pk)
    return list(conn.execute(query.order_by(webhook_endpoints.c.pk)))


def endpoint(conn: Connection, app_pk: int, pk: int) -> Row | None:
    query = select(webhook_endpoints).where(
        webhook_endpoints.c.app_pk == app_pk, webhook_endpoints.c.pk == pk
    )
    return conn.execute(query).first()


def delete_endpoint(conn: Connection, app_pk: int, pk: int) -> bool:
    for table in (webhook_outbox, webhook_attempts):
        conn.execute(delete(table).where(table.c.endpoint_pk == pk))
    result = conn.execute(
        delete(webhook_endpoints).where(
            webhook_endpoints.c.app_pk == app_pk, webhook_endpoints.c.pk == pk
        )
    )
    return result.rowcount > 0


def recent_attempts(conn: Connection, endpoint_pk: int, limit: int) -> list[Row]:
    query = (
        select(webhook_attempts)
        .where(webhook_attempts.c.endpoint_pk == endpoint_pk)
        .order_by(webhook_attempts.c.pk.desc())
        .limit(limit)
    )
    return list(conn.execute(query))


def counts_by_state(conn: Connection, endpoint_pk: int) -> dict[str, int]:
    query = (
        select(webhook_outbox.c.state, func.count())
        .where(webhook_outbox.c.endpoint_pk == endpoint_pk)
        .group_by(webhook_outbox.c.state)
    )
    return {state: count for state, count in conn.execute(query)}


def requeue(conn: Connection, endpoint_pk: int, since_ms: int, now_ms: int) -> int:
    """Make the endpoint's events made since ``since_ms`` due again; how many."""
    return conn.execute(
        update(webhook_outbox)
        .where(
            webhook_outbox.c.endpoint_pk == endpoint_pk,
            webhook_outbox.c.created_at >= since_ms,
        )
        .values(state=PENDING, next_attempt_at=now_ms, delivered_at=None)
    ).rowcount
