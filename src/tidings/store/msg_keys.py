"""Finding messages by msgKey, with the unique index kept per UTC day (tables.message_day).

The index enforces uniqueness within a day; ``used_recently`` extends it to the retry window,
the 24 hours before a call, by also looking at the previous day's keys. A message found by its
msgKey alone (a trace, a revocation) is looked up in every day that still holds messages: one
index probe a day, a few dozen under the default retention.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, and_, select

from tidings.instants import DAY_MS
from tidings.store.plain import fetch_refusable, mark, marks
from tidings.store.tables import message_day, messages

RETRY_WINDOW_MS = DAY_MS


def used_recently(
    conn: Connection, app_pk: int, keys: Sequence[str], now_ms: int, *, today: bool = True
) -> list[tuple[str, int]]:
    """(msg_key, task_id) of each of ``keys`` the app used within the retry window; with
    ``today`` False, only of those used before the current UTC day, whose keys the unique
    index refuses by itself when the messages are inserted (acceptance checks only those: the
    probes of today's keys doubled the cost of the check, and found what the insert finds).
    Run through the driver (store/plain.fetch_refusable): every accepted call runs it."""
    if not keys:
        return []
    since = now_ms - RETRY_WINDOW_MS
    days = (since // DAY_MS, now_ms // DAY_MS) if today else (since // DAY_MS,)
    if conn.dialect.name == "postgresql":
        return fetch_refusable(conn, _PG_USED_RECENTLY, (app_pk, since, list(keys), list(days)))
    sql = _used_recently_sql(mark(conn), len(keys), len(days))
    return fetch_refusable(conn, sql, (app_pk, *days, *keys, since))


@functools.lru_cache(maxsize=128)
def _used_recently_sql(mark: str, count: int, days: int) -> str:
    """``used_recently``'s query as text (store/plain.py says why), its day spelled as the
    unique index spells it so that the index answers it."""
    return (
        "SELECT msg_key, task_id FROM messages"
        f" WHERE app_pk = {mark} AND created_at / {DAY_MS} IN ({marks(mark, days)})"
        f" AND msg_key IN ({marks(mark, count)}) AND created_at >= {mark}"
    )


# PostgreSQL plans the IN-list query above from statistics a fresh messages table does not have
# yet (autovacuum analyzes it a minute or more after the first rows): it then reads every
# message of the app (app_pk alone looks selective), and psycopg's server-side prepared
# statement keeps that plan, so on a new database each call's check grew with the table (250 ms
# at 50,000 messages). Here each (key, day) is a scalar subquery with equality on every column
# of the unique index, which the planner answers with one index probe whatever it knows.
_PG_USED_RECENTLY = (
    "SELECT msg_key, task_id FROM ("
    " SELECT k.msg_key, (SELECT task_id FROM messages"
    f"  WHERE app_pk = %s AND created_at / {DAY_MS} = d.day AND msg_key = k.msg_key"
    "   AND created_at >= %s) AS task_id"
    " FROM unnest(%s::varchar[]) AS k(msg_key), unnest(%s::bigint[]) AS d(day)"
    " OFFSET 0) AS probes"  # OFFSET 0: the subquery runs once per probe, not again in WHERE
    " WHERE task_id IS NOT NULL"
)


def sent_under(conn: Connection, app_pk: int, msg_key: str) -> ColumnElement[bool]:
    """A condition on messages: the app's messages sent under ``msg_key`` on any day from its
    oldest stored message's to its newest's, spelled as a list of days so that each day is one
    probe of the index (which also finds the first and last day)."""
    days = select(message_day).where(messages.c.app_pk == app_pk).limit(1)
    first = conn.execute(days.order_by(message_day)).scalar()
    last = conn.execute(days.order_by(message_day.desc())).scalar()
    stored = range(first, last + 1) if first is not None and last is not None else range(0)
    return and_(
        messages.c.app_pk == app_pk,
        message_day.in_(list(stored)),
        messages.c.msg_key == msg_key,
    )
