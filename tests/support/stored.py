"""What a server has written, read straight from its database (SQLite file or PostgreSQL schema).

Tests use it to prove that a refused call left nothing behind and that an accepted one stored
exactly its task and messages; it reads the tables without going through the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import Connection, NullPool, create_engine, text

from tests.support.servers import Server
from tidings.config import Settings


class Counts(NamedTuple):
    tasks: int
    messages: int


@contextmanager
def connection(server: Server) -> Iterator[Connection]:
    url = Settings(data_dir=server.data_dir, database_url=server.database_url).database
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def counts(server: Server) -> Counts:
    with connection(server) as conn:
        tasks = conn.execute(text("SELECT count(*) FROM tasks")).scalar_one()
        messages = conn.execute(text("SELECT count(*) FROM messages")).scalar_one()
    return Counts(tasks, messages)


def task(server: Server, task_id: int | str) -> dict[str, Any] | None:
    with connection(server) as conn:
        row = conn.execute(text("SELECT * FROM tasks WHERE id = :id"), {"id": int(task_id)})
        found = row.mappings().first()
    return dict(found) if found else None


def messages(server: Server, task_id: int | str) -> list[dict[str, Any]]:
    """The task's messages in the order they were sent."""
    with connection(server) as conn:
        rows = conn.execute(
            text("SELECT * FROM messages WHERE task_id = :id ORDER BY pk"), {"id": int(task_id)}
        )
        return [dict(row) for row in rows.mappings()]


def tasks_named(server: Server, name: str) -> list[dict[str, Any]]:
    with connection(server) as conn:
        rows = conn.execute(text("SELECT * FROM tasks WHERE name = :name"), {"name": name})
        return [dict(row) for row in rows.mappings()]
