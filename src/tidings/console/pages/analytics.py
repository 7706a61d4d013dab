"""Analytics: messages that arrived and were opened over time, in the app's time zone."""

from __future__ import annotations

import time

from starlette.responses import Response

from tidings.console.charts import line_chart
from tidings.console.web import Context, page

RANGES = {
    "24h": ("the last 24 hours", 24),
    "7d": ("the last 7 days", 7 * 24),
    "30d": ("the last 30 days", 30 * 24),
}


@page
async def index(ctx: Context) -> Response:
    app = await ctx.app()
    chosen = ctx.request.query_params.get("range", "24h")
    if chosen not in RANGES:
        chosen = "24h"
    label, hours = RANGES[chosen]
    now_ms = int(time.time() * 1000)
    activity = await ctx.services.reports.activity(app.pk, app.timezone, hours, now_ms)
    chart = line_chart(
        activity.labels, [("arrived", activity.arrived), ("opened", activity.opened)]
    )
    arrived, opened = sum(activity.arrived), sum(activity.opened)
    return ctx.render(
        "analytics.html",
        app=app,
        ranges=RANGES,
        chosen=chosen,
        label=label,
        activity=activity,
        chart=chart,
        arrived=arrived,
        opened=opened,
        open_rate=f"{opened / arrived:.0%}" if arrived else "—",
    )
