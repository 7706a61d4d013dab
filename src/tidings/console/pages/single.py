"""Template and simple pushes: one text (a template filled in once, or written here) sent to up
to ten targets, each with its own msgKey (PushTemplate and PushSimple), with an optional SMS
supplement (console/supplement.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from tidings.channels.sms import NAME as SMS_CHANNEL
from tidings.console import supplement
from tidings.console.batch import LinesProblem, placeholder_values, target_keys
from tidings.console.fielderrors import field_errors
from tidings.console.pages.push import (
    DEFAULTS,
    DELIVERY_TYPES,
    WHEN_INPUTS,
    call_fields,
    read_weekdays,
    read_when,
    schedule,
    templates_of,
)
from tidings.console.scheduling import CIRCLES, WEEKDAYS
from tidings.console.scheduling import FIELDS as WHEN_FIELDS
from tidings.console.web import Context, page
from tidings.errors import ServiceError
from tidings.push.call import given
from tidings.push.simple import SimpleCall
from tidings.push.template import TemplateCall
from tidings.schedule.strategy import IMMEDIATE, Timing
from tidings.tenancy.models import App

FIELDS = {
    "TaskName": "task_name",
    "DeliveryType": "delivery_type",
    "TemplateName": "template",
    "TemplateKeyValue": "values",
    "TargetMsgkey": "targets",
    "ExpiredSeconds": "expired_seconds",
    "Title": "title",
    "Content": "content",
    "Uri": "uri",
    **WHEN_FIELDS,
    **supplement.FIELDS,
}
TEMPLATE_INPUTS = ("task_name", "delivery_type", "template", "values", "targets", "expired_seconds")
SIMPLE_INPUTS = (
    "task_name",
    "delivery_type",
    "title",
    "content",
    "uri",
    "targets",
    "expired_seconds",
)

Send = Callable[[Context, App, dict[str, str], dict[str, str], Timing], Awaitable[int]]


@page
async def template_push(ctx: Context) -> Response:
    return await _form(ctx, "push_template.html", TEMPLATE_INPUTS, _send_template)


@page
async def simple_push(ctx: Context) -> Response:
    return await _form(ctx, "push_simple.html", SIMPLE_INPUTS, _send_simple)


async def _form(ctx: Context, page_name: str, inputs: tuple[str, ...], send: Send) -> Response:
    """The empty form (GET), or send what it holds (POST) and show the form again."""
    app = await ctx.app()
    if ctx.request.method == "GET":
        sms = await _sms_group(ctx, app)
        return await render_form(ctx, app, page_name, dict(DEFAULTS), {}, (), **sms)
    values = {name: ctx.field(name) for name in (*inputs, *WHEN_INPUTS, *supplement.INPUTS)}
    weekdays = read_weekdays(ctx)
    errors: dict[str, str] = {}
    when = schedule(read_when(values, weekdays), app, errors)
    keys: dict[str, str] = {}
    try:
        keys = target_keys(values["targets"])
    except LinesProblem as problem:
        errors["targets"] = str(problem)
    sent: list[tuple[int, int]] = []
    if not errors:
        try:
            task_id = await send(ctx, app, values, keys, when)
        except (ServiceError, LinesProblem) as exc:
            errors = _errors(exc)
        else:
            sent = [(task_id, len(keys))]
    return await render_form(
        ctx,
        app,
        page_name,
        values,
        errors,
        weekdays,
        sent=sent,
        scheduled=when.kind != IMMEDIATE,
        status=400 if errors else 200,
        **await _sms_group(ctx, app),
    )


def _errors(exc: ServiceError | LinesProblem) -> dict[str, str]:
    if isinstance(exc, LinesProblem):  # only the values box is read while sending
        return {"values": str(exc)}
    return field_errors(exc, FIELDS)


async def _send_template(
    ctx: Context, app: App, values: dict[str, str], keys: dict[str, str], when: Timing
) -> int:
    fields = TemplateCall(
        **call_fields(values, when),
        template_name=values["template"],
        template_key_value=given(placeholder_values(values["values"])),
        target_msgkey=given(keys),
        options=supplement.options(values),
    )
    return await ctx.services.pushes.push_template(app, fields)


async def _send_simple(
    ctx: Context, app: App, values: dict[str, str], keys: dict[str, str], when: Timing
) -> int:
    fields = SimpleCall(
        **call_fields(values, when),
        title=values["title"],
        content=values["content"],
        uri=values["uri"] or None,
        target_msgkey=given(keys),
        options=supplement.options(values),
    )
    return await ctx.services.pushes.push_simple(app, fields)


async def _sms_group(ctx: Context, app: App) -> dict[str, Any]:
    """What the form's SMS supplement group shows: the strategies, the delay the first one waits
    and the app's SMS provider, if it has one to send with."""
    configured = await ctx.services.channel_configs.of_app(app.pk)
    return {
        "sms_strategies": supplement.STRATEGIES,
        "sms_asking": supplement.ASKING,
        "sms_delay": ctx.services.settings.sms_supplement_delay_seconds,
        "sms_provider": configured.get(SMS_CHANNEL),
    }


async def render_form(
    ctx: Context,
    app: App,
    page_name: str,
    values: dict[str, str],
    errors: dict[str, str],
    weekdays: tuple[str, ...],
    *,
    sent: list[tuple[int, int | None]] | None = None,
    scheduled: bool = False,
    status: int = 200,
    delivery_types: list[tuple[str, str]] = DELIVERY_TYPES,
    **more: object,
) -> Response:
    """A push form with what it holds, its errors and what it sent (``None`` messages: a
    broadcast, whose devices are found when it is due)."""
    return ctx.render(
        page_name,
        status=status,
        app=app,
        templates=await templates_of(ctx, app),
        values=values,
        errors=errors,
        weekdays=weekdays,
        sent=sent or [],
        scheduled=scheduled,
        delivery_types=delivery_types,
        circles=list(CIRCLES),
        weekday_names=WEEKDAYS,
        **more,
    )
