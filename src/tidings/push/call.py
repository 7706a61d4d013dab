"""The call-wide part every push action shares, as the edges hand it over, and its rules:
TaskName, DeliveryType, ExpiredSeconds, the options and the timing.

A push call is typed: numbers are numbers, maps are dicts, the options a ``PushOptions``. A field
an edge has to read from text (a number, a JSON map) is a ``Read``, which the rules call when they
reach that field: so a call is refused for its first fault in the order a caller would fix it,
whether the fault is in the text or in the value. The API reads its parameters so
(openapi/pushcalls.py); the console hands over values it holds already with ``given``.

Each action checks its call in that order: ``check_task_name`` and ``check_delivery_type`` first,
then the action's own fields (its template, its targets), then ``finish`` for the rest. All of it
is pure, so the rules are tested without a database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tidings.contract import PushOptions
from tidings.errors import Code, refused
from tidings.fields import check_int, read_text
from tidings.push.activity import START
from tidings.push.models import CallSpec, PushLimits
from tidings.schedule.strategy import Timing, strategy_of

T = TypeVar("T")

# A field of a call, read (and perhaps refused) when the rules reach it.
Read = Callable[[], T]

MAX_TASK_NAME = 200
# Targets that have no phone number to send an SMS supplement to: Live Activities.
NO_PHONE_TYPES = (5, 6)
START_TARGETS = (2, 3, 5)  # a Live Activity is started on an iOS device, a user's, or by token
# An update or end reaches an activity by its own token (5, 6), or a HarmonyOS live view on a
# HarmonyOS device (7) or a user's (3); an Android or iOS device token (1, 2) can carry neither.
NO_ACTIVITY_TARGETS = (1, 2)


def given(value: T) -> Read[T]:
    """A field whose value the edge holds already (the console's)."""
    return lambda: value


def absent() -> None:
    """A field the caller left out: the default of every optional field of a call, so an edge
    that has no such input (the console, for most) need not name it."""
    return None


def no_options() -> PushOptions:
    return PushOptions()


@dataclass(frozen=True, slots=True, kw_only=True)
class PushCall:
    """The call-wide fields of a push; each action's call adds its own."""

    task_name: str | None
    delivery_type: Read[int | None]
    expired_seconds: Read[int | None]
    timing: Read[Timing]
    options: Read[PushOptions] = no_options


def check_task_name(name: str | None) -> str:
    if not name:
        raise refused(Code.TASKNAME_NULL, "TaskName", "is required")
    checked = read_text(name, "TaskName", Code.INVALID_PARAM, max_length=MAX_TASK_NAME)
    assert checked is not None
    return checked


def check_delivery_type(value: int | None, allowed: tuple[int, ...]) -> int:
    value = check_int(value, "DeliveryType", Code.DELIVERY_TYPE_NOT_SUPPORTED, allowed=allowed)
    if value is None:
        raise refused(Code.DELIVERY_TYPE_NOT_SUPPORTED, "DeliveryType", "is required")
    return value


def finish(
    call: PushCall,
    task_name: str,
    delivery_type: int,
    limits: PushLimits,
    *,
    timezone: str,
    now: float,
) -> CallSpec:
    """The rest of the call-wide rules, after the action's own: validity, options, strategy."""
    expired = check_expired_seconds(call.expired_seconds(), limits)
    options = call.options()
    if options.sms_strategy and delivery_type in NO_PHONE_TYPES:
        raise refused(
            Code.INVALID_PARAM,
            "SmsStrategy",
            f"asks for an SMS, but DeliveryType {delivery_type} targets a Live Activity, which "
            "has no phone number; use 0",
        )
    if options.activity_event == START and delivery_type not in START_TARGETS:
        raise refused(
            Code.INVALID_PARAM,
            "ActivityEvent",
            f"start goes to an iOS device (DeliveryType 2), a user (3) or a push-to-start token "
            f"(5), not DeliveryType {delivery_type}",
        )
    check_activity_target(options, delivery_type)
    strategy = strategy_of(call.timing(), timezone=timezone, now=now)
    return CallSpec(task_name, delivery_type, expired, options, strategy)


def check_activity_target(options: PushOptions, delivery_type: int) -> None:
    """An ``update`` or ``end`` sent to an Android or iOS device token would go out as a Live
    Activity push that device cannot take; refused naming the first Activity field given."""
    if delivery_type not in NO_ACTIVITY_TARGETS or options.activity_event == START:
        return
    given = (
        ("ActivityEvent", options.activity_event),
        ("ActivityContentState", options.activity_content_state),
        ("DismissalDate", options.dismissal_date),
    )
    field = next((name for name, value in given if value is not None), None)
    if field is not None:
        raise refused(
            Code.INVALID_PARAM,
            field,
            f"is for a Live Activity (DeliveryType 5 or 6) or a HarmonyOS live view (3 or 7), "
            f"not DeliveryType {delivery_type}",
        )


def check_expired_seconds(value: int | None, limits: PushLimits) -> int:
    if value is None:
        raise refused(Code.EXPIREDSECONDS_WRONG, "ExpiredSeconds", "is required")
    check_int(value, "ExpiredSeconds", Code.EXPIREDSECONDS_WRONG, minimum=1)
    if value > limits.max_expired_seconds:
        raise refused(
            Code.EXPIREDTIME_TOO_LONG,
            "ExpiredSeconds",
            f"is {value}; the longest validity is {limits.max_expired_seconds} s",
        )
    return value
