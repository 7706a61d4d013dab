"""Queries for delivery: claiming due tasks, writing deliveries, settling their status.

Every function takes plain values and returns rows; the status numbers and task states are the
caller's (contract.py, push/service.py), passed in, so this module holds no rules.
"""

from __future__ import annotations

import functools
from collections import Counter, namedtuple
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)

from tidings.store.analytics import TASK_FACTS
from tidings.store.chunks import chunks
from tidings.store.devices import ADDRESS, address_columns
from tidings.store.plain import (
    fetch,
    fetch_statement,
    mark,
    one_of,
    one_of_values,
    statement_text,
    unindexed,
)
from tidings.store.rows import insert_keyed
from tidings.store.tables import (
    WAITING,
    deliveries,
    delivery_events,
    devices,
    messages,
    tasks,
)

TASK_COLUMNS = (
    tasks.c.id,
    tasks.c.parent_id,
    tasks.c.app_pk,
    tasks.c.delivery_type,
    tasks.c.expired_seconds,
    tasks.c.options,
    tasks.c.created_at,
    tasks.c.due_at,
    tasks.c.request_id,
)
# What dispatch claims of a task: the columns it plans with, and the facts its analytics
# counters name (store.analytics.TASK_FACTS), so counting reads no task again.
CLAIM_COLUMNS = (
    *TASK_COLUMNS,
    *(c for c in TASK_FACTS if c.name not in {t.name for t in TASK_COLUMNS}),
)
MESSAGE_COLUMNS = (
    messages.c.pk,
    messages.c.task_id,
    messages.c.msg_key,
    messages.c.target,
    messages.c.title,
    messages.c.content,
    messages.c.uri,
    messages.c.extended_params,
)
# An outbound delivery: the delivery, its device's address (none for a Live Activity, whose
# delivery keeps its push token), its message and its task's options.
OUTBOUND = (
    select(
        deliveries.c.id,
        deliveries.c.channel,
        deliveries.c.expires_at,
        deliveries.c.push_token,
        *ADDRESS,
        tasks.c.id.label("task_id"),
        tasks.c.options,
        tasks.c.request_id,
        messages.c.msg_key,
        messages.c.title,
        messages.c.content,
        messages.c.uri,
        messages.c.extended_params,
    )
    .join_from(deliveries, devices, deliveries.c.device_pk == devices.c.pk, isouter=True)
    .join(tasks, deliveries.c.task_id == tasks.c.id)
    .join(messages, deliveries.c.message_pk == messages.c.pk)
)
# What every query that hands deliveries to a channel adds: the message is not revoked. A
# revocation marks its messages revoked in its first transaction and moves their deliveries a
# page at a time after it (revoke/service.py), so until its last page, or for good if the
# process stops before, a revoked message's delivery may still be pending or waiting here.
NOT_REVOKED = messages.c.revoked_at.is_(None)
# The same of a delivery read without its message (a pk lookup per delivery).
MESSAGE_NOT_REVOKED = (
    select(messages.c.pk).where(messages.c.pk == deliveries.c.message_pk, NOT_REVOKED).exists()
)


def claim_due_tasks(
    conn: Connection, state: str, now_ms: int, limit: int, skip_action: str | None = None
) -> list[Any]:
    """Tasks in ``state`` that are due (ClaimedTask), locked for this transaction; none
    of ``skip_action`` (broadcasts, which delivery resolves a batch at a time).

    On PostgreSQL ``SKIP LOCKED`` lets several processes claim side by side, each task going to
    one of them; SQLite has one writer at a time and ignores the clause.
    """
    query = _claim_query(skip_action is not None, limit)
    values = {"state": state, "now": now_ms, "skip": skip_action}
    return list(map(ClaimedTask._make, fetch_statement(conn, query, values)))


# A claimed task: its CLAIM_COLUMNS by name (read by name, as a Row's would be, and by
# position), run through the driver (store/plain.py) at every claim.
ClaimedTask = namedtuple("ClaimedTask", [column.name for column in CLAIM_COLUMNS])


