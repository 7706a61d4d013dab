"""The container's entrypoint script and health check, run outside a container (building the
image takes minutes and needs podman: container/build-local.sh, docs/operations.md#containers):
the same script, the same environment the Containerfile sets, a config file at the mount point,
and a real ``tidings serve``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
ENTRYPOINT = ROOT / "container" / "entrypoint.sh"


def container_env(tmp_path: Path, port: int) -> dict[str, str]:
    """What the Containerfile sets, with the mount points moved under ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
        TIDINGS_HOST="127.0.0.1",
        TIDINGS_PORT=str(port),
        TIDINGS_DATA_DIR=str(tmp_path / "data"),
        TIDINGS_CONFIG_MOUNT=str(tmp_path / "etc" / "tidings.toml"),
    )
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "etc").mkdir(exist_ok=True)
    return env


def healthcheck(env: dict[str, str], *flags: str) -> int:
    return subprocess.run(
        [sys.executable, "-m", "tidings.healthcheck", *flags], env=env, capture_output=True
    ).returncode


def test_serves_with_the_mounted_config_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = container_env(tmp_path, free_port())
    (tmp_path / "etc" / "tidings.toml").write_text('log_format = "json"\nredis_prefix = "boxed"\n')
    assert healthcheck(env) == 1, "nothing runs yet"
    server = subprocess.Popen(
        ["sh", str(ENTRYPOINT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while healthcheck(env) != 0:
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "no healthy server in 30 s"
            time.sleep(0.2)
        assert healthcheck(env, "--ready") == 0
        server.send_signal(signal.SIGTERM)  # to the shell's pid: exec made it tidings itself
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
    logged = [line for line in server.stderr.read().splitlines() if line.strip()]
    assert logged and all(json.loads(line)["level"] for line in logged), (
        "the mounted file's log_format"
    )
    assert any("drained" in json.loads(line)["message"] for line in logged)


def test_commands_pass_through_and_see_the_same_settings(tmp_path: Path) -> None:
    env = container_env(tmp_path, 8123)
    (tmp_path / "etc" / "tidings.toml").write_text("body_limit = 4096\n")
    shown = subprocess.run(
        ["sh", str(ENTRYPOINT), "config", "show", "--json"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    settings = json.loads(shown.stdout)
    assert (settings["port"], settings["body_limit"]) == (8123, 4096)
    assert settings["host"] == "127.0.0.1" and settings["data_dir"] == str(tmp_path / "data")


def test_a_missing_data_volume_is_named(tmp_path: Path) -> None:
    env = container_env(tmp_path, free_port())
    env["TIDINGS_DATA_DIR"] = str(tmp_path / "nowhere")
    done = subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert f"{tmp_path / 'nowhere'} is missing or not writable" in done.stderr
