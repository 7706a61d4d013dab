"""Placeholders for the few statements written as plain SQL text, and the driver's cursor to
run dispatch's.

SQLAlchemy builds a statement, computes its cache key and, for an ``IN`` of a list, renders the
list's placeholders again on every execution. On the path every push takes (the msgKey check of
each PushMultiple call, its task row, its nonce, dispatch's claim) that Python work ran on the one
writer thread all acceptance waits on: the check of 100 msgKeys cost ~0.6 ms a call built by
SQLAlchemy and ~0.08 ms as text handed to the driver. Those statements are therefore written as
text, once per shape (cached by their callers), with the placeholder the driver takes: ``?`` for
sqlite3, ``%s`` for psycopg. The text is the same for both databases but for a list of values
(``one_of``: an ``IN`` list, or ``= ANY`` of one array). Acceptance, dispatch's claim and a
broadcast's pages also run their statements through the driver's cursor (``fetch``,
``fetch_refusable``, ``fetch_statement``, ``run_statement``), around which SQLAlchemy's own work
cost more than the statements.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ClauseElement, Connection, Dialect, Executable
from sqlalchemy.exc import DBAPIError

T = TypeVar("T")


def mark(conn: Connection) -> str:
    """The driver's placeholder for one value."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def marks(mark: str, count: int) -> str:
    """``count`` placeholders separated by commas, for a row of values or an ``IN`` list."""
    return ", ".join([mark] * count)


# The sizes of the statements SQLite is given lists of values in. SQLite prepares a statement
# whose text its cache lacks (the driver keeps 128 a connection): ~4 µs a row of a multi-row
# INSERT and ~0.35 µs a value of an IN list, where running a prepared one costs ~0.4 µs a row;
# and the lists are of any size (a claim's rows grouped by their None columns, a call's
# messages, a batch of acks), so each size of statement would be new. Multi-row INSERTs are
# split into these sizes (store/rows.py), IN lists padded to them (``one_of``): multiples of
# 100 (what calls of 100 targets make), then powers of two, at most twelve texts a statement.
LADDER = (500, 400, 300, 200, 100, 64, 32, 16, 8, 4, 2, 1)


def padded_size(count: int) -> int:
    """The LADDER size an IN list of ``count`` values is padded to: the smallest that holds
    them (``count`` itself beyond the largest)."""
    return next((size for size in reversed(LADDER) if size >= count), count) if count else 0


def one_of(mark: str, count: int) -> str:
    """The test, after a column, that it holds one of ``count`` values (``one_of_values``
    gives them): for sqlite3 ``IN`` and a placeholder each, as many as ``padded_size``
    (LADDER says why); for psycopg ``= ANY`` of one array, since psycopg parses every
    placeholder of a statement in Python and dumps an array passed as text with a regular
    expression run on each value: for 2,000 device tokens in chunks of 500, 2.3 µs of CPU a
    token with ``IN``, 1.6 with an array as text, 1.2 with an array passed in binary (``%b``),
    as here."""
    return f"IN ({marks(mark, padded_size(count))})" if mark == "?" else "= ANY(%b)"


def unindexed(mark: str, column: str) -> str:
    """``column`` for a test by which SQLite (``?``) must not pick an index: ``+column``,
    SQLite's way to say so. For statements that find their rows by id and also test a status:
    with one status and no statistics, SQLite's planner took (status, expires_at) and walked
    every delivery in that status (a batch of 20 acks took 33 ms beside 200,000 pending
    deliveries)."""
    return f"+{column}" if mark == "?" else column


def one_of_values(mark: str, values: Sequence[Any]) -> tuple[Any, ...]:
    """The parameters of ``one_of(mark, len(values))``: for sqlite3 the values, the last one
    repeated up to ``padded_size`` (a value twice in an IN list finds its rows once)."""
    if mark != "?":
        return (list(values),)
    padding = padded_size(len(values)) - len(values)
    return (*values, *[values[-1]] * padding) if padding else tuple(values)


