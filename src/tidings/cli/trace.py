"""``tidings trace``: what happened to one message, found by its msgKey."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Column, Table

from tidings.cli.common import DatabaseUrl, DataDir, console, errors, run, settings_from

if TYPE_CHECKING:
    from tidings.analytics.trace import MessageTrace
    from tidings.services import Services


def trace(
    msg_key: Annotated[str, typer.Argument(help="The message's msgKey")],
    workspace: Annotated[str, typer.Option(help="mPaaS workspace (WorkspaceId)")],
    app_id: Annotated[str, typer.Option("--app-id", help="mPaaS App ID (AppId)")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the trace as JSON (the console's shape)")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show a message's timeline: accepted, resolved to devices, sent, acknowledged, opened,
    expired, revoked, vendor errors; times in the app's time zone."""

    async def job(services: Services) -> tuple[MessageTrace | None, str]:
        app = await services.tenancy.resolve_app(workspace, app_id, None)
        return await services.analytics.trace(app.pk, msg_key), app.timezone

    found, timezone = run(settings_from(data_dir, database_url), job)
    if found is None:
        errors.print(f"No message with msgKey {msg_key!r} in app {app_id}.", highlight=False)
        raise typer.Exit(1)
    if as_json:
        console.print_json(json.dumps(found.to_json(), ensure_ascii=False))
        return
    _show(found, ZoneInfo(timezone))


def _show(found: MessageTrace, zone: ZoneInfo) -> None:
    def when(millis: int) -> str:
        return datetime.fromtimestamp(millis / 1000, zone).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    console.print(
        f"[bold]{found.msg_key}[/bold]: {found.title!r} / {found.content!r}"
        f"{f' -> {found.uri}' if found.uri else ''}",
        highlight=False,
    )
    timeline = Table(
        Column(f"Time ({zone.key})", no_wrap=True),
        Column("Event", no_wrap=True),
        Column("Delivery", justify="right"),
        "Detail",
    )
    for step in found.steps:
        delivery = str(step.delivery_id) if step.delivery_id is not None else ""
        timeline.add_row(when(step.at), step.event, delivery, step.detail)
    console.print(timeline)
    if not found.deliveries:
        console.print("No deliveries yet.")
        return
    deliveries = Table("Delivery", "Device", "Channel", "Status", "Attempts", "Last reason")
    for d in found.deliveries:
        deliveries.add_row(
            str(d.id),
            d.device or (f"(user {d.user_id})" if d.user_id else "(unknown token)"),
            d.channel or "",
            f"{d.status} {d.status_name}",
            str(d.attempts),
            d.reason or "",
        )
    console.print(deliveries)
    if found.delivery_count > len(found.deliveries):
        console.print(
            f"The first {len(found.deliveries)} of {found.delivery_count:,} deliveries.",
            highlight=False,
        )
