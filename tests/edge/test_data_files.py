"""What the server keeps on disk is private to its user, and a data directory copied without its
key is left as it was found.

The findings (issue 11): the database was created 0644 (message texts, user ids, tokens); a
data directory started without its secret.key refused to start but left a new, wrong key behind.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.support.servers import running_server


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_and_its_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server("sqlite", data) as server:
        server.create_app("ws", "ONEXFILES0000001")  # a write, so the WAL exists
        assert mode(data) == 0o700
        files = {p.name: mode(p) for p in data.iterdir()}
        assert {"tidings.db", "tidings.db-wal", "secret.key", "serve.lock"} <= set(files)
        assert all(m == 0o600 for m in files.values()), files


def test_a_database_sealed_by_another_key_keeps_no_new_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server("sqlite", data) as server:
        server.create_app("ws", "ONEXFILES0000002")
        server.create_key("ws")
        server.stop()
        (data / "secret.key").unlink()  # the directory copied without its key
        with pytest.raises(RuntimeError, match="cannot be decrypted with this secret key"):
            server.start()
        assert not (data / "secret.key").exists()
