"""``tidings apps``: the apps pushes are sent for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tidings.cli.common import DatabaseUrl, DataDir, console, run, settings_from, utc_text
from tidings.tenancy.models import DEFAULT_TIMEZONE

if TYPE_CHECKING:
    from tidings.services import Services

app = typer.Typer(help="Create and list apps.", no_args_is_help=True)


@app.command("create")
def create(
    workspace: Annotated[str, typer.Option(help="mPaaS workspace (WorkspaceId)")],
    app_id: Annotated[str, typer.Option("--app-id", help="mPaaS App ID (AppId)")],
    tenant: Annotated[str | None, typer.Option(help="TenantId, if calls carry one")] = None,
    timezone: Annotated[
        str, typer.Option(help="IANA time zone for daily, weekly and monthly loops")
    ] = DEFAULT_TIMEZONE,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an app (its workspace too, if new)."""

    async def job(services: Services) -> None:
        made = await services.tenancy.create_app(workspace, app_id, tenant, timezone)
        console.print(
            f"Created app [bold]{made.app_id}[/bold] in workspace [bold]{made.workspace}[/bold] "
            f"(time zone {made.timezone}).",
            highlight=False,
        )

    run(settings_from(data_dir, database_url), job)


@app.command("list")
def list_apps(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List every app."""

    async def job(services: Services) -> None:
        table = Table("Workspace", "AppId", "TenantId", "Time zone", "Created (UTC)")
        for item in await services.tenancy.apps():
            table.add_row(
                item.workspace,
                item.app_id,
                item.tenant_id or "",
                item.timezone,
                utc_text(item.created_at),
            )
        console.print(table)

    run(settings_from(data_dir, database_url), job)
