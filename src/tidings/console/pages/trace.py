"""Message trace: one msgKey's message, every delivery of it and its timeline, as the analytics
service tells it (the same story ``tidings trace`` and the JSON endpoint tell)."""

from __future__ import annotations

from starlette.responses import Response

from tidings.console.web import Context, page


@page
async def index(ctx: Context) -> Response:
    app = await ctx.app()
    msg_key = ctx.request.query_params.get("msg_key", "").strip()
    trace = await ctx.services.analytics.trace(app.pk, msg_key) if msg_key else None
    error = None
    if msg_key and trace is None:
        error = f"no message with msgKey {msg_key!r} in app {app.app_id}"
    return ctx.render(
        "trace.html",
        status=404 if error else 200,
        app=app,
        msg_key=msg_key,
        trace=trace,
        errors={"msg_key": error} if error else {},
    )
