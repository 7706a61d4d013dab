"""Device lookup by DeliveryToken or userId: presence, the user binding and vendor tokens."""

from __future__ import annotations

from starlette.responses import Response

from tidings.channels.catalog import vendor_of_third_channel
from tidings.console.fielderrors import describe
from tidings.console.web import Context, page
from tidings.devices.service import TARGET_DEVICE, TARGET_USER
from tidings.errors import ServiceError


@page
async def index(ctx: Context) -> Response:
    app = await ctx.app()
    query = ctx.request.query_params
    token, user = query.get("token", "").strip(), query.get("user", "").strip()
    states, errors = [], {}
    if token or user:
        kind, target, field = (
            (TARGET_DEVICE, token, "token") if token else (TARGET_USER, user, "user")
        )
        try:
            states = await ctx.services.devices.states(app.pk, str(kind), target)
        except ServiceError as exc:
            errors[field] = describe(exc)
    return ctx.render(
        "devices.html",
        status=404 if errors else 200,
        app=app,
        values={"token": token, "user": user},
        errors=errors,
        states=states,
        vendor_of=vendor_of_third_channel,
    )