def fetch(conn: Connection, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    """The rows of ``sql`` as the driver's own tuples (none for a statement that returns none),
    through the connection's cursor.

    For dispatch's statements: the reads of thousands of rows (messages, device addresses), a
    SQLAlchemy Row made of each cost more than fetching it (~0.3 µs a row on SQLite); and the
    few each claim runs, where SQLAlchemy's own work around an execution (~20 µs on SQLite,
    against ~3 for the driver's) was most of their cost. The driver's errors reach the caller
    as they are, not wrapped in SQLAlchemy's, but for a lost connection (``_driven``)."""
    return _driven(conn, _rows, sql, params)


def fetch_refusable(
    conn: Connection, sql: str, params: Sequence[Any] | Mapping[str, Any]
) -> list[Any]:
    """``fetch``, its errors raised as SQLAlchemy raises them: for the statements of acceptance
    (a call's msgKey check, its task row, its messages), whose IntegrityError tells that a
    msgKey was used, and around which SQLAlchemy's ``exec_driver_sql`` cost ~20 µs a
    statement (a 100-row INSERT of messages ~90 µs more, ~0.9 µs a row)."""
    driver = conn.dialect.loaded_dbapi
    try:
        return fetch(conn, sql, params)
    except driver.Error as error:
        raise DBAPIError.instance(sql, params, error, driver.Error) from error


def run_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """``sql`` once for each of ``rows`` (its parameters), by the driver's ``executemany``
    through the connection's cursor: SQLAlchemy's work around an ``executemany`` of five rows
    cost ~70 µs on SQLite, the driver's ~12."""
    _driven(conn, _each, sql, rows)


def fetch_statement(
    conn: Connection, statement: Executable, values: Mapping[str, Any]
) -> list[Any]:
    """``fetch`` of a SQLAlchemy Core ``statement`` built once, compiled for the connection's
    database once; ``values`` by parameter name. An IN list must hold its values in the
    statement: the compiled text writes them out, and cannot take a list given here."""
    return fetch(conn, *_driver_form(conn, statement, values))


def run_statement(conn: Connection, statement: Executable, values: Mapping[str, Any]) -> int:
    """``fetch_statement`` of a statement that returns no rows (an INSERT ... SELECT): how
    many rows it wrote."""
    return _driven(conn, _count, *_driver_form(conn, statement, values))


def _driven(conn: Connection, run: Callable[[Any, str, Any], T], sql: str, params: Any) -> T:
    """``run(cursor, sql, params)`` with a cursor of the connection's driver, closed after.

    A statement that finds the connection lost (the database restarted, the server's backend
    terminated, the network cut) is seen as SQLAlchemy sees one of its own: the Connection is
    invalidated, so the transaction around it ends without talking to the dead server again
    and the pool replaces the driver's connection, and the error is SQLAlchemy's with
    ``connection_invalidated`` set, by which Database knows that the work can run again on
    a new connection. Without this the driver's error went up as it was, the rollback after
    it failed in turn, and the error the caller saw was the rollback's ("the connection is
    lost"), which Database could not tell from a refusal."""
    cursor = conn.connection.cursor()
    try:
        return run(cursor, sql, params)
    except conn.dialect.loaded_dbapi.Error as error:
        driver = conn.connection.dbapi_connection
        if not conn.dialect.is_disconnect(error, driver, cursor):
            raise
        conn.invalidate(error)
        raise DBAPIError.instance(
            sql, params, error, conn.dialect.loaded_dbapi.Error, connection_invalidated=True
        ) from error
    finally:
        cursor.close()


def _rows(cursor: Any, sql: str, params: Any) -> list[Any]:
    cursor.execute(sql, params)
    return cursor.fetchall() if cursor.description is not None else []


def _each(cursor: Any, sql: str, rows: Any) -> None:
    cursor.executemany(sql, rows)


def _count(cursor: Any, sql: str, params: Any) -> int:
    cursor.execute(sql, params)
    return cursor.rowcount


def statement_text(conn: Connection, clause: ClauseElement) -> str:
    """The driver's text of a SQLAlchemy ``clause`` that holds no values (a SELECT, or a
    condition), compiled for the connection's database once: for a statement built once to
    which its caller adds a condition of its own, such as a ``one_of`` list."""
    sql, _, own = _compiled(clause, conn.dialect)
    assert not own, "statement_text is for clauses without values"
    return sql


def _driver_form(
    conn: Connection, statement: Executable, values: Mapping[str, Any]
) -> tuple[str, Sequence[Any] | Mapping[str, Any]]:
    sql, names, own = _compiled(statement, conn.dialect)
    given = {**own, **values}
    return sql, given if names is None else tuple(given[name] for name in names)


@functools.lru_cache(maxsize=64)
def _compiled(
    statement: Executable | ClauseElement, dialect: Dialect
) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
    """The driver's text of ``statement``, the names of its parameters in order when they are
    positional (sqlite3's ``?``; psycopg's are named), and the values it holds itself (a
    LIMIT, an IN list's)."""
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    names = tuple(compiled.positiontup or ()) if compiled.positional else None
    return str(compiled), names, dict(compiled.params)
