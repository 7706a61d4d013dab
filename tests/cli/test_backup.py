"""``tidings backup`` copies the embedded database while a server is serving pushes, and a
server started on the copy answers with the data it held."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import threading
from pathlib import Path

from alibabacloud_mpaas20201028 import models

from tests.integration.conftest import APP_ID, WORKSPACE, Tenant, make_tenant, target
from tests.support.servers import running_server


def test_a_backup_taken_while_serving_restores_to_a_working_server(tmp_path: Path) -> None:
    with running_server("sqlite", tmp_path / "live") as live:
        tenant = make_tenant(live)
        answered: list[tuple[models.PushMultipleRequest, str]] = []
        stop = threading.Event()

        def push() -> None:
            client = tenant.sdk()
            while not stop.is_set():
                call = tenant.multiple(target_msg=[target(f"u{i}") for i in range(20)])
                body = client.push_multiple(call).body
                assert body.result_code == "OK", body.result_message
                answered.append((call, body.push_result.data))

        pusher = threading.Thread(target=push)
        pusher.start()
        try:
            while len(answered) < 20:
                stop.wait(0.05)
            before = len(answered)
            copy = tmp_path / "backup.db"
            done = live.cli("backup", "--to", str(copy))
            during = len(answered) - before
        finally:
            stop.set()
            pusher.join()
        assert "Backed up" in done.stdout
        assert during > 0, "the server kept answering pushes during the backup"
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert not Path(f"{copy}-wal").exists()
        with sqlite3.connect(copy) as db:
            stored = {row[0] for row in db.execute("SELECT id FROM tasks")}
        assert {int(task) for _, task in answered[:before]} <= stored

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
