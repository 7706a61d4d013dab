"""Servers on one SQLite file: without Redis one server at a time, with Redis on every one of them
several (the database file's lock beside it, cli/serving.py).

The finding: two servers started with their own data directories and the same
``TIDINGS_DATABASE_URL=sqlite:///...`` both ran without Redis, each keeping device presence in
memory, so a device connected to one did not get the pushes the other accepted (answered OK)
until it reconnected.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from alibabacloud_mpaas20201028 import models
from cryptography.fernet import Fernet

from tests.support.clients import new_sdk
from tests.support.servers import REDIS_URL, Server, free_port, require_redis


def on_file(data_dir: Path, database: Path, redis: bool, prefix: str = "") -> Server:
    """A server with a data directory of its own on the SQLite file ``database``, sealing
    secrets with the key the others on that file use (kept beside it)."""
    shared_key = database.with_name("secret.key")
    if not shared_key.exists():
        shared_key.write_bytes(Fernet.generate_key())
    data_dir.mkdir(mode=0o700)
    (data_dir / "secret.key").write_bytes(shared_key.read_bytes())
    (data_dir / "secret.key").chmod(0o600)
    port = free_port()
    settings = {"TIDINGS_REDIS_URL": REDIS_URL, "TIDINGS_REDIS_PREFIX": prefix} if redis else {}
    return Server(
        f"http://127.0.0.1:{port}", "127.0.0.1", port, data_dir, f"sqlite:///{database}", settings
    )


def refused(server: Server) -> str:
    """Start ``server``, which must exit non-zero; what it printed."""
    env = {k: v for k, v in server.env.items() if k != "TIDINGS_REDIS_URL"} | server.settings
    done = subprocess.run(
        [sys.executable, "-m", "tidings", "serve", "--port", str(server.port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_second_server_without_redis_on_one_sqlite_file_refuses_to_start(tmp_path) -> None:
    database = tmp_path / "shared" / "tidings.db"
    database.parent.mkdir()
    first = on_file(tmp_path / "a", database, redis=False)
    first.start()
    try:
        output = refused(on_file(tmp_path / "b", database, redis=False))
        assert f"another 'tidings serve' is using the database {database}" in output
        assert "set TIDINGS_REDIS_URL on every server sharing one SQLite file" in output
        assert "or run one server" in output
        # The commands beside a running server take no lock.
        first.cli("backup", "--to", str(tmp_path / "copy.db"))
        # Nor can a server with Redis join one without it: the first would not hear of it.
        require_redis()
        joining = on_file(tmp_path / "c", database, redis=True, prefix=uuid.uuid4().hex)
        assert str(database) in refused(joining)
    finally:
        first.stop()


def test_servers_with_redis_share_one_sqlite_file_and_keep_out_one_without(tmp_path) -> None:
    require_redis()
    database = tmp_path / "shared" / "tidings.db"
    database.parent.mkdir()
    prefix = uuid.uuid4().hex
    servers = [on_file(tmp_path / name, database, redis=True, prefix=prefix) for name in "ab"]
    for server in servers:
        server.start()
    try:
        servers[0].create_app("ws", "ONEXLOCKS0000001")
        key = servers[0].create_key("ws")
        for server in servers:
            page = new_sdk(server, key).list_template_page(
                models.ListTemplatePageRequest(app_id="ONEXLOCKS0000001", workspace_id="ws")
            )
            assert page.body.success is True
        output = refused(on_file(tmp_path / "c", database, redis=False))
        assert f"another 'tidings serve' is using the database {database}" in output
    finally:
        for server in servers:
            server.stop()


def test_a_killed_server_leaves_no_stale_lock(tmp_path) -> None:
    database = tmp_path / "shared" / "tidings.db"
    database.parent.mkdir()
    first = on_file(tmp_path / "a", database, redis=False)
    first.start()
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=30)
    first.process = None
    second = on_file(tmp_path / "b", database, redis=False)
    second.start()  # raises if it exits
    second.stop()
