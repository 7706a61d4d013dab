"""The push composer: a batch push from a CSV, checked row by row before anything is sent.

"Check" validates the whole batch with the push service's own rules and shows each row's message
or its problem. "Send" checks again and sends the batch as PushMultiple calls of at most
``max_targets`` rows. Sending the same batch twice is safe: a call that repeats an earlier one's
msgKeys and content is answered with the earlier task, so a batch interrupted half-way can simply
be sent again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response

from tidings.console import batch as csvbatch
from tidings.console.fielderrors import describe, field_errors
from tidings.console.scheduling import CIRCLES, WEEKDAYS, ScheduleProblem, When, timing
from tidings.console.scheduling import FIELDS as WHEN_FIELDS
from tidings.console.web import Context, page
from tidings.errors import Code, ServiceError
from tidings.fields import whole_number
from tidings.push.call import given
from tidings.push.multiple import MultipleCall, TargetInput
from tidings.schedule.strategy import IMMEDIATE, Timing
from tidings.templates.models import Template
from tidings.tenancy.models import App

FIELDS = {
    "TaskName": "task_name",
    "DeliveryType": "delivery_type",
    "TemplateName": "template",
    "ExpiredSeconds": "expired_seconds",
    "TargetMsg": "csv",
    **WHEN_FIELDS,
}
TEXT_INPUTS = ("task_name", "delivery_type", "template", "expired_seconds", "csv")
WHEN_INPUTS = ("when", "at", "start_day", "end_day", "circle", "month_days", "time")
DEFAULTS = {"delivery_type": "3", "expired_seconds": "3600", "when": "now", "circle": "daily"}
DELIVERY_TYPES = [
    ("3", "3 — users (userId bound with PushBind)"),
    ("1", "1 — Android devices (DeliveryToken)"),
    ("2", "2 — iOS devices (DeliveryToken)"),
    ("7", "7 — HarmonyOS devices (DeliveryToken)"),
]


@page
async def compose(ctx: Context) -> Response:
    app = await ctx.app()
    return await _render(ctx, app, dict(DEFAULTS), {})


@page
async def send_batch(ctx: Context) -> Response:
    app = await ctx.app()
    values = {name: ctx.field(name) for name in (*TEXT_INPUTS, *WHEN_INPUTS)}
    weekdays = read_weekdays(ctx)
    upload = ctx.form.get("csv_file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read()
        try:
            values["csv"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            errors = {"csv": f"{upload.filename} is not UTF-8 text; save the CSV as UTF-8"}
            return await _render(ctx, app, values, errors, weekdays=weekdays, status=400)
    errors: dict[str, str] = {}
    when = schedule(read_when(values, weekdays), app, errors)
    template = await _template(ctx, app, values["template"])
    if template is None:
        errors["template"] = "choose one of the app's templates"
        return await _render(ctx, app, values, errors, weekdays=weekdays, status=400)
    batch = csvbatch.read_batch(values["csv"], template.variables, template.name)
    if batch.problem:
        errors["csv"] = batch.problem
    fields = MultipleCall(
        **call_fields(values, when),
        template_name=template.name,
        target_count=min(len(batch.rows), ctx.services.pushes.max_targets),
    )
    if not batch.problem and not batch.errors:
        try:
            await _check(ctx, app, fields, batch)
        except ServiceError as exc:
            errors = field_errors(exc, FIELDS) | errors
    if errors or not batch.ok or ctx.field("intent") != "send":
        status = 400 if errors or batch.errors else 200
        return await _render(
            ctx, app, values, errors, batch=batch, weekdays=weekdays, status=status
        )
    sent, refusal = await _send(ctx, app, fields, batch)
    if refusal is not None:
        errors["csv"] = refusal
    return await _render(
        ctx,
        app,
        values,
        errors,
        batch=batch,
        weekdays=weekdays,
        sent=sent,
        scheduled=when.kind != IMMEDIATE,
        status=400 if refusal else 200,
    )


def read_weekdays(ctx: Context) -> tuple[str, ...]:
    return tuple(v for v in ctx.form.getlist("weekdays") if isinstance(v, str))


def read_when(values: dict[str, str], weekdays: tuple[str, ...]) -> When:
    return When(
        mode=values["when"] or "now",
        at=values["at"],
        start_day=values["start_day"],
        end_day=values["end_day"],
        circle=values["circle"],
        weekdays=weekdays,
        month_days=values["month_days"],
        time=values["time"],
    )


def call_fields(values: dict[str, str], when: Timing) -> dict[str, Any]:
    """The call-wide fields of a push from its form: the numbers typed are read when the push
    rules reach them (so a form is refused for the fault the API would name first). No
    options: only the template and simple forms have any, their SMS supplement's
    (console/supplement.py)."""
    return {
        "task_name": values["task_name"],
        "delivery_type": whole_number(
            values["delivery_type"], "DeliveryType", Code.DELIVERY_TYPE_NOT_SUPPORTED
        ),
        "expired_seconds": whole_number(
            values["expired_seconds"], "ExpiredSeconds", Code.EXPIREDSECONDS_WRONG
        ),
        "timing": given(when),
    }


def schedule(when: When, app: App, errors: dict[str, str]) -> Timing:
    """When the push fires; a problem goes into ``errors`` and the push is checked as an
    immediate one meanwhile, so the rest of the form is still judged."""
    try:
        return timing(when, app.timezone)
    except ScheduleProblem as problem:
        errors[problem.field] = str(problem)
        return Timing()


async def _check(ctx: Context, app: App, fields: MultipleCall, batch: csvbatch.Batch) -> None:
    checked = await ctx.services.pushes.check_multiple(app, fields, _targets(batch.rows))
    for row, outcome in zip(batch.rows, checked, strict=True):
        if isinstance(outcome, ServiceError):
            row.error = describe(outcome)
        else:
            row.title, row.content = outcome.title, outcome.content


async def _send(
    ctx: Context, app: App, fields: MultipleCall, batch: csvbatch.Batch
) -> tuple[list[tuple[int, int]], str | None]:
    """(task id, rows) of each call accepted, and why the first refused call was refused."""
    parts = csvbatch.chunks(batch.rows, ctx.services.pushes.max_targets)
    sent: list[tuple[int, int]] = []
    for number, part in enumerate(parts, start=1):
        call = replace(
            fields,
            task_name=csvbatch.task_name(fields.task_name or "", number, len(parts)),
            target_count=len(part),
        )
        entries = _targets(part)
        try:
            task_id = await ctx.services.pushes.push_multiple(app, call, lambda e=entries: e)
        except ServiceError as exc:
            match exc.path:
                case ("TargetMsg", int(index), *_):  # TargetMsg.N of this call: row N of the part
                    part[index - 1].error = describe(exc)
            done = f"; the {len(sent)} part(s) before it were sent" if sent else ""
            return sent, f"part {number} of {len(parts)} was refused: {describe(exc)}{done}"
        sent.append((task_id, len(part)))
    return sent, None


def _targets(rows: list[csvbatch.Row]) -> list[TargetInput]:
    """The rows' TargetMsg entries as the push rules take them."""
    return [
        TargetInput(
            target=given(row.entry["Target"]),
            msg_key=given(row.entry["MsgKey"]),
            template_key_value=given(row.entry["TemplateKeyValue"]),
            extended_params=given(None),
        )
        for row in rows
        if row.entry
    ]


async def _template(ctx: Context, app: App, name: str) -> Template | None:
    return next((t for t in await templates_of(ctx, app) if t.name == name), None)


async def templates_of(ctx: Context, app: App) -> list[Template]:
    items, _, _, _ = await ctx.services.templates.page(app.pk, "1", "500")
    return sorted(items, key=lambda t: t.name)


async def _render(
    ctx: Context,
    app: App,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    batch: csvbatch.Batch | None = None,
    weekdays: tuple[str, ...] = (),
    sent: list[tuple[int, int]] | None = None,
    scheduled: bool = False,
    status: int = 200,
) -> Response:
    return ctx.render(
        "push.html",
        status=status,
        app=app,
        templates=await templates_of(ctx, app),
        values=values,
        weekdays=weekdays,
        errors=errors,
        batch=batch,
        sent=sent or [],
        scheduled=scheduled,
        delivery_types=DELIVERY_TYPES,
        circles=list(CIRCLES),
        weekday_names=WEEKDAYS,
        max_targets=ctx.services.pushes.max_targets,
    )
