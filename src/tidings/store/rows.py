"""Many rows in few statements: multi-row ``INSERT ... VALUES`` written once per shape.

``executemany``, and SQLAlchemy's insert of many rows with RETURNING on SQLite, run one statement
per row; the SQLite driver lets go of the GIL at every step, and with the event loop busy in the
other thread each hand-back costs ~0.2 ms. A 100-target PushMultiple spent 20 ms waiting that
way, a 5,000-delivery dispatch most of a second. One multi-row statement steps once.

PostgreSQL is the other way round: psycopg parses every statement's placeholders in Python and
caches only short statements, so a 500-row statement cost it ~50 ms of parsing, while its
``executemany`` of the one-row statement is pipelined (one round trip for the batch) and parsed
once.

On SQLite, a None or an enum bound as a parameter takes the driver's slow path (it looks for an
adapter for the value's type, ~0.45 µs a value against ~0.05 for an int or a text), and a
delivery row holds four or five Nones, a message row usually two (no uri, no extended
parameters): columns left None are written NULL in the statements' text, which come in sizes
from LADDER (store/plain.py) so that their texts are few.

Rows that carry their keys (ids drawn beforehand) and that no constraint is expected to refuse,
dispatch's deliveries, are written the fastest way each database has:

* on SQLite, in any order: one group for each arrangement of Nones, run through the driver,
  the values rows share (a task's, a channel's) bound once a statement (``insert_keyed``);
* on PostgreSQL, ``COPY ... FROM STDIN`` in the binary format, each row formatted by
  psycopg's C code: its ``executemany`` of one-row INSERTs still cost ~8 µs of Python a row.

COPY's errors then reach the caller as they are, not wrapped in SQLAlchemy's, which is why rows
a constraint may refuse (a msgKey already used) are not written so: the others are written in
order (acceptance's messages take their ids in it), NULL in the text for the columns all of them
leave None; on SQLite through the driver too, its errors wrapped as SQLAlchemy wraps them.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect

from tidings.store.plain import LADDER, fetch, fetch_refusable, mark, marks
from tidings.store.tables import metadata

MAX_PARAMETERS = 30_000  # under SQLite's 32,766 and PostgreSQL's 65,535 bind parameters
MAX_ROWS = 500


def insert_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    keyed: bool = False,
    shared: Sequence[str] = (),
    values: tuple[Any, ...] = (),
) -> None:
    """Insert ``rows`` (values in ``columns`` order), each with the ``values`` of the ``shared``
    columns, the same for every row (bound once a statement on SQLite, as ``insert_keyed``
    does), into ``table``, in order unless ``keyed``: the rows carry their keys and no
    constraint is expected to refuse them, so they are written in any order, and on PostgreSQL
    with COPY (the module's docstring says why)."""
    if keyed:
        insert_keyed(conn, table, shared, columns, [(values, rows)])
        return
    if conn.dialect.name == "postgresql":
        sql = insert_sql(mark(conn), table, (*shared, *columns), 1)
        conn.exec_driver_sql(sql, [(*values, *row) for row in rows])
        return
    # In order (the ids they are given follow it: SQLite inserts a VALUES list's rows in its
    # order), one group: NULL in the text for the columns every row leaves None.
    nulls = _null_columns(rows)
    per_statement = max(1, min(MAX_ROWS, (MAX_PARAMETERS - len(shared)) // len(columns)))
    sizes = _ladder(len(rows), per_statement)
    common, bound = _common(shared, values)
    run = fetch_refusable
    _insert_sqlite(
        conn, table, tuple(columns), rows, nulls, sizes, run, _bound(nulls), common, bound
    )


def insert_keyed(
    conn: Connection,
    table: str,
    shared: Sequence[str],
    columns: Sequence[str],
    groups: Iterable[tuple[tuple[Any, ...], Sequence[Sequence[Any]]]],
) -> None:
    """Insert rows that carry their keys and that no constraint is expected to refuse, in any
    order: ``groups`` of (the values of the ``shared`` columns, rows of ``columns``' values)
    that have those values in common, such as the deliveries of one task to one channel.

    On SQLite each statement binds a group's shared values once (``INSERT ... SELECT`` of a
    ``VALUES`` list of the rows' own columns): a delivery's row is 15 values of which 10 are
    its task's, its channel's and its counter's, and the driver binds each value with the GIL
    held (~0.24 µs a value, bench/claim_cpu.py). On PostgreSQL every row is written whole by
    COPY (the module's docstring says why)."""
    if conn.dialect.name == "postgresql":
        whole = ((*values, *row) for values, group in groups for row in group)
        _copy(conn, table, (*shared, *columns), whole)
        return
    per_statement = max(1, min(MAX_ROWS, (MAX_PARAMETERS - len(shared)) // len(columns)))
    for values, group in groups:
        common, bound = _common(shared, values)
        # A row's types tell where its Nones are: one C call a row, where asking each value
        # "is None" cost as much as binding it.
        shapes: defaultdict[tuple[type, ...], list[Sequence[Any]]] = defaultdict(list)
        for row in group:
            shapes[tuple(map(type, row))].append(row)
        for types, same in shapes.items():
            nulls = _nulls(types)
            sizes = _ladder(len(same), per_statement)
            # Run through the driver (store/plain.fetch) like COPY: SQLAlchemy's work around
            # each statement cost ~20 µs.
            _insert_sqlite(
                conn,
                table,
                tuple(columns),
                same,
                nulls,
                sizes,
                fetch,
                _bound(nulls),
                common,
                bound,
            )


NoneType = type(None)


def _common(
    shared: Sequence[str], values: tuple[Any, ...]
) -> tuple[tuple[tuple[str, bool], ...], tuple[Any, ...]]:
    """The ``shared`` columns, each with whether its value is None (NULL in the statement's
    text, as the rows' Nones), and the values to bind for the others."""
    nulls = _nulls(tuple(map(type, values)))
    bound = tuple(value for value, null in zip(values, nulls, strict=True) if not null)
    return tuple(zip(shared, nulls, strict=True)), bound


def _nulls(types: Sequence[type]) -> tuple[bool, ...]:
    """For each of a row's value types, whether the value is None."""
    return tuple(kind is NoneType for kind in types)


def _null_columns(rows: Sequence[Sequence[Any]]) -> tuple[bool, ...]:
    """For each column, whether every row leaves it None: looked for in the columns the first
    row leaves None, in C (~0.06 µs a message row; a set of the rows' types, as keyed rows are
    grouped, cost ~0.6, most of what NULL in the text saves)."""
    if not rows:
        return ()
    count = len(rows)
    return tuple(
        value is None and list(map(itemgetter(i), rows)).count(None) == count
        for i, value in enumerate(rows[0])
    )


def _ladder(count: int, most: int) -> list[int]:
    """Statement sizes from LADDER (none above ``most``) that add up to ``count``, largest
    first: at most seven."""
    sizes = []
    for size in (size for size in LADDER if size <= most):
        times, count = divmod(count, size)
        sizes.extend([size] * times)
    return sizes


def _copy(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """``rows`` into ``table`` by PostgreSQL's COPY, in this connection's transaction.

    In the binary format, each value formatted as its column's type (from the tables'
    definition, which a test holds to the migrations): psycopg formats a row of a delivery's 15
    columns in ~0.7 µs so, ~1.45 as text."""
    cursor = conn.connection.cursor()
    try:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(sql) as copy:
            copy.set_types(_types(conn.dialect, table, tuple(columns)))
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


@functools.lru_cache(maxsize=16)
def _types(dialect: Dialect, table: str, columns: tuple[str, ...]) -> list[str]:
    """The PostgreSQL type of each of ``columns`` of ``table``, by the name psycopg knows it
    by (``VARCHAR(16)`` is ``varchar``)."""
    found = metadata.tables[table].c
    return [found[name].type.compile(dialect=dialect).split("(")[0].lower() for name in columns]


def _bound(nulls: tuple[bool, ...]) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """What picks a row's values to bind where ``nulls`` puts NULL in the statement's text:
    the others only; None when it puts none."""
    return _picker([i for i, null in enumerate(nulls) if not null]) if any(nulls) else None


def _picker(positions: Sequence[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """The values at ``positions`` of a row, as a tuple (itemgetter's of one is no tuple)."""
    if len(positions) == 1:
        return lambda row: (row[positions[0]],)
    return itemgetter(*positions)


def _insert_sqlite(
    conn: Connection,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    nulls: tuple[bool, ...],
    sizes: Sequence[int],
    run: Callable[[Connection, str, tuple[Any, ...]], Any],
    pick: Callable[[Sequence[Any]], Sequence[Any]] | None = None,
    shared: tuple[tuple[str, bool], ...] = (),
    values: tuple[Any, ...] = (),
) -> None:
    """Multi-row INSERTs of ``rows``, of ``sizes`` rows each, in order, which hold a value for
    each column ``nulls`` does not name NULL (every column when ``nulls`` is empty), and
    ``values`` for the ``shared`` columns not NULL (``insert_sql``), each run by ``run``;
    ``pick`` takes those values of a row, where ``nulls`` names some. They are picked as each
    statement's parameters are made, not into a list of rows first: that pass cost ~0.14 µs a
    delivery row (timeit, 500 rows of 15 columns, two of them None)."""
    start = 0
    for size in sizes:
        sql = insert_sql(mark(conn), table, columns, size, nulls, shared)
        chunk = rows[start : start + size]
        run(conn, sql, (*values, *chain.from_iterable(map(pick, chunk) if pick else chunk)))
        start += size


@functools.lru_cache(maxsize=128)
def insert_sql(
    mark: str,
    table: str,
    columns: tuple[str, ...],
    count: int,
    nulls: tuple[bool, ...] = (),
    shared: tuple[tuple[str, bool], ...] = (),
) -> str:
    """``INSERT`` of ``count`` rows of ``columns``, with ``mark`` for each value, or NULL in
    the columns ``nulls`` names (a flag for each column; none when empty); with ``shared``
    columns (each with whether it is NULL), a ``mark`` once for each of them not NULL, before
    the rows' (``insert_keyed``)."""
    nulls = nulls or (False,) * len(columns)
    if not shared:
        group = "(" + ", ".join("NULL" if null else mark for null in nulls) + ")"
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([group] * count)
    # SQLite names a VALUES list's columns column1, column2, ...: those of the rows' values.
    named = iter(range(1, len(columns) + 1))
    own = ["NULL" if null else f"column{next(named)}" for null in nulls]
    common = ["NULL" if null else mark for _, null in shared]
    group = f"({marks(mark, nulls.count(False))})"
    return (
        f"INSERT INTO {table} ({', '.join([*(name for name, _ in shared), *columns])})"
        f" SELECT {', '.join(common + own)}"
        f" FROM (VALUES {', '.join([group] * count)})"
    )
