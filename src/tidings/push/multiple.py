"""PushMultiple's rules: one template, up to 100 targets, each with its own placeholder values.

``check_call`` validates everything that does not need the template, so a malformed call is
refused before any lookup; ``render_targets`` then fills the template in for each target. Both are
pure functions of their inputs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tidings.errors import Code, ServiceError
from tidings.fields import read_flat_map, read_int, read_text
from tidings.push.models import CallSpec, PushLimits, RenderedMessage
from tidings.push.options import (
    MAX_TARGET_EXTENDED_KEYS,
    OptionFields,
    PushOptions,
    read_extended_params,
    read_options,
)
from tidings.schedule.strategy import read_strategy
from tidings.templates.models import CompiledTemplate

DELIVERY_TYPES = (1, 2, 3, 7)
TARGET_FIELDS = ("Target", "MsgKey", "TemplateKeyValue", "ExtendedParams")
MAX_TARGET_LENGTH = 128
MAX_MSG_KEY_LENGTH = 128
MAX_TASK_NAME = 200


@dataclass(frozen=True, slots=True)
class MultipleFields:
    """PushMultiple's parameters as they arrived."""

    task_name: str | None
    delivery_type: str | None
    template_name: str | None
    expired_seconds: str | None
    strategy_type: str | None
    strategy_content: str | None
    target_count: int
    options: OptionFields


def check_call(
    fields: MultipleFields, limits: PushLimits, *, timezone: str, now: float
) -> CallSpec:
    """Every rule about the call as a whole, in the order a caller would fix them."""
    if not fields.task_name:
        raise ServiceError(Code.TASKNAME_NULL, "TaskName is required")
    task_name = read_text(
        fields.task_name, "TaskName", Code.INVALID_PARAM, max_length=MAX_TASK_NAME
    )
    delivery_type = read_int(
        fields.delivery_type,
        "DeliveryType",
        Code.DELIVERY_TYPE_NOT_SUPPORTED,
        allowed=DELIVERY_TYPES,
    )
    if delivery_type is None:
        raise ServiceError(Code.DELIVERY_TYPE_NOT_SUPPORTED, "DeliveryType is required")
    if not fields.template_name:
        raise ServiceError(Code.NEED_TEMPLATE, "TemplateName is required")
    if fields.target_count == 0:
        raise ServiceError(Code.TOKEN_OR_USERID_NULL, "TargetMsg is required: no targets given")
    if fields.target_count > limits.max_targets:
        raise ServiceError(
            Code.TARGET_TOO_MUCH,
            f"TargetMsg has {fields.target_count} targets; "
            f"at most {limits.max_targets} are allowed",
        )
    expired = read_expired_seconds(fields.expired_seconds, limits)
    options = read_options(fields.options)
    strategy = read_strategy(
        fields.strategy_type, fields.strategy_content, timezone=timezone, now=now
    )
    assert task_name is not None
    return CallSpec(task_name, delivery_type, expired, options, strategy)


def read_expired_seconds(raw: str | None, limits: PushLimits) -> int:
    if raw is None or raw == "":
        raise ServiceError(Code.EXPIREDSECONDS_WRONG, "ExpiredSeconds is required")
    value = read_int(raw, "ExpiredSeconds", Code.EXPIREDSECONDS_WRONG, minimum=1)
    assert value is not None
    if value > limits.max_expired_seconds:
        raise ServiceError(
            Code.EXPIREDTIME_TOO_LONG,
            f"ExpiredSeconds is {value}; the longest validity is {limits.max_expired_seconds} s",
        )
    return value


def render_targets(
    targets: Sequence[dict[str, Any]],
    template: CompiledTemplate,
    options: PushOptions,
    limits: PushLimits,
) -> list[RenderedMessage]:
    """Each TargetMsg checked and its message rendered; the first problem names its entry."""
    seen: dict[str, int] = {}
    unified_size = _unified_size(options)
    return [
        _render(index, entry, template, seen, unified_size, limits)
        for index, entry in enumerate(targets, start=1)
    ]


