"""``tidings schedules``: the occurrences of scheduled and loop pushes, and cancelling them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Column, Table

from tidings.cli.common import DatabaseUrl, DataDir, console, run, settings_from
from tidings.schedule.listing import MAX_PAGE_SIZE, ListQuery, read_unique_ids
from tidings.schedule.strategy import SCHEDULED

if TYPE_CHECKING:
    from tidings.services import Services

app = typer.Typer(help="List and cancel scheduled and loop pushes.", no_args_is_help=True)


@app.command("list")
def list_upcoming(
    workspace: Annotated[str, typer.Option(help="mPaaS workspace (WorkspaceId)")],
    app_id: Annotated[str, typer.Option("--app-id", help="mPaaS App ID (AppId)")],
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_PAGE_SIZE, help="Show at most this many")
    ] = 100,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List the occurrences waiting to fire, soonest first, in the app's time zone."""

    async def job(services: Services) -> None:
        found = await services.tenancy.resolve_app(workspace, app_id, None)
        query = ListQuery(None, None, None, None, page=1, size=limit, waiting_only=True)
        items, total = await services.occurrences.page(found.pk, query)
        zone = ZoneInfo(found.timezone)
        table = Table(
            Column("UniqueId", no_wrap=True),
            Column("ParentId", no_wrap=True),
            "Task",
            Column("Kind", no_wrap=True),
            Column(f"Due ({found.timezone})", no_wrap=True),
            "Title",
        )
        for item in items:
            table.add_row(
                str(item.unique_id),
                str(item.parent_id),
                item.name,
                "scheduled" if item.strategy_type == SCHEDULED else "loop",
                datetime.fromtimestamp(item.push_time / 1000, zone).strftime("%Y-%m-%d %H:%M:%S"),
                item.title,
            )
        if not items:
            console.print(f"No occurrence of app {app_id} is waiting to fire.", highlight=False)
            return
        console.print(table)
        if total > len(items):
            console.print(f"{total - len(items)} more waiting; see them with --limit.")

    run(settings_from(data_dir, database_url), job)


@app.command("cancel")
def cancel(
    unique_ids: Annotated[
        str,
        typer.Argument(
            help="A scheduled push's id (cancels every occurrence still waiting) or one "
            "occurrence's id; several separated by commas"
        ),
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Cancel a scheduled push, or one occurrence of a loop."""

    async def job(services: Services) -> None:
        cancelled = await services.occurrences.cancel(None, read_unique_ids(unique_ids))
        console.print(f"Cancelled {cancelled} waiting occurrence(s).", highlight=False)

    run(settings_from(data_dir, database_url), job)