@functools.lru_cache(maxsize=16)
def _claim_query(skipping: bool, limit: int) -> Any:
    """``claim_due_tasks``'s query, built once per shape: dispatch runs it at every wake-up."""
    query = select(*CLAIM_COLUMNS).where(
        tasks.c.state == bindparam("state"), tasks.c.due_at <= bindparam("now")
    )
    if skipping:
        query = query.where(tasks.c.action != bindparam("skip"))
    return query.order_by(tasks.c.due_at, tasks.c.id).limit(limit).with_for_update(skip_locked=True)


def set_task_state(conn: Connection, task_ids: Sequence[int], state: str) -> None:
    """Written as text (store/plain.py): every claim marks its tasks."""
    placeholder = mark(conn)
    for chunk in chunks(task_ids):
        sql = f"UPDATE tasks SET state = {placeholder} WHERE id {one_of(placeholder, len(chunk))}"
        fetch(conn, sql, (state, *one_of_values(placeholder, chunk)))


def configured_channels(conn: Connection, app_pks: Collection[int]) -> dict[int, set[str]]:
    """The vendor channels each app has configured. Written as text (store/plain.py): every
    claim reads them."""
    found: dict[int, set[str]] = {app_pk: set() for app_pk in app_pks}
    placeholder, apps = mark(conn), list(app_pks)
    where = f"app_pk {one_of(placeholder, len(apps))}"
    sql = f"SELECT app_pk, channel FROM channel_configs WHERE {where}"
    for app_pk, channel in fetch(conn, sql, one_of_values(placeholder, apps)):
        found[app_pk].add(channel)
    return found


def messages_of(conn: Connection, task_ids: Collection[int]) -> list[tuple[Any, ...]]:
    """The message rows of these tasks not revoked (tuples of MESSAGE_COLUMNS, in its order),
    task by task, each task's in the order they were accepted.

    Written as text and read as the driver's tuples (store/plain.py): every dispatch reads the
    messages of its tasks. Ordered by (task_id, pk), the order the task_id index holds them
    in: ordered by pk alone, SQLite copied a claim's thousands of rows, texts and all, into a
    sorter first."""
    return _of_tasks(conn, _messages_of_sql, task_ids)


def _of_tasks(
    conn: Connection, sql_of: Callable[[str, int], str], task_ids: Collection[int]
) -> list[tuple[Any, ...]]:
    """The rows of the statement ``sql_of`` writes for ``task_ids``, a chunk at a time."""
    rows: list[tuple[Any, ...]] = []
    placeholder = mark(conn)
    for chunk in chunks(list(task_ids)):
        rows.extend(fetch(conn, sql_of(placeholder, len(chunk)), one_of_values(placeholder, chunk)))
    return rows


@functools.lru_cache(maxsize=128)
def _messages_of_sql(mark: str, count: int) -> str:
    columns = ", ".join(column.name for column in MESSAGE_COLUMNS)
    return (
        f"SELECT {columns} FROM messages WHERE task_id {one_of(mark, count)}"
        " AND revoked_at IS NULL ORDER BY task_id, pk"
    )


def messages_to_devices(conn: Connection, task_ids: Collection[int]) -> list[tuple[Any, ...]]:
    """``messages_of`` for tasks whose targets are DeliveryTokens: each message row followed by
    the address of the app's device holding its target as token (store.devices.ADDRESS's
    columns but the token, which is the target: all NULL when no device holds it), in the same
    order. The token is not read twice: each column the driver reads lets go of the GIL and
    back on Python 3.11 (its ``sqlite3_column_type``), and makes a string of a 64-character
    APNs token.

    One statement, the messages joined to their devices: read apart (the messages, then their
    tokens' devices, bound as an IN list), a dispatch of 2,000 messages to devices cost SQLite
    ~0.8 µs more a message (bench/claim_cpu.py), and stepped the driver, which lets go of the
    GIL at each step (store/rows.py), through every row twice."""
    return _of_tasks(conn, _messages_to_devices_sql, task_ids)


