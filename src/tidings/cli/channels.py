"""``tidings channels``: an app's vendor channels (APNs, FCM, Huawei, Honor, Xiaomi, ...) and its
SMS provider (``--channel sms --provider aliyun|webhook``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from tidings.channels import sms
from tidings.channels.registry import CONFIGURABLE
from tidings.channels.sms import PROVIDERS
from tidings.cli.common import DatabaseUrl, DataDir, console, errors, run, settings_from, utc_text

if TYPE_CHECKING:
    from tidings.config import Settings
    from tidings.services import Services

app = typer.Typer(help="Configure the vendor channels of an app.", no_args_is_help=True)

Workspace = Annotated[str, typer.Option(help="mPaaS workspace (WorkspaceId)")]
AppId = Annotated[str, typer.Option("--app-id", help="mPaaS App ID (AppId)")]
Channel = Annotated[str, typer.Option("--channel", help=f"One of {', '.join(CONFIGURABLE)}")]


@app.command("set")
def set_channel(
    workspace: Workspace,
    app_id: AppId,
    channel: Channel,
    config: Annotated[
        str,
        typer.Option(
            help="The channel's settings as a JSON object, or @FILE to read them from a file "
            "(docs/vendor-channels.md lists the keys)"
        ),
    ],
    provider: Annotated[
        str | None,
        typer.Option(
            help=f"With --channel sms: the SMS provider, {' or '.join(PROVIDERS)} (the config's "
            "`provider` key)"
        ),
    ] = None,
    renew_keys: Annotated[
        bool,
        typer.Option(
            "--renew-keys",
            help="Generate anew the keys the channel made itself and keeps when set again "
            "(Web Push's VAPID pair); subscriptions made with the old pair stop working",
        ),
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Configure (or replace) one vendor channel of an app; its secrets are sealed at rest."""
    try:
        text = Path(config[1:]).read_text() if config.startswith("@") else config
    except OSError as exc:
        errors.print(f"[red]error:[/red] cannot read {config[1:]}: {exc.strerror}", highlight=False)
        raise typer.Exit(1) from None
    raw: str | dict[str, Any] = text
    if provider is not None:
        raw = _with_provider(channel, text, provider)

    async def job(services: Services) -> None:
        checked = await services.channel_configs.set(
            workspace, app_id, channel, raw, renew=renew_keys
        )
        console.print(f"Configured {channel} for app {app_id} in {workspace}.", highlight=False)
        if checked.values.get("receipt_url"):
            console.print(
                f"Receipts go to {checked['receipt_url']}", highlight=False, soft_wrap=True
            )

    _run(settings_from(data_dir, database_url), job)


@app.command("list")
def list_channels(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List configured channels (never their secrets)."""

    async def job(services: Services) -> None:
        table = Table("Workspace", "AppId", "Channel", "Updated (UTC)")
        table.add_column("Settings", min_width=36, overflow="fold")
        for item in await services.channel_configs.listed():
            shown = "\n".join(f"{k}={v}" for k, v in sorted(item.public.items()))
            table.add_row(
                item.workspace, item.app_id, item.channel, utc_text(item.updated_at), shown
            )
        console.print(table)

    _run(settings_from(data_dir, database_url), job)


@app.command("remove")
def remove(
    workspace: Workspace,
    app_id: AppId,
    channel: Channel,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a vendor channel; its deliveries go over the self-built channel from then on."""

    async def job(services: Services) -> None:
        await services.channel_configs.remove(workspace, app_id, channel)
        console.print(f"Removed {channel} from app {app_id} in {workspace}.", highlight=False)

    _run(settings_from(data_dir, database_url), job)


def _with_provider(channel: str, text: str, provider: str) -> dict[str, Any]:
    """The config with ``--provider`` as its ``provider`` key (SMS only)."""
    if channel != sms.NAME:
        raise typer.BadParameter("only the sms channel has providers", param_hint="--provider")
    from tidings.channels.sms.config import with_provider
    from tidings.channels.vendor_config import ChannelConfigError

    try:
        return with_provider(channel, text, provider)
    except ChannelConfigError:
        raise typer.BadParameter("--config must be a JSON object", param_hint="--config") from None


def _run(settings: Settings, job: Callable[[Services], Awaitable[Any]]) -> None:
    from tidings.channels.vendor_config import ChannelConfigError

    try:
        run(settings, job)
    except ChannelConfigError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
