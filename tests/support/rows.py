"""The smallest stored push, written straight into the tables: workspace 1, app 1, task 1 and its
message 1. Only columns every schema revision since the first has, so migration tests can use
it on an older schema too."""

from __future__ import annotations

from sqlalchemy import Connection, insert

from tidings.store.tables import apps, messages, tasks, webhook_endpoints, workspaces


def one_push(conn: Connection, *, action: str, delivery_type: int, now: int) -> None:
    conn.execute(insert(workspaces).values(pk=1, name="w", created_at=0))
    conn.execute(
        insert(apps).values(pk=1, workspace_pk=1, app_id="a", timezone="UTC", created_at=0)
    )
    conn.execute(
        insert(tasks).values(
            id=1,
            app_pk=1,
            action=action,
            name="t",
            delivery_type=delivery_type,
            expired_seconds=600,
            strategy_type=0,
            options="{}",
            state="dispatched",
            digest="d",
            message_count=1,
            created_at=now,
            due_at=now,
        )
    )
    conn.execute(
        insert(messages).values(
            pk=1,
            task_id=1,
            app_pk=1,
            msg_key="k1",
            target="u",
            title="T",
            content="C",
            created_at=now,
        )
    )


def subscribed(conn: Connection, event_type: str) -> None:
    """App 1 takes ``event_type`` at an endpoint that never answers: the events written for it
    stay in the outbox to be read."""
    conn.execute(
        insert(webhook_endpoints).values(
            app_pk=1,
            url="http://127.0.0.1:9/",
            events=event_type,
            secrets_ciphertext=b"x",
            enabled=True,
            created_at=0,
        )
    )