@functools.lru_cache(maxsize=128)
def _messages_to_devices_sql(mark: str, count: int) -> str:
    message = ", ".join(f"m.{column.name}" for column in MESSAGE_COLUMNS)
    return (
        f"SELECT {message}, {address_columns('d', but_token=True)} FROM messages m"
        " LEFT JOIN devices d ON d.app_pk = m.app_pk AND d.token = m.target"
        f" WHERE m.task_id {one_of(mark, count)} AND m.revoked_at IS NULL"
        " ORDER BY m.task_id, m.pk"
    )


def insert_deliveries(
    conn: Connection,
    shared: Sequence[str],
    columns: Sequence[str],
    groups: Sequence[tuple[tuple[Any, ...], Sequence[Sequence[Any]]]],
) -> None:
    """Insert delivery rows in ``groups``: (values of the ``shared`` columns, rows of values in
    ``columns`` order, ``id`` among them, drawn by ``new_delivery_ids`` in the same
    transaction). Written by store/rows.insert_keyed, which binds a group's values once on
    SQLite and writes by COPY on PostgreSQL (store/rows.py says why RETURNING is no way to
    learn the ids on SQLite). Statuses are given as plain ints (an enum binds slowly)."""
    if groups:
        insert_keyed(conn, deliveries.name, shared, columns, groups)


def new_delivery_ids(conn: Connection, count: int) -> list[int]:
    """Ids for ``count`` new deliveries: from the column's sequence on PostgreSQL; on SQLite,
    the ones after the largest, which no one else can take while this transaction holds the
    database's only write lock."""
    if not count:
        return []
    if conn.dialect.name == "postgresql":  # read as the driver's tuples (store/plain.py)
        return [row[0] for row in fetch(conn, _NEXT_IDS, (count,))]
    largest = fetch(conn, "SELECT max(id) FROM deliveries", ())[0][0] or 0
    return list(range(largest + 1, largest + 1 + count))


_NEXT_IDS = "SELECT nextval(pg_get_serial_sequence('deliveries', 'id')) FROM generate_series(1, %s)"


def pending_outbound(
    conn: Connection,
    device_pks: Sequence[int],
    status: int,
    channel: str,
    now_ms: int,
    per_device: int,
) -> list[Row]:
    """The first ``per_device`` deliveries still to send to each of these devices over
    ``channel``, oldest first: a device owed thousands is read a page at a time.

    Found by the devices' index: ``expires_at`` is compared as an expression, which no index
    serves, since without statistics SQLite's planner otherwise took (status, expires_at) and
    walked every pending delivery of every device (a broadcast to 100,000 offline devices made
    each connect's read, and each page's for the devices online, cost 30 ms)."""
    rows: list[Row] = []
    for chunk in chunks(device_pks):
        first = _first_per_device(
            per_device,
            deliveries.c.device_pk.in_(chunk),
            deliveries.c.status == status,
            deliveries.c.channel == channel,
            deliveries.c.expires_at + 0 > now_ms,
            MESSAGE_NOT_REVOKED,
        )
        rows.extend(conn.execute(OUTBOUND.where(first).order_by(deliveries.c.id)))
    return rows


