"""Rows written in any order (store/rows.py) on SQLite: grouped by the columns they leave None,
each group with NULL in its statement's text, every value still lands in its own column."""

from __future__ import annotations

from sqlalchemy import create_engine, event, text

from tidings.store.rows import insert_rows


def test_rows_with_nones_in_different_columns_keep_every_value_in_its_column() -> None:
    engine = create_engine("sqlite://")
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    rows = [(1, None, None), (2, "b", None), (3, None, 30), (4, "d", 40), (5, None, None)]
    with engine.connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT, c INTEGER)"))
        statements.clear()
        insert_rows(conn, "t", ("id", "b", "c"), rows, keyed=True)
        inserts = list(statements)
        stored = conn.execute(text("SELECT id, b, c FROM t ORDER BY id")).all()
    assert [tuple(row) for row in stored] == rows
    assert len(inserts) == 4  # one for each arrangement of Nones
    assert inserts[0].endswith("VALUES (?, NULL, NULL), (?, NULL, NULL)")
