"""PushBroadcast's rules: one template message to every device of a platform, chosen by whether
a user is bound to it and since when.

The devices are not named by the caller, so the call stores an ``Audience`` instead of targets;
delivery resolves it in batches when the push is due (delivery/audience_batches.py). ``PushStatus``
picks bound devices (0, the default), all devices (1) or unbound ones (2). ``BindPeriod`` and
``UnBindPeriod`` narrow each side to devices bound, or unbound, within the last 7, 15 or 60 days
(4: any time). With ``TimeMode`` 1 the windows are instants given explicitly
(``BindStartTime``/``BindEndTime``, ``UnBindStartTime``/``UnBindEndTime``, epoch milliseconds).
A device never bound counts as unbound since it registered.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.delivery.audience import Audience, Window
from tidings.errors import Code, refused
from tidings.fields import read_instant, read_int
from tidings.push.activity import START
from tidings.push.call import CallFields, finish, read_task_name
from tidings.push.models import CallSpec, PushLimits, PushPlan, RenderedMessage
from tidings.push.targets import check_msg_key, check_size, unified_size
from tidings.push.template import render_once
from tidings.tasks import BROADCAST, DEVICE_TYPES, USER_TARGET
from tidings.templates.models import CompiledTemplate

KNOWN_TYPES = (1, 2, 3, 5, 6, 7)
BOUND, ALL, UNBOUND = 0, 1, 2  # PushStatus
PERIOD_DAYS = {1: 7, 2: 15, 3: 60, 4: None}  # BindPeriod / UnBindPeriod; 4 is "permanent"
PERIODS, EXPLICIT = 0, 1  # TimeMode


@dataclass(frozen=True, slots=True)
class BroadcastFields(CallFields):
    """PushBroadcast's parameters as they arrived."""

    template_name: str | None
    template_key_value: str | dict | None
    msg_key: str | None
    push_status: str | None
    bind_period: str | None
    unbind_period: str | None
    time_mode: str | None
    bind_start_time: str | None
    bind_end_time: str | None
    unbind_start_time: str | None
    unbind_end_time: str | None


def check_call(
    fields: BroadcastFields, limits: PushLimits, *, timezone: str, now: float
) -> tuple[CallSpec, Audience, str]:
    """Every rule that does not need the template, in the order a caller would fix them; the
    call, its audience and its msgKey."""
    task_name = read_task_name(fields.task_name)
    delivery_type = read_int(
        fields.delivery_type,
        "DeliveryType",
        Code.DELIVERY_TYPE_NOT_SUPPORTED,
        allowed=KNOWN_TYPES,
    )
    if delivery_type is None:
        raise refused(Code.DELIVERY_TYPE_NOT_SUPPORTED, "DeliveryType", "is required")
    if delivery_type not in DEVICE_TYPES:
        code = Code.BROADCAST_ONLY_SUPPORT_BY_DEVICE
        if delivery_type != USER_TARGET:
            code = Code.DELIVERY_TYPE_NOT_SUPPORTED
        raise refused(
            code,
            "DeliveryType",
            f"{delivery_type}: a broadcast goes to every device of a platform; "
            "use 1 (Android), 2 (iOS) or 7 (HarmonyOS)",
        )
    if not fields.template_name:
        raise refused(Code.NEED_TEMPLATE, "TemplateName", "is required")
    msg_key = check_msg_key(fields.msg_key or "", "Msgkey", {}, ("Msgkey",))
    call = finish(fields, task_name, delivery_type, limits, timezone=timezone, now=now)
    if call.options.activity_event == START:
        # a start goes to each device's push-to-start token, which only dispatch looks up
        raise refused(
            Code.INVALID_PARAM, "ActivityEvent", "start goes to devices or users, not a broadcast"
        )
    return call, read_audience(fields, DEVICE_TYPES[delivery_type]), msg_key


def read_audience(fields: BroadcastFields, platform: str) -> Audience:
    status = _read(fields.push_status, "PushStatus", (BOUND, ALL, UNBOUND), BOUND)
    mode = _read(fields.time_mode, "TimeMode", (PERIODS, EXPLICIT), PERIODS)
    bound = unbound = None
    if status == BOUND:
        bound = read_window(
            mode, fields.bind_period, "BindPeriod", fields.bind_start_time, fields.bind_end_time
        )
    if status == ALL:
        bound = Window()
    if status in (ALL, UNBOUND):
        if mode == PERIODS and not fields.unbind_period:
            raise refused(
                Code.INVALID_PARAM,
                "UnBindPeriod",
                f"is required with PushStatus {status} "
                "(1: 7 days, 2: 15 days, 3: 60 days, 4: any time)",
            )
        unbound = read_window(
            mode,
            fields.unbind_period,
            "UnBindPeriod",
            fields.unbind_start_time,
            fields.unbind_end_time,
        )
    return Audience(platform, bound, unbound)


def read_window(
    mode: int, period: str | None, period_field: str, start: str | None, end: str | None
) -> Window:
    prefix = period_field.removesuffix("Period")
    if mode == PERIODS:
        chosen = _read(period, period_field, tuple(PERIOD_DAYS), 4)
        return Window(days=PERIOD_DAYS[chosen])
    since = read_instant(start, f"{prefix}StartTime", Code.INVALID_PARAM)
    until = read_instant(end, f"{prefix}EndTime", Code.INVALID_PARAM)
    if since is None or until is None:
        raise refused(
            Code.INVALID_PARAM,
            "TimeMode",
            f"1 needs {prefix}StartTime and {prefix}EndTime (epoch milliseconds)",
        )
    if until < since:
        raise refused(
            Code.INVALID_PARAM, f"{prefix}EndTime", f"{until} is before {prefix}StartTime {since}"
        )
    return Window(since=since, until=until)


def _read(raw: str | None, field: str, allowed: tuple[int, ...], default: int) -> int:
    value = read_int(raw, field, Code.INVALID_PARAM, default=default, allowed=allowed)
    assert value is not None
    return value


def plan(
    call: CallSpec,
    audience: Audience,
    msg_key: str,
    raw_values: str | dict | None,
    template: CompiledTemplate,
    limits: PushLimits,
) -> PushPlan:
    """The broadcast's one message, rendered once; its target is left empty, since the audience
    names the devices."""
    title, content, uri = render_once(raw_values, template)
    message = RenderedMessage(msg_key, "", title, content, uri, None)
    check_size(
        message, unified_size(call.options), limits, "TemplateKeyValue", ("TemplateKeyValue",)
    )
    row = template.template
    return PushPlan(BROADCAST, call, row.pk, row.name, [message], audience.to_json())