def _first_per_device(per_device: int, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """A condition on deliveries: among those matching ``conditions``, one of the
    ``per_device`` lowest ids of its device."""
    ranked = (
        select(
            deliveries.c.id,
            func.row_number()
            .over(partition_by=deliveries.c.device_pk, order_by=deliveries.c.id)
            .label("rank"),
        )
        .where(*conditions)
        .subquery()
    )
    return deliveries.c.id.in_(select(ranked.c.id).where(ranked.c.rank <= per_device))


def outbound_by_id(
    conn: Connection, ids: Sequence[int], *, revoked_too: bool = False
) -> list[OutboundRow]:
    """The OUTBOUND rows of these deliveries (OutboundRow), to send (those of revoked messages
    left out) or, ``revoked_too``, to ask a vendor to take back.

    OUTBOUND's text is compiled once and run through the driver (store/plain.py), the ids as
    ``one_of``'s list: a revocation reads a broadcast's 100,000 recalls so, 1,000 at a time,
    where SQLAlchemy's rendering of each IN list and its Row for each delivery cost the reader
    thread a quarter of the read (38,000 instructions a delivery on SQLite against 28,000), and
    the reading of a Row's columns by name (an Outbound built of it reads fifteen) cost the
    event loop's building of the Outbounds two thirds of it (58,000 against 18,000)."""
    placeholder = mark(conn)
    kept = "" if revoked_too else f" AND {statement_text(conn, NOT_REVOKED)}"
    rows: list[OutboundRow] = []
    for chunk in chunks(ids):
        sql = (
            f"{statement_text(conn, OUTBOUND)} WHERE deliveries.id "
            f"{one_of(placeholder, len(chunk))}{kept} ORDER BY deliveries.id"
        )
        rows.extend(map(_outbound_row, fetch(conn, sql, one_of_values(placeholder, chunk))))
    return rows


# A delivery as OUTBOUND reads it: its columns by name (read by name, as a Row's would be).
OutboundRow = namedtuple("OutboundRow", OUTBOUND.selected_columns.keys())  # type: ignore[misc]
_outbound_row = OutboundRow._make


def due_retries(
    conn: Connection, status: int, skip_channel: str, now_ms: int, limit: int
) -> list[Row]:
    """Pending deliveries a channel asked to be handed again from a time now past.

    Found by the partial index of the rows with a next attempt (tables.RETRIES), in its order:
    the status is written into the statement, not bound, so that a generic plan on PostgreSQL
    can see the query lies within it."""
    query = (
        OUTBOUND.where(
            deliveries.c.status == literal(status, literal_execute=True),
            deliveries.c.channel != skip_channel,
            deliveries.c.next_attempt_at <= now_ms,
            deliveries.c.expires_at > now_ms,
            NOT_REVOKED,
        )
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
    )
    return list(conn.execute(query))


def lease(conn: Connection, ids: Sequence[int], until_ms: int) -> None:
    """Push the next attempt of these deliveries back to ``until_ms`` while one is under way."""
    for chunk in chunks(ids):
        conn.execute(
            update(deliveries).where(deliveries.c.id.in_(chunk)).values(next_attempt_at=until_ms)
        )


def settle(
    conn: Connection,
    ids: Sequence[int],
    from_statuses: Collection[int],
    values: dict[str, Any],
    raised: Sequence[str] = (),
) -> Counter[int | None]:
    """Set ``values`` on the deliveries among ``ids`` whose status is one of ``from_statuses``,
    and add one to each column named in ``raised`` (an expression in the SQL, not a value);
    how many changed under each ``stat_pk`` (the analytics counter row they count in).

    The counts come from SQL, a row per stat_pk, not from a row or an object per delivery. On
    SQLite, where RETURNING steps once per row (store/rows.py), the rows about to change are
    counted first and then changed without RETURNING: the transaction holds SQLite's only write
    lock, so nothing changes in between. On PostgreSQL, where another transaction may, the
    update hands the rows it changed to the count in the same statement. Written as text and
    run through the driver (store/plain.py), the ids as ``one_of``'s list: every batch of acks
    runs them, and batches come in any size."""
    changed: Counter[int | None] = Counter()
    placeholder = mark(conn)
    statuses = [int(status) for status in from_statuses]
    settled = tuple(values.values())
    for chunk in chunks(ids):
        chosen = (*one_of_values(placeholder, chunk), *one_of_values(placeholder, statuses))
        change, count = _settle_sql(
            placeholder, tuple(values), tuple(raised), len(chunk), len(statuses)
        )
        if placeholder == "?":  # SQLite: counted before the change
            counted = fetch(conn, count, chosen)
            fetch(conn, change, (*settled, *chosen))
        else:
            counted = fetch(conn, count, (*settled, *chosen))
        for stat_pk, number in counted:
            changed[stat_pk] += number
    return changed


@functools.lru_cache(maxsize=128)
def _settle_sql(
    mark: str, columns: tuple[str, ...], raised: tuple[str, ...], count: int, statuses: int
) -> tuple[str, str]:
    """``settle``'s change of the rows, and their count by stat_pk: on SQLite (``?``) a
    statement run before the change, on PostgreSQL the change itself, counted.

    The rows are found by id, the status kept out of SQLite's choice of index
    (``plain.unindexed`` says why)."""
    status = unindexed(mark, "status")
    where = f"WHERE id {one_of(mark, count)} AND {status} {one_of(mark, statuses)}"
    sets = ", ".join([f"{c} = {mark}" for c in columns] + [f"{c} = {c} + 1" for c in raised])
    change = f"UPDATE deliveries SET {sets} {where}"
    if mark == "?":
        return change, f"SELECT stat_pk, count(*) FROM deliveries {where} GROUP BY stat_pk"
    counted = "SELECT stat_pk, count(*) FROM changed GROUP BY stat_pk"
    return change, f"WITH changed AS ({change} RETURNING stat_pk) {counted}"


def mark_opened(
    conn: Connection, opens: Sequence[tuple[int, int]], now_ms: int
) -> list[tuple[int, int | None]]:
    """Record the first open of deliveries, each (device_pk, id): a device reports opens of its
    own deliveries only. The id and ``stat_pk`` of each one opened just now.

    The deliveries not opened yet are read by id with their device, and those of the device
    that reported them changed: two statements a chunk of opens, written as text and run
    through the driver (store/plain.py), where a SQLAlchemy UPDATE for each device had cost
    ~300 µs of the writer's CPU an open. The read locks the rows on PostgreSQL, so that no
    other transaction opens them in between; on SQLite this transaction holds the only write
    lock."""
    reported = set(opens)
    opened: list[tuple[int, int | None]] = []
    placeholder = mark(conn)
    for chunk in chunks(sorted({delivery_id for _, delivery_id in reported})):
        sql = _unopened_sql(placeholder, len(chunk))
        rows = fetch(conn, sql, one_of_values(placeholder, chunk))
        mine = [(i, stat_pk) for i, device_pk, stat_pk in rows if (device_pk, i) in reported]
        if mine:
            ids = one_of_values(placeholder, [i for i, _ in mine])
            fetch(conn, _opened_sql(placeholder, len(mine)), (now_ms, now_ms, *ids))
            opened.extend(mine)
    return opened


@functools.lru_cache(maxsize=64)
def _unopened_sql(mark: str, count: int) -> str:
    """``mark_opened``'s read of ``count`` deliveries not opened yet, locked on PostgreSQL."""
    lock = "" if mark == "?" else " FOR UPDATE"
    return (
        f"SELECT id, device_pk, stat_pk FROM deliveries WHERE id {one_of(mark, count)}"
        f" AND opened_at IS NULL{lock}"
    )


@functools.lru_cache(maxsize=64)
def _opened_sql(mark: str, count: int) -> str:
    """``mark_opened``'s change of ``count`` deliveries it read."""
    where = f"id {one_of(mark, count)}"
    return f"UPDATE deliveries SET opened_at = {mark}, updated_at = {mark} WHERE {where}"


def vendor_receipt_conditions(
    app_pk: int, channel: str, column: str, status: int
) -> list[ColumnElement[bool]]:
    """Which deliveries a vendor receipt's fact may be recorded on: the app's, taken by
    ``channel`` (so in ``status``), where ``column`` (``acked_at`` or ``opened_at``) is not
    known yet. Shared by ``mark_by_vendor`` and the webhook events written just before it."""
    return [
        deliveries.c.app_pk == app_pk,
        deliveries.c.channel == channel,
        deliveries.c.status == status,
        deliveries.c[column].is_(None),
    ]


def mark_by_vendor(
    conn: Connection,
    ids: Sequence[int],
    column: str,
    conditions: Sequence[ColumnElement[bool]],
    now_ms: int,
) -> list[int | None]:
    """Record a vendor receipt's fact (``acked_at``: it arrived; ``opened_at``: it was opened)
    on the deliveries among ``ids`` that meet ``conditions`` (``vendor_receipt_conditions``).
    The stat_pk of each one changed."""
    changed: list[int | None] = []
    for chunk in chunks(sorted(set(ids))):
        query = (
            update(deliveries)
            .where(deliveries.c.id.in_(chunk), *conditions)
            .values({column: now_ms, "updated_at": now_ms})
            .returning(deliveries.c.stat_pk)
        )
        changed.extend(conn.execute(query).scalars())
    return changed


def of_app_and_channel(conn: Connection, app_pk: int, channel: str, ids: Sequence[int]) -> set[int]:
    """Those of ``ids`` that are deliveries of the app over ``channel``."""
    found: set[int] = set()
    for chunk in chunks(sorted(set(ids))):
        found.update(
            conn.execute(
                select(deliveries.c.id).where(
                    deliveries.c.id.in_(chunk),
                    deliveries.c.app_pk == app_pk,
                    deliveries.c.channel == channel,
                )
            ).scalars()
        )
    return found


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Delivery events: each ``delivery_id``, ``at``, ``status``, ``reason``."""
    if rows:
        conn.execute(insert(delivery_events), list(rows))


def record_outcomes(conn: Connection, outcomes: Iterable[dict[str, Any]]) -> None:
    """Each vendor outcome other than an acceptance (which ``settle`` records many at a time):
    ``b_id``, ``b_from`` (the status it must still have), ``status``, ``reason``,
    ``next_attempt_at``, ``sent_at``, ``updated_at``."""
    rows = list(outcomes)
    if not rows:
        return
    conn.execute(
        update(deliveries)
        .where(
            and_(
                deliveries.c.id == bindparam("b_id"),
                deliveries.c.status == bindparam("b_from"),
            )
        )
        .values(
            status=bindparam("status"),
            reason=bindparam("reason"),
            next_attempt_at=bindparam("next_attempt_at"),
            sent_at=bindparam("sent_at"),
            attempts=deliveries.c.attempts + 1,
            updated_at=bindparam("updated_at"),
        ),
        rows,
    )


def overdue(conn: Connection, open_statuses: Collection[int], now_ms: int, limit: int) -> list[Row]:
    """(id, channel) of at most ``limit`` open deliveries whose validity is over, locked against
    another process's sweep (which skips them and takes the next ones).

    Found by the partial index of open deliveries (tables.OPEN_BY_EXPIRY), one status at a
    time, each in the order its deliveries expired: the status is written into the statement,
    not bound, so that SQLite and a generic plan on PostgreSQL can see the query lies within
    the index. Unordered, PostgreSQL's planner (its statistics count status and expiry apart)
    expected open overdue deliveries all over the table and scanned all of it every sweep."""
    rows: list[Row] = []
    for status in sorted(open_statuses):
        if len(rows) == limit:
            break
        query = (
            select(deliveries.c.id, deliveries.c.channel)
            .where(
                deliveries.c.status == literal(status, literal_execute=True),
                deliveries.c.expires_at <= now_ms,
            )
            .order_by(deliveries.c.expires_at)
            .limit(limit - len(rows))
            .with_for_update(skip_locked=True)
        )
        rows.extend(conn.execute(query))
    return rows


def expire(conn: Connection, ids: Sequence[int], expired: int, now_ms: int) -> None:
    """Mark these deliveries (``overdue``'s, read in the same transaction) expired."""
    for chunk in chunks(ids):
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chunk))
            .values(status=expired, updated_at=now_ms)
        )


