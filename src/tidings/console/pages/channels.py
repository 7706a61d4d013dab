"""An app's vendor channel settings: what is configured (secrets never shown), set, remove."""

from __future__ import annotations

import json

from starlette.responses import Response

from tidings.channels.catalog import VENDORS
from tidings.channels.vendor_config import ChannelConfigError
from tidings.console.web import Context, app_url, page, redirect
from tidings.tenancy.models import App


@page
async def index(ctx: Context) -> Response:
    app = await ctx.app()
    chosen = ctx.request.query_params.get("channel", "")
    configured = await _configured(ctx, app)
    values = {"channel": chosen or VENDORS[0], "config": ""}
    if chosen in configured:  # replacing one: start from what may be shown
        values["config"] = json.dumps(configured[chosen].public, indent=2, ensure_ascii=False)
    return _render(ctx, app, configured, values, {})


@page
async def save(ctx: Context) -> Response:
    app = await ctx.app()
    values = {"channel": ctx.field("channel"), "config": ctx.field("config")}
    try:
        await ctx.services.channel_configs.set(
            app.workspace, app.app_id, values["channel"], values["config"]
        )
    except ChannelConfigError as exc:
        field = "channel" if values["channel"] not in VENDORS else "config"
        return _render(ctx, app, await _configured(ctx, app), values, {field: str(exc)}, 400)
    return redirect(app_url(app, "/channels"), f"Saved the {values['channel']} channel.")


@page
async def remove(ctx: Context) -> Response:
    app = await ctx.app()
    channel = ctx.request.path_params["channel"]
    try:
        await ctx.services.channel_configs.remove(app.workspace, app.app_id, channel)
    except ChannelConfigError as exc:
        return redirect(app_url(app, "/channels"), f"Not removed: {exc}")
    return redirect(app_url(app, "/channels"), f"Removed the {channel} channel.")


async def _configured(ctx: Context, app: App) -> dict:
    return {
        c.channel: c
        for c in await ctx.services.channel_configs.listed()
        if (c.workspace, c.app_id) == (app.workspace, app.app_id)
    }


def _render(
    ctx: Context,
    app: App,
    configured: dict,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return ctx.render(
        "channels.html",
        status=status,
        app=app,
        configured=[configured[name] for name in VENDORS if name in configured],
        vendors=VENDORS,
        values=values,
        errors=errors,
    )
