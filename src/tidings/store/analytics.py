"""Queries for analytics: the counter rows (push_stats) and the tasks they describe.

Counters change by increments inside the transactions that change deliveries, so they never
disagree with them; a query sums counter rows, never deliveries. Increments touch rows in pk
order, so two transactions counting into the same rows wait for each other instead of
deadlocking.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import chain

from sqlalchemy import Connection, Row, bindparam, func, or_, select

from tidings.store.chunks import chunks
from tidings.store.plain import fetch, mark, marks, run_many
from tidings.store.tables import push_stats, tasks

COUNTS = ("pushed", "successful", "arrived", "opened")
KEY = ("task_id", "slot", "platform", "channel")


# What a counter row says of its task: (id, app_pk, push_id, action, delivery_type).
TASK_FACTS = (
    tasks.c.id,
    tasks.c.app_pk,
    func.coalesce(tasks.c.parent_id, tasks.c.id).label("push_id"),
    tasks.c.action,
    tasks.c.delivery_type,
)


def task_facts(conn: Connection, task_ids: Collection[int]) -> dict[int, Row]:
    """The TASK_FACTS of each task."""
    found: dict[int, Row] = {}
    for chunk in chunks(sorted(task_ids)):
        query = _TASK_FACTS.where(tasks.c.id.in_(bindparam("ids", expanding=True)))
        found.update({row.id: row for row in conn.execute(query, {"ids": list(chunk)}).all()})
    return found


_TASK_FACTS = select(*TASK_FACTS)  # built once: every dispatch reads its tasks' facts


def add_pushed(
    conn: Connection, rows: Sequence[tuple[int, int, int, str, int, str, str, int]]
) -> dict[tuple[int, str, str], int]:
    """Count new deliveries: each row is (app_pk, task_id, push_id, action, slot, platform,
    channel, pushed), added to the counter row it names (made if missing). The pk of each
    counter row, by (task_id, platform, channel).

    One statement for all of them, written as text and run through the driver
    (store/plain.py): dispatch counts every task of every claim, and one SQLAlchemy upsert per
    task cost more than the counting."""
    found: dict[tuple[int, str, str], int] = {}
    for chunk in chunks(rows, UPSERT_ROWS):
        sql = _upsert_pushed_sql(mark(conn), len(chunk))
        for pk, task_id, platform, channel in fetch(conn, sql, tuple(chain.from_iterable(chunk))):
            found[(task_id, platform, channel)] = pk
    return found


UPSERT_ROWS = 500
_PUSHED_COLUMNS = ("app_pk", "task_id", "push_id", "action", "slot", "platform", "channel")


@functools.lru_cache(maxsize=128)
def _upsert_pushed_sql(mark: str, count: int) -> str:
    """The counting upsert of ``count`` rows; it returns each row's key with its pk, since
    neither database promises RETURNING in the order of VALUES."""
    row = f"({marks(mark, len(_PUSHED_COLUMNS) + 1)}, 0, 0, 0)"  # pushed given, the rest 0
    return (
        f"INSERT INTO push_stats ({', '.join((*_PUSHED_COLUMNS, *COUNTS))}) VALUES "
        + ", ".join([row] * count)
        + f" ON CONFLICT ({', '.join(KEY)})"
        " DO UPDATE SET pushed = push_stats.pushed + excluded.pushed"
        " RETURNING pk, task_id, platform, channel"
    )


def add(conn: Connection, columns: Iterable[str], counts: Mapping[int, int]) -> None:
    """Add ``counts[pk]`` to each of ``columns`` of row ``pk``. Written as text and run
    through the driver (store/plain.py): every batch of acks and every dispatch runs it."""
    if not counts:
        return
    names = tuple(columns)
    rows = [(*[n] * len(names), pk) for pk, n in sorted(counts.items())]
    run_many(conn, _add_sql(mark(conn), names), rows)


@functools.lru_cache(maxsize=16)
def _add_sql(mark: str, columns: tuple[str, ...]) -> str:
    """The increment of ``columns`` of one row, by as much each."""
    sets = ", ".join(f"{name} = {name} + {mark}" for name in columns)
    return f"UPDATE push_stats SET {sets} WHERE pk = {mark}"


def totals(
    conn: Connection,
    app_pk: int,
    since_slot: int,
    until_slot: int,
    *,
    platform: str | None,
    channel: str | None,
    action: str | None,
    task_id: int | None,
) -> Row:
    """The sums of the app's counters over slots in [since_slot, until_slot), filtered."""
    query = select(*(func.coalesce(func.sum(push_stats.c[n]), 0).label(n) for n in COUNTS)).where(
        push_stats.c.app_pk == app_pk,
        push_stats.c.slot >= since_slot,
        push_stats.c.slot < until_slot,
    )
    if platform is not None:
        query = query.where(push_stats.c.platform == platform)
    if channel is not None:
        query = query.where(push_stats.c.channel == channel)
    if action is not None:
        query = query.where(push_stats.c.action == action)
    if task_id is not None:
        query = query.where(or_(push_stats.c.push_id == task_id, push_stats.c.task_id == task_id))
    return conn.execute(query).one()