def waiting_for_user(conn: Connection, app_pk: int, user_id: str, now_ms: int) -> list[Row]:
    """A user's NoBindInfo rows still valid, with their task's options (for routing).

    The status is written into the statement, not bound: only then can SQLite (and a generic
    plan on PostgreSQL) see that the query lies within the partial index of waiting rows."""
    query = (
        select(deliveries.c.id, tasks.c.options, tasks.c.delivery_type)
        .join_from(deliveries, tasks, deliveries.c.task_id == tasks.c.id)
        .where(
            deliveries.c.app_pk == app_pk,
            deliveries.c.user_id == user_id,
            deliveries.c.status == literal(WAITING, literal_execute=True),
            # ``+ 0``: these two are checked on the rows found, never looked up by an index.
            # Without statistics (Tidings runs no ANALYZE) SQLite's planner would otherwise
            # rate (device_pk, status) or (status, expires_at) above the partial index of
            # waiting rows, and walk every waiting delivery of every user.
            (deliveries.c.device_pk + 0).is_(None),
            deliveries.c.expires_at + 0 > now_ms,
            MESSAGE_NOT_REVOKED,
        )
    )
    return list(conn.execute(query))


def hand_to_device(
    conn: Connection,
    ids: Sequence[int],
    device_pk: int,
    channel: str,
    status: int,
    now_ms: int,
    next_attempt_at: int | None,
) -> None:
    """Give waiting deliveries to a device over ``channel``, due for the retry sweep at
    ``next_attempt_at``: a vendor delivery's lease, None for a self-built one (its device is
    sent it when it connects)."""
    for chunk in chunks(ids):
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chunk))
            .values(
                device_pk=device_pk,
                channel=channel,
                status=status,
                next_attempt_at=next_attempt_at,
                updated_at=now_ms,
            )
        )


