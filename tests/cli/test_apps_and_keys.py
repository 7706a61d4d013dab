"""``tidings apps`` and ``tidings keys`` as an operator runs them, beside a running server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alibabacloud_mpaas20201028 import models

from tests.support import stored
from tests.support.clients import new_sdk
from tests.support.raw import RawClient
from tests.support.servers import Server, running_server

WORKSPACE = "cliws"
APP = "ONEXCLI000000001"


@pytest.fixture(scope="module")
def app(server: Server) -> str:
    created = server.cli(
        "apps", "create", "--workspace", WORKSPACE, "--app-id", APP, "--tenant", "LZFPEFIM"
    )
    assert f"Created app {APP} in workspace {WORKSPACE}" in created.stdout
    assert "Asia/Shanghai" in created.stdout
    return APP


def refused(server: Server, *args: str) -> str:
    """Run a command that must fail cleanly; its error output."""
    result = server.cli(*args, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    return result.stderr


def test_creating_an_app_twice(server: Server, app: str) -> None:
    error = refused(server, "apps", "create", "--workspace", WORKSPACE, "--app-id", app)
    assert f"app '{app}' already exists in workspace '{WORKSPACE}'" in error


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--timezone", "Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'"),
        ("--timezone", "../../etc/passwd", "unknown time zone"),
        ("--app-id", "has space", "app id 'has space' must be"),
        ("--tenant", "a,b", "tenant id 'a,b' must be"),
    ],
)
def test_bad_app_options(server: Server, option: str, value: str, named: str) -> None:
    args = {"--workspace": WORKSPACE, "--app-id": "ONEXCLI000000009", option: value}
    flat = [item for pair in args.items() for item in pair]
    assert named in refused(server, "apps", "create", *flat)


def test_apps_list(server: Server, app: str) -> None:
    server.create_app("cliws2", "ONEXCLI000000002", "--timezone", "Europe/Berlin")
    listed = server.cli("apps", "list", "--data-dir", str(server.data_dir)).stdout
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in listed.splitlines()]
    assert [WORKSPACE, app, "LZFPEFIM", "Asia/Shanghai"] in [row[:4] for row in rows]
    assert ["cliws2", "ONEXCLI000000002", "", "Europe/Berlin"] in [row[:4] for row in rows]
    assert "ONEXCLI000000009" not in listed  # what test_bad_app_options refused


def test_keys_create_json_prints_one_object(server: Server, app: str) -> None:
    result = server.cli("keys", "create", "--workspace", WORKSPACE, "--json")
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1
    made = json.loads(result.stdout)
    assert set(made) == {"AccessKeyId", "AccessKeySecret"}
    assert made["AccessKeyId"].startswith("TID") and len(made["AccessKeySecret"]) >= 30
    # The key works at once.
    answer = new_sdk(server, (made["AccessKeyId"], made["AccessKeySecret"])).list_template_page(
        models.ListTemplatePageRequest(app_id=app, workspace_id=WORKSPACE, tenant_id="LZFPEFIM")
    )
    assert answer.body.success is True


def test_keys_create_shows_the_secret_once_in_a_panel(server: Server, app: str) -> None:
    shown = server.cli("keys", "create", "--workspace", WORKSPACE, "--app", app, "--read-only")
    assert "AccessKeySecret" in shown.stdout and "not shown again" in shown.stdout
    assert f"{WORKSPACE}, {app}, read-only" in shown.stdout


def test_keys_list_never_shows_a_secret(server: Server, app: str) -> None:
    made = [server.create_key(WORKSPACE), server.create_key(WORKSPACE, "--app", app)]
    listed = server.cli("keys", "list")
    for key_id, secret in made:
        assert key_id in listed.stdout
        assert secret not in listed.stdout + listed.stderr
    assert "AccessKeySecret" not in listed.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--workspace", "emptyws"], "workspace 'emptyws' has no apps"),
        (["--workspace", WORKSPACE, "--app", "NOSUCHAPP"], "no app NOSUCHAPP in workspace"),
    ],
)
def test_keys_create_refusals(server: Server, app: str, args, named: str) -> None:
    before = _key_count(server)
    assert named in refused(server, "keys", "create", *args, "--json")
    assert _key_count(server) == before


def _key_count(server: Server) -> int:
    with stored.connection(server) as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM access_keys").scalar_one()


@pytest.mark.parametrize("command", ["disable", "delete"])
def test_unknown_key_ids(server: Server, command: str) -> None:
    assert "no AccessKey 'TIDnosuch'" in refused(server, "keys", command, "TIDnosuch")


def test_secrets_are_never_in_plain_text(server: Server, tmp_path) -> None:
    """Not in the database (file bytes, or any column on PostgreSQL), nor in the server's
    output, even after calls signed with it, right and wrong."""
    with running_server(server.kind, tmp_path) as fresh:
        fresh.create_app(WORKSPACE, APP)
        key_id, secret = fresh.create_key(WORKSPACE)
        params = {"AppId": APP, "WorkspaceId": WORKSPACE}
        assert RawClient(fresh, (key_id, secret)).acs3("ListTemplatePage", params).is_success
        wrong = RawClient(fresh, (key_id, secret[::-1])).v1("ListTemplatePage", params)
        assert wrong.json()["Code"] == "SignatureDoesNotMatch"
        assert secret not in wrong.text
        with stored.connection(fresh) as conn:
            rows = conn.exec_driver_sql("SELECT * FROM access_keys").all()
        cells = [
            bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in rows[0]
        ]
        assert key_id.encode() in cells
        assert not any(secret.encode() in cell for cell in cells)
        files_while_serving = _file_bytes(tmp_path)
        output = fresh.stop()
    assert secret not in output
    files = files_while_serving | _file_bytes(tmp_path)
    assert fresh.kind == "postgresql" or "tidings.db" in files
    for name, content in files.items():
        assert secret.encode() not in content, name


def _file_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
