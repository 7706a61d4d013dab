"""Many rows in few statements: multi-row ``INSERT ... VALUES`` written once per shape.

``executemany``, and SQLAlchemy's insert of many rows with RETURNING on SQLite, run one statement
per row; the SQLite driver lets go of the GIL at every step, and with the event loop busy in the
other thread each hand-back costs ~0.2 ms. A 100-target PushMultiple spent 20 ms waiting that
way, a 5,000-delivery dispatch most of a second. One multi-row statement steps once.

PostgreSQL is the other way round: psycopg parses every statement's placeholders in Python and
caches only short statements, so a 500-row statement cost it ~50 ms of parsing, while its
``executemany`` of the one-row statement is pipelined (one round trip for the batch) and parsed
once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection

from tidings.store.chunks import chunks
from tidings.store.plain import mark, marks

MAX_PARAMETERS = 30_000  # under SQLite's 32,766 and PostgreSQL's 65,535 bind parameters
MAX_ROWS = 500


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in ``columns`` order) into ``table``."""
    if conn.dialect.name == "postgresql":
        sql = insert_sql(mark(conn), table, tuple(columns), 1)
        conn.exec_driver_sql(sql, [tuple(row) for row in rows])
        return
    per_statement = max(1, min(MAX_ROWS, MAX_PARAMETERS // len(columns)))
    for chunk in chunks(rows, per_statement):
        sql = insert_sql(mark(conn), table, tuple(columns), len(chunk))
        conn.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))


@functools.lru_cache(maxsize=128)
def insert_sql(mark: str, table: str, columns: tuple[str, ...], count: int) -> str:
    """``INSERT`` of ``count`` rows of ``columns``, with ``mark`` for each value."""
    group = f"({marks(mark, len(columns))})"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([group] * count)
