"""Revoking: take back one message (RevokePushMessage, by its msgKey and the target it was sent
to) or a whole push (RevokePushTask, by its task id), through the same service as the API. The
page shows what the revocation did: deliveries withdrawn before they were sent, recalled from
devices or vendors, out of reach, and occurrences of a scheduled push cancelled."""

from __future__ import annotations

from starlette.responses import Response

from tidings.console.fielderrors import field_errors
from tidings.console.web import Context, page
from tidings.errors import ServiceError
from tidings.revoke.rules import RevokeResult
from tidings.tenancy.models import App

MESSAGE_FIELDS = {"MessageId": "msg_key", "TargetId": "target"}
TASK_FIELDS = {"TaskId": "task_id"}


@page
async def index(ctx: Context) -> Response:
    return _render(ctx, await ctx.app(), {}, {})


@page
async def revoke_message(ctx: Context) -> Response:
    app = await ctx.app()
    values = {"msg_key": ctx.field("msg_key").strip(), "target": ctx.field("target").strip()}
    try:
        result = await ctx.services.revocations.revoke_message(
            app.pk, values["msg_key"], values["target"]
        )
    except ServiceError as exc:
        return _render(ctx, app, values, field_errors(exc, MESSAGE_FIELDS), form="message")
    return _render(ctx, app, values, {}, form="message", result=result)


@page
async def revoke_task(ctx: Context) -> Response:
    app = await ctx.app()
    values = {"task_id": ctx.field("task_id").strip()}
    try:
        result = await ctx.services.revocations.revoke_task(app.pk, values["task_id"])
    except ServiceError as exc:
        return _render(ctx, app, values, field_errors(exc, TASK_FIELDS), form="task")
    return _render(ctx, app, values, {}, form="task", result=result)


def _render(
    ctx: Context,
    app: App,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    form: str = "",
    result: RevokeResult | None = None,
) -> Response:
    """``form``: which of the two forms was sent; its errors (``_form`` for a refusal no input
    is named in) and its result are shown with it."""
    return ctx.render(
        "revoke.html",
        status=400 if errors else 200,
        app=app,
        values=values,
        errors=errors,
        form=form,
        result=result,
    )
