"""An app's webhook endpoints: each with its health and recent attempts; add, test, replay,
enable, remove. A new endpoint's secret is shown once, on the page that made it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from tidings.console.web import Context, app_url, page, redirect
from tidings.tenancy.models import App
from tidings.webhooks.events import TYPES
from tidings.webhooks.service import WebhookError

ATTEMPTS_SHOWN = 10
REPLAY_HOURS = (1, 24, 72, 168)


@page
async def index(ctx: Context) -> Response:
    app = await ctx.app()
    return await _render(ctx, app, {"url": "", "events": list(TYPES)}, {})


@page
async def add(ctx: Context) -> Response:
    app = await ctx.app()
    chosen = [name for name in TYPES if ctx.form.get(f"event-{name}")]
    values = {"url": ctx.field("url"), "events": chosen}
    try:
        pk, secret = await ctx.services.webhooks.add(app.pk, values["url"], ",".join(chosen))
    except WebhookError as exc:
        field = str(exc).split(":", 1)[0]
        return await _render(ctx, app, values, {field: str(exc)}, status=400)
    return await _render(ctx, app, {"url": "", "events": list(TYPES)}, {}, made=(pk, secret))


@page
async def test(ctx: Context) -> Response:
    app = await ctx.app()
    pk = _endpoint(ctx)
    try:
        attempt = await ctx.services.webhooks.test(app.pk, pk)
    except WebhookError as exc:
        return _back(app, f"Not tested: {exc}")
    answer = attempt.status_code if attempt.status_code is not None else attempt.error
    return _back(app, f"Test event sent to endpoint {pk}: {answer}.")


@page
async def replay(ctx: Context) -> Response:
    app = await ctx.app()
    pk = _endpoint(ctx)
    hours = ctx.field("hours")
    if not hours.isdigit() or int(hours) not in REPLAY_HOURS:
        return _back(app, "Not replayed: hours must be one of the choices offered.")
    since = int(ctx.services.webhooks.now() * 1000) - int(hours) * 3600 * 1000
    try:
        count = await ctx.services.webhooks.replay(app.pk, pk, since)
    except WebhookError as exc:
        return _back(app, f"Not replayed: {exc}")
    return _back(app, f"{count} event(s) of endpoint {pk} will be sent again.")


@page
async def enable(ctx: Context) -> Response:
    return await _on_endpoint(ctx, ctx.services.webhooks.enable, "Not enabled", "Enabled")


@page
async def remove(ctx: Context) -> Response:
    return await _on_endpoint(ctx, ctx.services.webhooks.remove, "Not removed", "Removed")


async def _on_endpoint(
    ctx: Context,
    act: Callable[[int, int], Awaitable[None]],
    refused: str,
    done: str,
) -> Response:
    app = await ctx.app()
    pk = _endpoint(ctx)
    try:
        await act(app.pk, pk)
    except WebhookError as exc:
        return _back(app, f"{refused}: {exc}")
    return _back(app, f"{done} endpoint {pk}.")


def _endpoint(ctx: Context) -> int:
    text = ctx.request.path_params["endpoint"]
    return int(text) if text.isdigit() else 0


def _back(app: App, flash: str) -> Response:
    return redirect(app_url(app, "/webhooks"), flash)


async def _render(
    ctx: Context,
    app: App,
    values: dict,
    errors: dict[str, str],
    *,
    status: int = 200,
    made: tuple[int, str] | None = None,
) -> Response:
    webhooks = ctx.services.webhooks
    endpoints = await webhooks.endpoints(app.pk)
    attempts = {e.pk: await webhooks.attempts(app.pk, e.pk, ATTEMPTS_SHOWN) for e in endpoints}
    return ctx.render(
        "webhooks.html",
        status=status,
        app=app,
        endpoints=endpoints,
        attempts=attempts,
        types=TYPES,
        values=values,
        errors=errors,
        made=made,
        replay_hours=REPLAY_HOURS,
    )
