"""``tidings keys``: AccessKeys for the OpenAPI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel
from rich.table import Column, Table

from tidings.cli.common import DatabaseUrl, DataDir, console, run, settings_from, utc_text

if TYPE_CHECKING:
    from tidings.services import Services

app = typer.Typer(help="Create, list, disable and delete AccessKeys.", no_args_is_help=True)

KeyId = Annotated[str, typer.Argument(help="AccessKeyId")]


@app.command("create")
def create(
    workspace: Annotated[str, typer.Option(help="The workspace the key acts on")],
    app_ids: Annotated[
        list[str] | None,
        typer.Option("--app", help="Limit the key to this AppId (repeat for more)"),
    ] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="Only query actions")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with the id and secret")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an AccessKey; its secret is shown this once."""

    async def job(services: Services) -> None:
        key, secret = await services.tenancy.create_key(workspace, app_ids or (), read_only)
        if as_json:
            print(json.dumps({"AccessKeyId": key.access_key_id, "AccessKeySecret": secret}))
            return
        scope = ", ".join(sorted(key.app_ids)) or "every app"
        policy = "read-only" if key.read_only else "full access"
        console.print(
            Panel(
                f"AccessKeyId      {key.access_key_id}\nAccessKeySecret  {secret}\n\n"
                f"Workspace {key.workspace}, {scope}, {policy}.\n"
                "The secret is not shown again; store it now.",
                title="New AccessKey",
                expand=False,
            ),
            highlight=False,
        )

    run(settings_from(data_dir, database_url), job)


@app.command("list")
def list_keys(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List AccessKeys (never their secrets)."""

    async def job(services: Services) -> None:
        table = Table(
            Column("AccessKeyId", no_wrap=True),
            "Workspace",
            "Apps",
            "Policy",
            "Status",
            "Created (UTC)",
        )
        for key in await services.tenancy.keys():
            table.add_row(
                key.access_key_id,
                key.workspace,
                ", ".join(sorted(key.app_ids)) or "all",
                "read-only" if key.read_only else "full access",
                "active" if key.active else "disabled",
                utc_text(key.created_at),
            )
        console.print(table)

    run(settings_from(data_dir, database_url), job)


@app.command("disable")
def disable(key_id: KeyId, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Disable an AccessKey; calls signed with it are refused."""
    _set_active(key_id, False, data_dir, database_url)


@app.command("enable")
def enable(key_id: KeyId, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Enable a disabled AccessKey again."""
    _set_active(key_id, True, data_dir, database_url)


@app.command("delete")
def delete(key_id: KeyId, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Delete an AccessKey for good."""

    async def job(services: Services) -> None:
        await services.tenancy.delete_key(key_id)
        console.print(f"Deleted AccessKey {key_id}.", highlight=False)

    run(settings_from(data_dir, database_url), job)


def _set_active(key_id: str, active: bool, data_dir: Path | None, database_url: str | None) -> None:
    async def job(services: Services) -> None:
        await services.tenancy.set_key_active(key_id, active)
        console.print(f"{'Enabled' if active else 'Disabled'} AccessKey {key_id}.", highlight=False)

    run(settings_from(data_dir, database_url), job)
