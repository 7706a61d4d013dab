"""``tidings config show`` and ``tidings serve --config`` as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def tidings(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    return subprocess.run(
        [sys.executable, "-m", "tidings", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_show_prints_the_effective_settings_with_secrets_masked(tmp_path: Path) -> None:
    toml = tmp_path / "tidings.toml"
    toml.write_text(
        'port = 9001\ndatabase_url = "postgresql://tidings:hunter2@db/tidings"\n'
        'secret_key = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk="\n'
    )
    done = tidings(
        "config", "show", "--json", "--config", str(toml), env={"TIDINGS_BODY_LIMIT": "2048"}
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["port"], shown["body_limit"]) == (9001, 2048)
    assert shown["database_url"] == "postgresql://tidings:***@db/tidings"
    assert shown["secret_key"] == "***"
    assert "hunter2" not in done.stdout and "c2VjcmV0" not in done.stdout


def test_serve_refuses_bad_settings_naming_each_key(tmp_path: Path) -> None:
    toml = tmp_path / "bad.toml"
    toml.write_text('log_level = "loud"\nport = 8080\n')
    done = tidings(
        "serve", "--data-dir", str(tmp_path), env={"TIDINGS_CONFIG": str(toml), "TIDINGS_PORT": "x"}
    )
    assert done.returncode == 2
    assert f"log_level ({toml}):" in done.stderr
    assert "port (TIDINGS_PORT):" in done.stderr
    assert not (tmp_path / "tidings.db").exists(), "nothing may start on bad settings"