def by_slot(conn: Connection, app_pk: int, since_slot: int, until_slot: int) -> list[Row]:
    """(slot, successful, opened) summed per quarter hour of the app's pushes in the window."""
    query = (
        select(
            push_stats.c.slot,
            func.sum(push_stats.c.successful).label("successful"),
            func.sum(push_stats.c.opened).label("opened"),
        )
        .where(
            push_stats.c.app_pk == app_pk,
            push_stats.c.slot >= since_slot,
            push_stats.c.slot < until_slot,
        )
        .group_by(push_stats.c.slot)
    )
    return list(conn.execute(query))


def task_totals(conn: Connection, task_id: int) -> Row:
    """The sums of a push's counters (every occurrence of a scheduled one), or an occurrence's."""
    query = select(*(func.coalesce(func.sum(push_stats.c[n]), 0).label(n) for n in COUNTS)).where(
        or_(push_stats.c.push_id == task_id, push_stats.c.task_id == task_id)
    )
    return conn.execute(query).one()


_TASK = (
    tasks.c.id,
    tasks.c.parent_id,
    tasks.c.name,
    tasks.c.action,
    tasks.c.template_pk,
    tasks.c.template_name,
    tasks.c.strategy_type,
    tasks.c.expired_seconds,
    tasks.c.created_at,
    tasks.c.due_at,
)


def task_page(
    conn: Connection,
    app_pk: int,
    actions: Collection[str],
    since_ms: int,
    *,
    task_id: int | None,
    name: str | None,
    offset: int,
    limit: int,
) -> list[Row]:
    """The app's pushes (not occurrences) of ``actions`` made since ``since_ms``, newest first."""
    query = select(*_TASK).where(
        tasks.c.app_pk == app_pk,
        tasks.c.parent_id.is_(None),
        tasks.c.action.in_(list(actions)),
        tasks.c.created_at >= since_ms,
    )
    if task_id is not None:
        query = query.where(tasks.c.id == task_id)
    if name is not None:
        query = query.where(tasks.c.name.contains(name, autoescape=True))
    query = query.order_by(tasks.c.id.desc()).offset(offset).limit(limit)
    return list(conn.execute(query))


def occurrences(conn: Connection, parent_ids: Collection[int]) -> list[Row]:
    """The occurrences of these scheduled pushes, by due time."""
    rows: list[Row] = []
    for chunk in chunks(sorted(parent_ids)):
        query = select(*_TASK).where(tasks.c.parent_id.in_(chunk))
        rows.extend(conn.execute(query.order_by(tasks.c.due_at, tasks.c.id)))
    return rows


def find_task(conn: Connection, app_pk: int, task_id: int) -> Row | None:
    query = select(*_TASK).where(tasks.c.app_pk == app_pk, tasks.c.id == task_id)
    return conn.execute(query).first()


def due_span(conn: Connection, parent_id: int) -> Row:
    """(first, last) due time of a scheduled push's occurrences."""
    query = select(
        func.min(tasks.c.due_at).label("first"), func.max(tasks.c.due_at).label("last")
    ).where(tasks.c.parent_id == parent_id)
    return conn.execute(query).one()
