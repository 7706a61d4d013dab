"""``tidings webhooks``: an app's webhook endpoints (docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tidings.cli.common import DatabaseUrl, DataDir, console, errors, run, settings_from, utc_text
from tidings.webhooks.events import TYPES

if TYPE_CHECKING:
    from tidings.services import Services

app = typer.Typer(help="Send an app's delivery events to its own backend.", no_args_is_help=True)

Workspace = Annotated[str, typer.Option(help="mPaaS workspace (WorkspaceId)")]
AppId = Annotated[str, typer.Option("--app-id", help="mPaaS App ID (AppId)")]
EndpointId = Annotated[int, typer.Argument(help="The endpoint's id (see `tidings webhooks list`)")]


@app.command("add")
def add(
    workspace: Workspace,
    app_id: AppId,
    url: Annotated[str, typer.Option(help="Where events are POSTed (http:// or https://)")],
    events: Annotated[
        str, typer.Option(help=f"Comma-separated event types, or * for all: {', '.join(TYPES)}")
    ] = "*",
    secret: Annotated[
        str | None,
        typer.Option(help="A whsec_ signing secret to use instead of a new one"),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add an endpoint; prints its id and its signing secret (shown only this once)."""

    async def job(services: Services, app_pk: int) -> None:
        pk, made = await services.webhooks.add(app_pk, url, events, secret)
        console.print(f"Added endpoint {pk}.", highlight=False)
        console.print(f"Signing secret: {made}", highlight=False, soft_wrap=True)

    _for_app(workspace, app_id, data_dir, database_url, job)


@app.command("list")
def list_endpoints(
    workspace: Workspace, app_id: AppId, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """List the app's endpoints with their health and the events they are owed."""

    async def job(services: Services, app_pk: int) -> None:
        endpoints = await services.webhooks.endpoints(app_pk)
        if not endpoints:
            console.print(f"App {app_id} has no webhook endpoint.", highlight=False)
        for e in endpoints:
            state = "enabled" if e.enabled else "disabled"
            if e.failing_since is not None:
                state += f", failing since {utc_text(e.failing_since)} UTC"
            owed = e.owed
            lines = (
                f"Endpoint {e.pk}: {e.url}",
                f"  state:  {state}",
                f"  outbox: {owed.get('pending', 0)} pending, {owed.get('delivered', 0)} "
                f"delivered, {owed.get('expired', 0)} dropped",
                f"  events: {', '.join(e.events)}",
            )
            console.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)

    _for_app(workspace, app_id, data_dir, database_url, job)


@app.command("remove")
def remove(
    endpoint: EndpointId,
    workspace: Workspace,
    app_id: AppId,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove an endpoint and everything it is still owed."""

    async def job(services: Services, app_pk: int) -> None:
        await services.webhooks.remove(app_pk, endpoint)
        console.print(f"Removed endpoint {endpoint}.", highlight=False)

    _for_app(workspace, app_id, data_dir, database_url, job)


@app.command("test")
def test(
    endpoint: EndpointId,
    workspace: Workspace,
    app_id: AppId,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send a webhook.test event now and show the answer; exits 1 unless it was 2xx."""

    async def job(services: Services, app_pk: int) -> bool:
        attempt = await services.webhooks.test(app_pk, endpoint)
        answer = attempt.status_code if attempt.status_code is not None else attempt.error
        console.print(f"{answer} in {attempt.duration_ms} ms", highlight=False)
        if attempt.response:
            console.print(attempt.response, highlight=False, markup=False)
        return attempt.ok

    if not _for_app(workspace, app_id, data_dir, database_url, job):
        raise typer.Exit(1)


@app.command("replay")
def replay(
    endpoint: EndpointId,
    workspace: Workspace,
    app_id: AppId,
    since: Annotated[
        datetime,
        typer.Option(help="Send again the events made since this time (UTC), still kept"),
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send an endpoint's events again (each keeps its id, so receivers can drop repeats)."""
    since_ms = int(since.replace(tzinfo=since.tzinfo or UTC).timestamp() * 1000)

    async def job(services: Services, app_pk: int) -> None:
        count = await services.webhooks.replay(app_pk, endpoint, since_ms)
        console.print(f"{count} event(s) will be sent again.", highlight=False)

    _for_app(workspace, app_id, data_dir, database_url, job)


@app.command("enable")
def enable(
    endpoint: EndpointId,
    workspace: Workspace,
    app_id: AppId,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Enable an endpoint the server disabled after it failed for too long."""

    async def job(services: Services, app_pk: int) -> None:
        await services.webhooks.enable(app_pk, endpoint)
        console.print(f"Enabled endpoint {endpoint}.", highlight=False)

    _for_app(workspace, app_id, data_dir, database_url, job)


@app.command("rotate")
def rotate(
    endpoint: EndpointId,
    workspace: Workspace,
    app_id: AppId,
    finish: Annotated[
        bool, typer.Option("--finish", help="End the rotation: stop signing with the old secret")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Start a secret rotation (requests are signed with the new and the old secret) or
    finish it."""

    async def job(services: Services, app_pk: int) -> None:
        if finish:
            await services.webhooks.retire(app_pk, endpoint)
            console.print("Only the newest secret signs now.", highlight=False)
            return
        made = await services.webhooks.rotate(app_pk, endpoint)
        console.print(f"New signing secret: {made}", highlight=False, soft_wrap=True)
        console.print("Requests carry both signatures until `rotate --finish`.")

    _for_app(workspace, app_id, data_dir, database_url, job)


def _for_app(
    workspace: str,
    app_id: str,
    data_dir: DataDir,
    database_url: DatabaseUrl,
    job: Callable[[Services, int], Awaitable[Any]],
) -> Any:
    """Run ``job`` on the services with the app's key; a refusal is printed, exit status 1."""
    from tidings.webhooks.service import WebhookError

    async def on_app(services: Services) -> Any:
        found = await services.tenancy.resolve_app(workspace, app_id, None)
        return await job(services, found.pk)

    try:
        return run(settings_from(data_dir, database_url), on_app)
    except WebhookError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
