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

from collections.abc import Mapping
from dataclasses import dataclass

from tidings.delivery.audience import Audience, Window
from tidings.errors import Code, refused
from tidings.fields import check_int
from tidings.push.activity import START
from tidings.push.call import PushCall, Read, absent, check_task_name, finish
from tidings.push.models import CallSpec, PushLimits, PushPlan, RenderedMessage
from tidings.push.targets import check_msg_key, check_size, unified_size
from tidings.push.template import render_once
from tidings.tasks import BROADCAST, DEVICE_TYPES, USER_TARGET
from tidings.templates.models import CompiledTemplate

KNOWN_TYPES = (1, 2, 3, 5, 6, 7)
BOUND, ALL, UNBOUND = 0, 1, 2  # PushStatus
PERIOD_DAYS = {1: 7, 2: 15, 3: 60, 4: None}  # BindPeriod / UnBindPeriod; 4 is "permanent"
PERIODS, EXPLICIT = 0, 1  # TimeMode


@dataclass(frozen=True, slots=True, kw_only=True)
class BroadcastCall(PushCall):
    """A PushBroadcast call; the instants are epoch milliseconds."""

    template_name: str | None
    template_key_value: Read[Mapping[str, str] | None]
    msg_key: str | None
    push_status: Read[int | None] = absent
    bind_period: Read[int | None] = absent
    unbind_period: Read[int | None] = absent
    time_mode: Read[int | None] = absent
    bind_start_time: Read[int | None] = absent
    bind_end_time: Read[int | None] = absent
    unbind_start_time: Read[int | None] = absent
    unbind_end_time: Read[int | None] = absent


def check_call(
    fields: BroadcastCall, limits: PushLimits, *, timezone: str, now: float
) -> tuple[CallSpec, Audience, str]:
    """Every rule that does not need the template, in the order a caller would fix them; the
    call, its audience and its msgKey."""
    task_name = check_task_name(fields.task_name)
    delivery_type = check_int(
        fields.delivery_type(),
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


def read_audience(fields: BroadcastCall, platform: str) -> Audience:
    status = _read(fields.push_status(), "PushStatus", (BOUND, ALL, UNBOUND), BOUND)
    mode = _read(fields.time_mode(), "TimeMode", (PERIODS, EXPLICIT), PERIODS)
    bound = unbound = None
    if status == BOUND:
        bound = read_window(
            mode, fields.bind_period, "BindPeriod", fields.bind_start_time, fields.bind_end_time
        )
    if status == ALL:
        bound = Window()
    if status in (ALL, UNBOUND):
        unbind_period = fields.unbind_period() if mode == PERIODS else None
        if mode == PERIODS and unbind_period is None:
            raise refused(
                Code.INVALID_PARAM,
                "UnBindPeriod",
                f"is required with PushStatus {status} "
                "(1: 7 days, 2: 15 days, 3: 60 days, 4: any time)",
            )
        unbound = read_window(
            mode,
            lambda: unbind_period,
            "UnBindPeriod",
            fields.unbind_start_time,
            fields.unbind_end_time,
        )
    return Audience(platform, bound, unbound)


def read_window(
    mode: int,
    period: Read[int | None],
    period_field: str,
    start: Read[int | None],
    end: Read[int | None],
) -> Window:
    prefix = period_field.removesuffix("Period")
    if mode == PERIODS:
        chosen = _read(period(), period_field, tuple(PERIOD_DAYS), 4)
        return Window(days=PERIOD_DAYS[chosen])
    since = start()
    until = end()
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


def _read(value: int | None, field: str, allowed: tuple[int, ...], default: int) -> int:
    checked = check_int(value, field, Code.INVALID_PARAM, default=default, allowed=allowed)
    assert checked is not None
    return checked


def plan(
    call: CallSpec,
    audience: Audience,
    msg_key: str,
    values: Read[Mapping[str, str] | None],
    template: CompiledTemplate,
    limits: PushLimits,
) -> PushPlan:
    """The broadcast's one message, rendered once; its target is left empty, since the audience
    names the devices."""
    title, content, uri = render_once(values, template)
    message = RenderedMessage(msg_key, "", title, content, uri, None)
    check_size(
        message, unified_size(call.options), limits, "TemplateKeyValue", ("TemplateKeyValue",)
    )
    row = template.template
    return PushPlan(BROADCAST, call, row.pk, row.name, [message], audience.to_json())
