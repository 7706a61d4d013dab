"""``tidings serve`` on an empty database tells the operator what to do next, and it works."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import urllib.error
import urllib.request

from alibabacloud_mpaas20201028 import models

from tests.support.clients import new_sdk
from tests.support.servers import (
    Server,
    database,
    free_port,
    postgres_schema,
    require_postgres,
    running_server,
)


def option(step: list[str], name: str) -> str:
    return step[step.index(name) + 1]


def in_another_terminal(step: list[str]) -> str:
    """Run a printed ``tidings ...`` line with none of the server's settings in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    done = subprocess.run(
        [sys.executable, "-m", "tidings", *step[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_first_start_prints_the_first_steps(server: Server, tmp_path) -> None:
    data_dir = tmp_path / "fresh"
    with running_server(server.kind, data_dir) as fresh:
        output = fresh.stop()
        assert "Tidings has no apps yet" in output
        steps = [shlex.split(line) for line in output.splitlines() if line.startswith("  tidings ")]
        assert [step[1:3] for step in steps] == [["apps", "create"], ["keys", "create"]]
        assert all(option(step, "--data-dir") == str(data_dir) for step in steps)
        if fresh.database_url:
            assert all(option(step, "--database-url") == fresh.database_url for step in steps)
        assert f"http://127.0.0.1:{fresh.port}" in output

        # Following the printed steps gives a key that works, and the hint is not shown again.
        in_another_terminal(steps[0])
        made = json.loads(in_another_terminal([*steps[1], "--json"]))
        fresh.start()
        client = new_sdk(fresh, (made["AccessKeyId"], made["AccessKeySecret"]))
        page = client.list_template_page(
            models.ListTemplatePageRequest(
                app_id=option(steps[0], "--app-id"), workspace_id=option(steps[1], "--workspace")
            )
        )
        assert page.body.success is True
        again = fresh.stop()
    assert "Tidings has no apps yet" not in again
    assert "tidings apps create" not in again


def test_a_database_password_is_never_printed(tmp_path) -> None:
    """The hint names the database for the next commands, its password masked."""
    with postgres_schema() as url:
        assert url.startswith("postgresql://postgres@")
        with_password = url.replace("postgres@", "postgres:hunter2@", 1)  # trust auth ignores it
        port = free_port()
        server = Server(f"http://127.0.0.1:{port}", "127.0.0.1", port, tmp_path, with_password)
        server.start()
        output = server.stop()
    assert "hunter2" not in output
    [step, _] = [shlex.split(line) for line in output.splitlines() if line.startswith("  tidings ")]
    assert option(step, "--database-url") == url.replace("postgres@", "postgres:***@", 1)


def requests_answered(url: str) -> int:
    """What one process's /metrics says it answered (on a new connection each time)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    counted = re.findall(r"^tidings_requests_total\{[^}]*\} ([0-9.e+]+)$", text, re.MULTILINE)
    return int(sum(float(n) for n in counted))


def test_processes_on_postgresql_share_one_port(tmp_path) -> None:
    """SO_REUSEPORT: a second process on the same port starts, and the kernel spreads new
    connections over both (each counts only what it answered)."""
    require_postgres()
    with database("postgresql", tmp_path) as url:
        port = free_port()
        servers = [
            Server(f"http://127.0.0.1:{port}", "127.0.0.1", port, tmp_path, url) for _ in range(2)
        ]
        for server in servers:
            server.start()
        try:
            assert [s.port for s in servers] == [port, port]
            for _ in range(40):  # unsigned: refused, and counted by the process that answered
                request = urllib.request.Request(f"{servers[0].url}/?Action=PushMultiple")
                with contextlib.suppress(urllib.error.HTTPError):
                    urllib.request.urlopen(request, timeout=10).close()
            seen = {requests_answered(servers[0].url) for _ in range(30)}
            # Each answered some: two counts adding up to 40, or one value if they split 20/20.
            assert seen == {20} or (len(seen) == 2 and sum(seen) == 40 and min(seen) > 0), seen
        finally:
            for server in servers:
                server.stop()
