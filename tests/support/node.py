"""``@alicloud/pop-core``, the Node RPC client, installed once per test session and driven from
Python through a small script (pop_core.js)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import Server

POP_CORE = "@alicloud/pop-core"
POP_CORE_VERSION = "1.8.0"
_SCRIPT = Path(__file__).with_name("pop_core.js")


def install_pop_core(directory: Path) -> Path:
    """``node_modules`` holding pop-core (installed with npm unless it already is there).

    Skips without Node and npm, except where services are required (CI), where it fails.
    """
    npm = shutil.which("npm")
    if not (shutil.which("node") and npm):
        if os.environ.get("TIDINGS_TEST_REQUIRE_SERVICES"):
            pytest.fail("node and npm are required to test @alicloud/pop-core")
        pytest.skip("node and npm are not installed")
    modules = directory / "node_modules"
    manifest = modules / POP_CORE / "package.json"
    if not (manifest.exists() and json.loads(manifest.read_text())["version"] == POP_CORE_VERSION):
        package = f"{POP_CORE}@{POP_CORE_VERSION}"
        subprocess.run(
            [npm, "install", "--prefix", str(directory), package, "--no-audit", "--no-fund"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return modules


def pop_core_calls(
    modules: Path,
    server: Server,
    key: tuple[str, str],
    version: str,
    calls: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Run ``calls`` ({action, params, opts}) through one RPCClient; each one's body or error."""
    spec = {
        "endpoint": server.url,
        "accessKeyId": key[0],
        "accessKeySecret": key[1],
        "apiVersion": version,
        "calls": calls,
    }
    done = subprocess.run(
        ["node", str(_SCRIPT)],
        input=json.dumps(spec),
        env=dict(os.environ, NODE_PATH=str(modules)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
