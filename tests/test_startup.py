"""What a process loads as it starts (docs/architecture.md, "Start-up: what a process imports"):
every command, device and test server pays for its imports, so the command line loads no server
and the services load no client library of a vendor or a broker that is not in use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SERVER = {
    "tidings.services",
    "tidings.app",
    "tidings.config",
    "tidings.store",
    "tidings.channels.catalog",
    "sqlalchemy",
    "alembic",
    "starlette",
    "uvicorn",
    "pydantic_settings",
    "httpx",
}
# pywebpush brings aiohttp and requests along; websockets is the device client's.
CLIENT_LIBRARIES = {
    "pywebpush",
    "aiohttp",
    "requests",
    "jwt",
    "alibabacloud_dysmsapi20170525",
    "redis",
    "websockets",
}


def _loaded(code: str) -> set[str]:
    """The top modules and the tidings modules a fresh interpreter has loaded after ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(list(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    names = json.loads(done.stdout.splitlines()[-1])
    return {name.split(".")[0] for name in names} | {n for n in names if n.startswith("tidings.")}


@pytest.mark.parametrize(
    "code",
    [
        "import tidings.cli",
        # what `tidings device listen --help` runs
        "from tidings.cli import app\n"
        "try: app(['device', 'listen', '--help'])\n"
        "except SystemExit: pass",
    ],
)
def test_the_command_line_loads_no_server(code: str) -> None:
    assert _loaded(code) & SERVER == set()


def test_the_server_loads_no_unused_client_library() -> None:
    loaded = _loaded("import tidings.cli.serving")  # what `tidings serve` runs
    assert "tidings.channels.catalog" in loaded  # every vendor module is loaded, ...
    assert loaded & CLIENT_LIBRARIES == set()  # ... no client library they send with
