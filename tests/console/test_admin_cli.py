"""``tidings admin``: operators made from the command line, the password read from stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text


def admin(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TIDINGS_DATA_DIR=str(data_dir))
    env.pop("TIDINGS_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "tidings", "admin", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_create_list_and_delete_operators(tmp_path: Path) -> None:
    made = admin(
        tmp_path,
        "create",
        "--username",
        "alice",
        "--workspace",
        "ws1",
        "--workspace",
        "ws2",
        stdin="a long passphrase\n",
    )
    assert made.returncode == 0, made.stderr
    assert "Created operator alice (ws1, ws2)" in made.stdout
    root = admin(tmp_path, "create", "--username", "root", "--all", stdin="another passphrase")
    assert root.returncode == 0, root.stderr

    listed = admin(tmp_path, "list").stdout
    assert "alice" in listed and "ws1, ws2" in listed
    assert "root" in listed and "all" in listed

    engine = create_engine(f"sqlite:///{tmp_path / 'tidings.db'}")
    with engine.connect() as conn:
        hashes = conn.execute(text("SELECT password_hash FROM operators")).scalars().all()
    engine.dispose()
    assert len(hashes) == 2 and all(h.startswith("$argon2id$") for h in hashes)
    assert not any("passphrase" in h for h in hashes)

    assert admin(tmp_path, "delete", "alice").returncode == 0
    assert "alice" not in admin(tmp_path, "list").stdout
    gone = admin(tmp_path, "delete", "alice")
    assert gone.returncode == 1 and "no operator named 'alice'" in gone.stderr


def test_refusals_name_the_problem_and_create_nothing(tmp_path: Path) -> None:
    short = admin(tmp_path, "create", "--username", "bob", "--all", stdin="short\n")
    assert short.returncode == 1
    assert "at least 8 characters" in short.stderr
    ungranted = admin(tmp_path, "create", "--username", "bob", stdin="long enough pass\n")
    assert ungranted.returncode == 1
    assert "--workspace W" in ungranted.stderr and "--all" in ungranted.stderr
    admin(tmp_path, "create", "--username", "bob", "--all", stdin="long enough pass\n")
    again = admin(tmp_path, "create", "--username", "bob", "--all", stdin="long enough pass\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert admin(tmp_path, "list").stdout.count("bob") == 1
