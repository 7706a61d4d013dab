"""The call-wide rules every push action shares: TaskName, DeliveryType, ExpiredSeconds, the
options and the strategy.

Each action checks its call in the order a caller would fix it: ``read_task_name`` and
``read_delivery_type`` first, then the action's own fields (its template, its targets), then
``finish`` for the rest. All of it is pure, so the rules are tested without a database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tidings.contract import PushOptions
from tidings.errors import Code, refused
from tidings.fields import read_int, read_text
from tidings.push.activity import START
from tidings.push.models import CallSpec, PushLimits
from tidings.push.options import OptionFields, read_options
from tidings.schedule.strategy import Timing, strategy_of

MAX_TASK_NAME = 200
# Targets that have no phone number to send an SMS supplement to: Live Activities.
NO_PHONE_TYPES = (5, 6)
START_TARGETS = (2, 3, 5)  # a Live Activity is started on an iOS device, a user's, or by token
# An update or end reaches an activity by its own token (5, 6), or a HarmonyOS live view on a
# HarmonyOS device (7) or a user's (3); an Android or iOS device token (1, 2) can carry neither.
NO_ACTIVITY_TARGETS = (1, 2)


@dataclass(frozen=True, slots=True)
class CallFields:
    """The call-wide parameters as they arrived; each action's fields add their own.

    ``timing`` gives when the push fires; it is read only when the rules reach it (it may raise
    ``ServiceError`` for a StrategyContent the API could not read), so the fault a call is
    refused for is the first one in the order of the rules.
    """

    task_name: str | None
    delivery_type: str | None
    expired_seconds: str | None
    timing: Callable[[], Timing]
    options: OptionFields


def read_task_name(raw: str | None) -> str:
    if not raw:
        raise refused(Code.TASKNAME_NULL, "TaskName", "is required")
    name = read_text(raw, "TaskName", Code.INVALID_PARAM, max_length=MAX_TASK_NAME)
    assert name is not None
    return name


def read_delivery_type(raw: str | None, allowed: tuple[int, ...]) -> int:
    value = read_int(raw, "DeliveryType", Code.DELIVERY_TYPE_NOT_SUPPORTED, allowed=allowed)
    if value is None:
        raise refused(Code.DELIVERY_TYPE_NOT_SUPPORTED, "DeliveryType", "is required")
    return value


def finish(
    fields: CallFields,
    task_name: str,
    delivery_type: int,
    limits: PushLimits,
    *,
    timezone: str,
    now: float,
) -> CallSpec:
    """The rest of the call-wide rules, after the action's own: validity, options, strategy."""
    expired = read_expired_seconds(fields.expired_seconds, limits)
    options = read_options(fields.options)
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
    strategy = strategy_of(fields.timing(), timezone=timezone, now=now)
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


def read_expired_seconds(raw: str | None, limits: PushLimits) -> int:
    if raw is None or raw == "":
        raise refused(Code.EXPIREDSECONDS_WRONG, "ExpiredSeconds", "is required")
    value = read_int(raw, "ExpiredSeconds", Code.EXPIREDSECONDS_WRONG, minimum=1)
    assert value is not None
    if value > limits.max_expired_seconds:
        raise refused(
            Code.EXPIREDTIME_TOO_LONG,
            "ExpiredSeconds",
            f"is {value}; the longest validity is {limits.max_expired_seconds} s",
        )
    return value
