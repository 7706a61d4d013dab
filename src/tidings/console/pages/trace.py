"""Message trace: one msgKey's message, every delivery of it and its timeline, as the analytics
service tells it (the same story ``tidings trace`` and the JSON endpoint tell). The SMS
supplement's step is also named in words, with a badge, beside the message."""

from __future__ import annotations

from starlette.responses import Response

from tidings.console.web import Context, page

# The SMS supplement's events (analytics/trace.py), as an operator reads them: words and badge.
SMS_EVENTS = {
    "sms_sent": ("SMS sent", "ok"),
    "sms_failed": ("SMS failed", "bad"),
    "sms_skipped": ("SMS skipped", "warn"),
    "sms_not_needed": ("No SMS needed: the push arrived", "ok"),
    "sms_due": ("SMS waiting", "warn"),
}


@page
async def index(ctx: Context) -> Response:
    app = await ctx.app()
    msg_key = ctx.request.query_params.get("msg_key", "").strip()
    trace = await ctx.services.analytics.trace(app.pk, msg_key) if msg_key else None
    error = None
    if msg_key and trace is None:
        error = f"no message with msgKey {msg_key!r} in app {app.app_id}"
    sms = next((s for s in trace.steps if s.event in SMS_EVENTS), None) if trace else None
    return ctx.render(
        "trace.html",
        status=404 if error else 200,
        app=app,
        msg_key=msg_key,
        trace=trace,
        sms=sms,
        sms_events=SMS_EVENTS,
        errors={"msg_key": error} if error else {},
    )