def check_targets(
    targets: Sequence[dict[str, Any]],
    template: CompiledTemplate,
    options: PushOptions,
    limits: PushLimits,
) -> list[RenderedMessage | ServiceError]:
    """Every TargetMsg's message, or its first problem: ``render_targets`` going on past a
    refused entry, so that a whole batch can be corrected at once (the console checks a CSV so).
    """
    seen: dict[str, int] = {}
    unified_size = _unified_size(options)
    checked: list[RenderedMessage | ServiceError] = []
    for index, entry in enumerate(targets, start=1):
        try:
            checked.append(_render(index, entry, template, seen, unified_size, limits))
        except ServiceError as exc:
            checked.append(exc)
    return checked


def _unified_size(options: PushOptions) -> int:
    """Bytes the call-wide extension parameters add to every message."""
    if not options.extended_params:
        return 0
    return sum(len(k.encode()) + len(v.encode()) for k, v in options.extended_params.items())


def _render(
    index: int,
    entry: dict[str, Any],
    template: CompiledTemplate,
    seen: dict[str, int],
    unified_size: int,
    limits: PushLimits,
) -> RenderedMessage:
    target = _text(entry, "Target", index)
    if not target:
        raise ServiceError(Code.TOKEN_OR_USERID_NULL, f"TargetMsg.{index}.Target is empty")
    if len(target) > MAX_TARGET_LENGTH:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"TargetMsg.{index}.Target is longer than {MAX_TARGET_LENGTH} characters",
        )
    msg_key = _text(entry, "MsgKey", index)
    if not msg_key:
        raise ServiceError(Code.INVALID_PARAM, f"TargetMsg.{index}.MsgKey is required")
    if len(msg_key) > MAX_MSG_KEY_LENGTH:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"TargetMsg.{index}.MsgKey is longer than {MAX_MSG_KEY_LENGTH} characters",
        )
    if msg_key in seen:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"TargetMsg.{index}.MsgKey {msg_key!r} repeats TargetMsg.{seen[msg_key]}.MsgKey; "
            "msgKeys must be unique",
        )
    seen[msg_key] = index
    values = (
        read_flat_map(
            entry.get("TemplateKeyValue"), f"TargetMsg.{index}.TemplateKeyValue", Code.INVALID_PARAM
        )
        or {}
    )
    missing = [n for n in template.names if n not in values]
    if missing:
        raise ServiceError(
            Code.TEMPLATEKV_NOT_ENOUGH,
            f"TargetMsg.{index} (target {target!r}) has no value for placeholder "
            f"{', '.join(repr(n) for n in missing)} of template {template.template.name!r}",
        )
    extended_json = None
    if "ExtendedParams" in entry:
        extended = read_extended_params(
            entry["ExtendedParams"],
            f"TargetMsg.{index}.ExtendedParams",
            MAX_TARGET_EXTENDED_KEYS,
            Code.MULTIPLE_INNER_EXTEND_PARAM_TO_MUCH,
        )
        if extended:
            extended_json = json.dumps(extended, ensure_ascii=False, separators=(",", ":"))
    message = RenderedMessage(
        msg_key=msg_key,
        target=target,
        title=template.title.render(values),
        content=template.content.render(values),
        uri=template.uri.render(values) if template.uri else None,
        extended_params=extended_json,
    )
    size = message.payload_size() + unified_size
    if size > limits.max_payload_bytes:
        raise ServiceError(
            Code.MSG_PAYLOAD_TOO_LONG,
            f"TargetMsg.{index} (target {target!r}) renders to {size} bytes; "
            f"the limit is {limits.max_payload_bytes}",
        )
    return message


def _text(entry: dict[str, Any], field: str, index: int) -> str:
    value = entry.get(field, "")
    if type(value) is not str:
        raise ServiceError(
            Code.INVALID_PARAM, f"TargetMsg.{index}.{field} must be text, not sub-keys"
        )
    return value
