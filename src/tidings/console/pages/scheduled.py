"""Scheduled and loop pushes: their occurrences by trigger time, and cancelling them."""

from __future__ import annotations

from starlette.responses import Response

from tidings.console.fielderrors import describe
from tidings.console.paging import PAGE_SIZE, Paging, asked
from tidings.console.web import Context, app_url, page, redirect
from tidings.errors import ServiceError
from tidings.schedule.listing import NOT_EXECUTED, PUSH_TYPES, ListQuery

STATUS = {"0": "waiting", "1": "sent", "2": "cancelled", "3": "skipped"}
ACTIONS = {number: action.removeprefix("Push") for action, number in PUSH_TYPES.items()}


@page
async def index(ctx: Context) -> Response:
    app = await ctx.app()
    waiting = ctx.request.query_params.get("all") != "1"
    number = asked(ctx.request.query_params.get("page"))
    query = ListQuery(None, None, None, None, number, PAGE_SIZE, waiting_only=waiting)
    occurrences, total = await ctx.services.occurrences.page(app.pk, query)
    return ctx.render(
        "scheduled.html",
        app=app,
        occurrences=occurrences,
        paging=Paging(number, PAGE_SIZE, total),
        waiting=waiting,
        labels=STATUS,
        actions=ACTIONS,
        not_executed=NOT_EXECUTED,
    )


@page
async def cancel(ctx: Context) -> Response:
    """Cancel a scheduled push (every occurrence still waiting) or one occurrence of a loop."""
    app = await ctx.app()
    raw = ctx.request.path_params["task_id"]
    back = app_url(app, "/scheduled")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        return redirect(back, f"There is no scheduled push {raw[:40]}.")
    try:
        count = await ctx.services.occurrences.cancel(app.pk, [int(raw)])
    except ServiceError as exc:
        return redirect(back, f"Not cancelled: {describe(exc)}")
    plural = "" if count == 1 else "s"
    return redirect(back, f"Cancelled {count} waiting occurrence{plural} of {raw}.")
