"""``tidings backup`` copies the embedded database while a server is serving pushes, and a
server started on the copy answers with the data it held."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from alibabacloud_mpaas20201028 import models

import tidings.store.backup
from tests.integration.conftest import APP_ID, WORKSPACE, Tenant, make_tenant, target
from tests.support.servers import running_server


def test_a_backup_taken_while_serving_restores_to_a_working_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_server("sqlite", tmp_path / "live") as live:
        tenant = make_tenant(live)
        answered: list[tuple[models.PushMultipleRequest, str]] = []
        news = threading.Condition()  # an answer, or the pusher's end
        ended = threading.Event()

        def push() -> None:
            client = tenant.sdk()
            try:
                while not stop.is_set():
                    call = tenant.multiple(target_msg=[target(f"u{i}") for i in range(20)])
                    body = client.push_multiple(call).body
                    assert body.result_code == "OK", body.result_message
                    with news:
                        answered.append((call, body.push_result.data))
                        news.notify_all()
            finally:
                with news:
                    ended.set()
                    news.notify_all()

        def answers_beyond(count: int) -> bool:
            """Wait until more than ``count`` pushes are answered; False if the pusher died."""
            with news:
                news.wait_for(lambda: len(answered) > count or ended.is_set())
                return len(answered) > count

        # The copy of a small database takes a fraction of a second, and on a loaded machine the
        # server may not be given the CPU to answer a push in it: the test holds the backup in
        # its snapshot, after its first step, until a push is answered (or the pusher fails).
        held: list[bool] = []  # whether a push was answered while the backup held its snapshot
        real_backup = tidings.store.backup.backup_sqlite

        def backup_awaiting_a_push(
            source: Path, to: Path, progress: Callable[[int, int], None]
        ) -> int:
            def step(copied: int, total: int) -> None:
                if not held:
                    held.append(answers_beyond(len(answered)))
                progress(copied, total)

            return real_backup(source, to, step)

        monkeypatch.setattr(tidings.store.backup, "backup_sqlite", backup_awaiting_a_push)
        stop = threading.Event()
        pusher = threading.Thread(target=push)
        pusher.start()
        try:
            assert answers_beyond(19), "the pusher failed before the backup (its error above)"
            before = len(answered)
            copy = tmp_path / "backup.db"
            done = live.cli("backup", "--to", str(copy))
        finally:
            stop.set()
            pusher.join()
        assert "Backed up" in done.stdout
        assert held == [True], (
            "no push was answered while the backup held its read snapshot: it blocked the writer"
        )
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert not Path(f"{copy}-wal").exists()
        with sqlite3.connect(copy) as db:
            stored = {row[0] for row in db.execute("SELECT id FROM tasks")}
            # One snapshot: no task in the copy without all of its messages.
            torn = db.execute(
                "SELECT count(*) FROM tasks WHERE message_count !="
                " (SELECT count(*) FROM messages WHERE messages.task_id = tasks.id)"
            ).fetchone()[0]
        assert {int(task) for _, task in answered[:before]} <= stored
        assert torn == 0

        again = live.cli("backup", "--to", str(copy), check=False)
        assert again.returncode == 1
        assert "exists" in again.stderr

    # Restore: the copy in place of tidings.db, beside the same secret key.
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    shutil.copy(copy, restored_dir / "tidings.db")
    shutil.copy(tmp_path / "live" / "secret.key", restored_dir / "secret.key")
    with running_server("sqlite", restored_dir) as restored:
        client = Tenant(restored, tenant.key).sdk()
        call, task_id = answered[0]
        again = client.push_multiple(call).body  # a retry: answered with the stored task
        assert again.result_code == "OK"
        assert again.push_result.data == task_id
        traced = restored.cli(
            "trace", "--workspace", WORKSPACE, "--app-id", APP_ID, call.target_msg[0].msg_key
        )
        assert call.target_msg[0].msg_key in traced.stdout


def test_postgresql_is_pointed_to_pg_dump(tmp_path: Path) -> None:
    with running_server("postgresql", tmp_path / "pg") as server:
        done = server.cli("backup", "--to", str(tmp_path / "x.db"), check=False)
    assert done.returncode == 2
    assert "pg_dump" in done.stderr
    assert not (tmp_path / "x.db").exists()
