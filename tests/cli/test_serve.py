"""``tidings serve`` on an empty database tells the operator what to do next, and it works."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

from alibabacloud_mpaas20201028 import models

from tests.support.clients import new_sdk
from tests.support.servers import Server, free_port, postgres_schema, running_server


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
