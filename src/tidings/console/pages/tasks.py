"""Pushes the app sent, newest first, each with its deliveries counted by status."""

from __future__ import annotations

from starlette.responses import Response

from tidings.analytics.reports import PushReport
from tidings.console.charts import bar_chart
from tidings.console.paging import PAGE_SIZE, Paging, asked
from tidings.console.web import Context, NotFound, page

STRATEGIES = {0: "now", 1: "once, scheduled", 2: "loop"}


@page
async def index(ctx: Context) -> Response:
    app = await ctx.app()
    number = asked(ctx.request.query_params.get("page"))
    reports, total = await ctx.services.reports.pushes(app.pk, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    return ctx.render(
        "tasks.html",
        app=app,
        pushes=reports,
        paging=Paging(number, PAGE_SIZE, total),
        strategies=STRATEGIES,
    )


@page
async def detail(ctx: Context) -> Response:
    app = await ctx.app()
    raw = ctx.request.path_params["task_id"]
    report = None
    if raw.isascii() and raw.isdigit() and len(raw) < 19:
        report = await ctx.services.reports.push(app.pk, int(raw))
    if report is None:
        raise NotFound(f"no push {raw[:40]} in app {app.app_id}")
    number = asked(ctx.request.query_params.get("page"))
    messages, total = await ctx.services.reports.messages(
        report.id, (number - 1) * PAGE_SIZE, PAGE_SIZE
    )
    return ctx.render(
        "task.html",
        app=app,
        push=report,
        chart=bar_chart(_bars(report)),
        messages=messages,
        paging=Paging(number, PAGE_SIZE, total),
        strategies=STRATEGIES,
    )


def _bars(report: PushReport) -> list[tuple[str, int]]:
    return [(c.label, c.deliveries) for c in report.counts] + [("opened", report.opened)]
