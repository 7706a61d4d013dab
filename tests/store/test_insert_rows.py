"""Rows written in any order (store/rows.py) on SQLite: grouped by the columns they leave None,
each group with NULL in its statement's text, every value still lands in its own column."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text

from tidings.store import rows as store
from tidings.store.plain import fetch


def test_rows_with_nones_in_different_columns_keep_every_value_in_its_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statements: list[str] = []

    def seen(conn: Connection, sql: str, params: Any) -> list[Any]:
        statements.append(sql)
        return fetch(conn, sql, params)

    monkeypatch.setattr(store, "fetch", seen)
    rows = [(1, None, None), (2, "b", None), (3, None, 30), (4, "d", 40), (5, None, None)]
    with create_engine("sqlite://").connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT, c INTEGER)"))
        store.insert_rows(conn, "t", ("id", "b", "c"), rows, keyed=True)
        stored = conn.execute(text("SELECT id, b, c FROM t ORDER BY id")).all()
    assert [tuple(row) for row in stored] == rows
    assert len(statements) == 4  # one for each arrangement of Nones
    assert statements[0].endswith("VALUES (?, NULL, NULL), (?, NULL, NULL)")


def test_a_group_is_written_in_statements_of_the_few_sizes_sqlite_keeps_prepared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes: list[int] = []

    def seen(conn: Connection, sql: str, params: Any) -> list[Any]:
        sizes.append(len(params) // 2)
        return fetch(conn, sql, params)

    monkeypatch.setattr(store, "fetch", seen)
    rows = [(n, f"v{n}") for n in range(1, 848)]  # 847 rows of one arrangement
    with create_engine("sqlite://").connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT)"))
        store.insert_rows(conn, "t", ("id", "b"), rows, keyed=True)
        stored = conn.execute(text("SELECT id, b FROM t ORDER BY id")).all()
    assert [tuple(row) for row in stored] == rows
    assert sizes == [500, 300, 32, 8, 4, 2, 1]