def close_for_device(
    conn: Connection, device_pk: int, user_id: str, from_status: int, status: int, now_ms: int
) -> int:
    """Close a device's deliveries addressed to ``user_id`` that it has not acknowledged yet."""
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.device_pk == device_pk,
            deliveries.c.user_id == user_id,
            deliveries.c.status == from_status,
        )
        .values(status=status, updated_at=now_ms)
    )
    return result.rowcount


def pending_recalls(
    conn: Connection,
    device_pks: Sequence[int],
    revoked: int,
    channel: str,
    since_ms: int,
    per_device: int,
) -> list[Row]:
    """(id, device_pk, task_id, msg_key) of the first ``per_device`` revoked deliveries on
    ``channel`` to each of these devices, revoked since ``since_ms`` and not yet confirmed by
    the device."""
    rows: list[Row] = []
    for chunk in chunks(device_pks):
        query = (
            select(
                deliveries.c.id,
                deliveries.c.device_pk,
                deliveries.c.task_id,
                messages.c.msg_key,
            )
            .join_from(deliveries, messages, deliveries.c.message_pk == messages.c.pk)
            .where(
                _first_per_device(
                    per_device,
                    deliveries.c.device_pk.in_(chunk),
                    deliveries.c.status == revoked,
                    deliveries.c.channel == channel,
                    deliveries.c.revoke_confirmed_at.is_(None),
                    deliveries.c.revoked_at >= since_ms,
                )
            )
            .order_by(deliveries.c.id)
        )
        rows.extend(conn.execute(query))
    return rows


