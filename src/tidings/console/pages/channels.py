"""An app's channel settings: its vendor channels and its SMS provider (the ``sms`` channel),
what is configured (secrets masked, never shown), set, remove.

One form serves every channel, as ``tidings channels set`` does: the settings as JSON, checked by
the channel's own schema; for ``sms`` the provider is chosen apart, like ``--provider``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from tidings.channels import sms
from tidings.channels.catalog import BY_NAME
from tidings.channels.registry import CONFIGURABLE
from tidings.channels.sms.config import PROVIDER, PROVIDERS, SCHEMAS, with_provider
from tidings.channels.vendor_config import ChannelConfigError, Key
from tidings.console.web import Context, app_url, page, redirect
from tidings.tenancy.models import App

INPUTS = ("channel", "provider", "config")
# The keys each channel takes, shown beside the settings: (channel, provider or "", keys); the
# SMS provider's own key is its select.
KEYS: list[tuple[str, str, tuple[Key, ...]]] = [
    *((name, "", vendor.config.keys) for name, vendor in BY_NAME.items()),
    *(
        (sms.NAME, provider, tuple(key for key in schema.keys if key is not PROVIDER))
        for provider, schema in SCHEMAS.items()
    ),
]
SECRETS = frozenset(key.name for _, _, keys in KEYS for key in keys if key.secret)


@page
async def index(ctx: Context) -> Response:
    app = await ctx.app()
    chosen = ctx.request.query_params.get("channel", "")
    configured = await _configured(ctx, app)
    values = {"channel": chosen or CONFIGURABLE[0], "provider": PROVIDERS[0], "config": ""}
    if chosen in configured:  # replacing one: start from what may be shown
        shown = dict(configured[chosen].public)
        if chosen == sms.NAME:
            values["provider"] = shown.pop("provider", PROVIDERS[0])
        values["config"] = json.dumps(shown, indent=2, ensure_ascii=False)
    return _render(ctx, app, configured, values, {})


@page
async def save(ctx: Context) -> Response:
    app = await ctx.app()
    values = {name: ctx.field(name) for name in INPUTS}
    channel = values["channel"]
    try:
        await ctx.services.channel_configs.set(
            app.workspace, app.app_id, channel, _settings(channel, values)
        )
    except ChannelConfigError as exc:
        field = "channel" if channel not in CONFIGURABLE else "config"
        values["config"] = _without_secrets(values["config"])
        return _render(ctx, app, await _configured(ctx, app), values, {field: str(exc)}, 400)
    return redirect(app_url(app, "/channels"), f"Saved the {channel} channel.")


def _settings(channel: str, values: dict[str, str]) -> str | dict[str, Any]:
    """The settings as the form holds them; the SMS provider's choice is their provider key."""
    if channel == sms.NAME and values["provider"]:
        return with_provider(channel, values["config"], values["provider"])
    return values["config"]


def _without_secrets(config: str) -> str:
    """A refused form's settings as typed, less the values of secret keys: a secret is never
    sent back, not even one just typed (text that is no JSON object is shown as it came)."""
    try:
        given = json.loads(config)
    except ValueError:
        return config
    if not isinstance(given, dict) or not SECRETS & given.keys():
        return config
    kept = {key: value for key, value in given.items() if key not in SECRETS}
    return json.dumps(kept, indent=2, ensure_ascii=False)


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
        configured=[configured[name] for name in CONFIGURABLE if name in configured],
        channels=CONFIGURABLE,
        providers=[(p, p) for p in PROVIDERS],
        keys=KEYS,
        values=values,
        errors=errors,
    )
