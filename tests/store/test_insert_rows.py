"""Rows written by store/rows.py on SQLite. In any order (keyed): grouped by the columns they
leave None, each group with NULL in its statement's text, every value still lands in its own
column. In order (acceptance's messages): NULL in the text for the columns every row leaves
None, statements of LADDER's sizes, a constraint's refusal raised as SQLAlchemy's error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import IntegrityError

from tidings.store import rows as store
from tidings.store.plain import fetch, fetch_refusable

_RUNS = {"fetch": fetch, "fetch_refusable": fetch_refusable}


def _statements(monkeypatch: pytest.MonkeyPatch, run: str) -> list[tuple[str, Any]]:
    """The (text, parameters) of each statement rows.py runs through ``run``, recorded as
    they run."""
    statements: list[tuple[str, Any]] = []

    def seen(conn: Connection, sql: str, params: Any) -> list[Any]:
        statements.append((sql, params))
        return _RUNS[run](conn, sql, params)

    monkeypatch.setattr(store, run, seen)
    return statements


def test_rows_with_nones_in_different_columns_keep_every_value_in_its_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statements = _statements(monkeypatch, "fetch")
    rows = [(1, None, None), (2, "b", None), (3, None, 30), (4, "d", 40), (5, None, None)]
    with create_engine("sqlite://").connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT, c INTEGER)"))
        store.insert_rows(conn, "t", ("id", "b", "c"), rows, keyed=True)
        stored = conn.execute(text("SELECT id, b, c FROM t ORDER BY id")).all()
    assert [tuple(row) for row in stored] == rows
    assert len(statements) == 4  # one for each arrangement of Nones
    assert statements[0][0].endswith("VALUES (?, NULL, NULL), (?, NULL, NULL)")


def test_a_group_is_written_in_statements_of_the_few_sizes_sqlite_keeps_prepared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statements = _statements(monkeypatch, "fetch")
    rows = [(n, f"v{n}") for n in range(1, 848)]  # 847 rows of one arrangement
    with create_engine("sqlite://").connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT)"))
        store.insert_rows(conn, "t", ("id", "b"), rows, keyed=True)
        stored = conn.execute(text("SELECT id, b FROM t ORDER BY id")).all()
    assert [tuple(row) for row in stored] == rows
    assert [len(params) // 2 for _, params in statements] == [500, 300, 32, 8, 4, 2, 1]


def test_keyed_rows_in_groups_bind_what_a_group_shares_once_and_land_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statements = _statements(monkeypatch, "fetch")
    groups = [
        ((7, None), [(1, "a"), (2, None), (3, "c")]),  # a None shared, Nones in some rows
        ((8, "x"), [(4, "d")]),
    ]
    with create_engine("sqlite://").connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, s INTEGER, z TEXT, b TEXT)"))
        store.insert_keyed(conn, "t", ("s", "z"), ("id", "b"), groups)
        stored = conn.execute(text("SELECT s, z, id, b FROM t ORDER BY id")).all()
    assert [tuple(row) for row in stored] == [
        (7, None, 1, "a"),
        (7, None, 2, None),
        (7, None, 3, "c"),
        (8, "x", 4, "d"),
    ]
    # A statement for each arrangement of Nones in each group, the group's values bound once,
    # its Nones as the rows' NULL in the text
    assert [params for _, params in statements] == [
        (7, 1, "a", 3, "c"),
        (7, 2),
        (8, "x", 4, "d"),
    ]
    assert statements[1][0].endswith("SELECT ?, NULL, column1, NULL FROM (VALUES (?))")


def test_rows_in_order_take_null_in_the_text_only_where_every_row_leaves_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inserts = _statements(monkeypatch, "fetch_refusable")
    rows = [(f"k{n}", None, f"u{n}" if n % 3 == 0 else None) for n in range(37)]
    with create_engine("sqlite://").connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, b TEXT, c TEXT)"))
        store.insert_rows(conn, "t", ("k", "b", "c"), rows)
        stored = conn.execute(text("SELECT k, b, c FROM t ORDER BY id")).all()
    assert [tuple(row) for row in stored] == rows
    assert [len(params) // 2 for _, params in inserts] == [32, 4, 1]
    assert inserts[-1][0].endswith("VALUES (?, NULL, ?)")
    assert None in inserts[0][1]  # a column only some rows leave None is bound


def test_rows_in_order_with_shared_values_take_ids_in_order_the_values_bound_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inserts = _statements(monkeypatch, "fetch_refusable")
    rows = [(f"k{n}", f"u{n}" if n % 3 == 0 else None) for n in range(37, 0, -1)]
    with create_engine("sqlite://").connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, s INT, z TEXT, k TEXT, c TEXT)"))
        store.insert_rows(conn, "t", ("k", "c"), rows, shared=("s", "z"), values=(5, None))
        stored = conn.execute(text("SELECT s, z, k, c FROM t ORDER BY id")).all()
    assert [tuple(row) for row in stored] == [(5, None, *row) for row in rows]
    assert [params[0] for _, params in inserts] == [5, 5, 5]  # once a statement, not a row
    assert [len(params) // 2 for _, params in inserts] == [32, 4, 1]


@pytest.mark.parametrize("shared", [(), ("s",)])
def test_rows_in_order_refused_by_a_constraint_raise_sqlalchemys_integrity_error(
    shared: tuple[str, ...],
) -> None:
    rows = [(f"k{n}",) for n in range(36)] + [("k3",)]  # the last statement (one row) refused
    with create_engine("sqlite://").connect() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, s INT, k TEXT UNIQUE)"))
        conn.commit()
        with pytest.raises(IntegrityError), conn.begin():
            store.insert_rows(conn, "t", ("k",), rows, shared=shared, values=(1,)[: len(shared)])
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