def confirm_revoked(conn: Connection, ids: Sequence[int], revoked: int, now_ms: int) -> None:
    for chunk in chunks(ids):
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(chunk),
                deliveries.c.status == revoked,
                deliveries.c.revoke_confirmed_at.is_(None),
            )
            .values(revoke_confirmed_at=now_ms, updated_at=now_ms)
        )


def move_to_channel(
    conn: Connection,
    ids: Sequence[int],
    dead_tokens: Sequence[tuple[int, str]],
    channel: str,
    pending: int,
    now_ms: int,
) -> None:
    """Hand pending deliveries to another channel, forgetting the vendor tokens that died.

    A token is forgotten only if the device still holds it, so a token the device reported
    again meanwhile survives; the device is then known by its platform again. The deliveries
    are found by id (``status + 0`` keeps the status out of SQLite's choice of index, as in
    ``settle``: by status it would walk every pending delivery).
    """
    for device_pk, token in dead_tokens:
        conn.execute(
            update(devices)
            .where(devices.c.pk == device_pk, devices.c.third_token == token)
            .values(third_token=None, third_channel=None, manufacturer=devices.c.platform)
        )
    for chunk in chunks(list(ids)):
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chunk), deliveries.c.status + 0 == pending)
            .values(channel=channel, next_attempt_at=None, updated_at=now_ms)
        )
