"""The broadcast form: one template message to every device of a platform (PushBroadcast),
chosen by whether a user is bound to it and since when. The devices are found when the push is
due, so the page can say what was sent, not to how many."""

from __future__ import annotations

from starlette.responses import Response

from tidings.console.batch import LinesProblem, placeholder_values
from tidings.console.fielderrors import field_errors
from tidings.console.pages.push import (
    DEFAULTS,
    DELIVERY_TYPES,
    WHEN_INPUTS,
    call_fields,
    read_weekdays,
    read_when,
    schedule,
)
from tidings.console.pages.single import render_form
from tidings.console.scheduling import FIELDS as WHEN_FIELDS
from tidings.console.web import Context, page
from tidings.errors import Code, ServiceError
from tidings.fields import whole_number
from tidings.push.broadcast import BroadcastCall
from tidings.push.call import Read, given
from tidings.schedule.strategy import IMMEDIATE

PAGE = "push_broadcast.html"
FIELDS = {
    "TaskName": "task_name",
    "DeliveryType": "delivery_type",
    "TemplateName": "template",
    "TemplateKeyValue": "values",
    "Msgkey": "msg_key",
    "ExpiredSeconds": "expired_seconds",
    "PushStatus": "push_status",
    "BindPeriod": "bind_period",
    "UnBindPeriod": "unbind_period",
    **WHEN_FIELDS,
}
INPUTS = (
    "task_name",
    "delivery_type",
    "template",
    "values",
    "msg_key",
    "expired_seconds",
    "push_status",
    "bind_period",
    "unbind_period",
)
# A broadcast reaches devices of one platform, never users (DeliveryType 3).
PLATFORMS = [(value, label) for value, label in DELIVERY_TYPES if value != "3"]
BROADCAST_DEFAULTS = {
    **DEFAULTS,
    "delivery_type": "1",
    "push_status": "0",
    "bind_period": "4",
    "unbind_period": "4",
}
PUSH_STATUSES = [
    ("0", "0 — devices a user is bound to"),
    ("1", "1 — every device"),
    ("2", "2 — devices no user is bound to"),
]
PERIODS = [
    ("4", "4 — any time"),
    ("1", "1 — within the last 7 days"),
    ("2", "2 — within the last 15 days"),
    ("3", "3 — within the last 60 days"),
]

CHOICES = {"delivery_types": PLATFORMS, "push_statuses": PUSH_STATUSES, "periods": PERIODS}


@page
async def broadcast_push(ctx: Context) -> Response:
    """The empty form (GET), or send what it holds (POST) and show the form again."""
    app = await ctx.app()
    if ctx.request.method == "GET":
        return await render_form(ctx, app, PAGE, dict(BROADCAST_DEFAULTS), {}, (), **CHOICES)
    values = {name: ctx.field(name) for name in (*INPUTS, *WHEN_INPUTS)}
    weekdays = read_weekdays(ctx)
    errors: dict[str, str] = {}
    when = schedule(read_when(values, weekdays), app, errors)
    sent: list[tuple[int, int | None]] = []
    try:
        key_values = placeholder_values(values["values"])
    except LinesProblem as problem:
        errors["values"] = str(problem)
    if not errors:
        fields = BroadcastCall(
            **call_fields(values, when),
            template_name=values["template"],
            template_key_value=given(key_values),
            msg_key=values["msg_key"],
            push_status=_number(values, "push_status", "PushStatus"),
            bind_period=_number(values, "bind_period", "BindPeriod"),
            unbind_period=_number(values, "unbind_period", "UnBindPeriod"),
        )
        try:
            sent = [(await ctx.services.pushes.push_broadcast(app, fields), None)]
        except ServiceError as exc:
            errors = field_errors(exc, FIELDS)
    return await render_form(
        ctx,
        app,
        PAGE,
        values,
        errors,
        weekdays,
        sent=sent,
        scheduled=when.kind != IMMEDIATE,
        status=400 if errors else 200,
        **CHOICES,
    )


def _number(values: dict[str, str], name: str, field: str) -> Read[int | None]:
    return whole_number(values[name], field, Code.INVALID_PARAM)
