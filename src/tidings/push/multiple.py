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

from tidings.contract import PushOptions
from tidings.errors import Code, ServiceError, refused
from tidings.fields import read_flat_map
from tidings.push.call import CallFields, finish, read_delivery_type, read_task_name
from tidings.push.models import CallSpec, PushLimits, RenderedMessage
from tidings.push.options import MAX_TARGET_EXTENDED_KEYS, read_extended_params
from tidings.push.targets import (
    check_msg_key,
    check_size,
    check_target,
    check_values,
    unified_size,
)
from tidings.templates.models import CompiledTemplate

DELIVERY_TYPES = (1, 2, 3, 7)


@dataclass(frozen=True, slots=True)
class MultipleFields(CallFields):
    """PushMultiple's parameters as they arrived."""

    template_name: str | None
    target_count: int


def check_call(
    fields: MultipleFields, limits: PushLimits, *, timezone: str, now: float
) -> CallSpec:
    """Every rule about the call as a whole, in the order a caller would fix them."""
    task_name = read_task_name(fields.task_name)
    delivery_type = read_delivery_type(fields.delivery_type, DELIVERY_TYPES)
    if not fields.template_name:
        raise refused(Code.NEED_TEMPLATE, "TemplateName", "is required")
    if fields.target_count == 0:
        raise refused(Code.TOKEN_OR_USERID_NULL, "TargetMsg", "is required: no targets given")
    if fields.target_count > limits.max_targets:
        raise refused(
            Code.TARGET_TOO_MUCH,
            "TargetMsg",
            f"has {fields.target_count} targets; at most {limits.max_targets} are allowed",
        )
    return finish(fields, task_name, delivery_type, limits, timezone=timezone, now=now)


def render_targets(
    targets: Sequence[dict[str, Any]],
    template: CompiledTemplate,
    options: PushOptions,
    limits: PushLimits,
) -> list[RenderedMessage]:
    """Each TargetMsg checked and its message rendered; the first problem names its entry."""
    seen: dict[str, str] = {}
    unified = unified_size(options)
    return [
        _render(index, entry, template, seen, unified, limits)
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
    seen: dict[str, str] = {}
    unified = unified_size(options)
    checked: list[RenderedMessage | ServiceError] = []
    for index, entry in enumerate(targets, start=1):
        try:
            checked.append(_render(index, entry, template, seen, unified, limits))
        except ServiceError as exc:
            checked.append(exc)
    return checked


def _render(
    index: int,
    entry: dict[str, Any],
    template: CompiledTemplate,
    seen: dict[str, str],
    unified: int,
    limits: PushLimits,
) -> RenderedMessage:
    where = f"TargetMsg.{index}"
    target = check_target(
        _text(entry, "Target", index), f"{where}.Target", ("TargetMsg", index, "Target")
    )
    msg_key = check_msg_key(
        _text(entry, "MsgKey", index), f"{where}.MsgKey", seen, ("TargetMsg", index, "MsgKey")
    )
    values = (
        read_flat_map(
            entry.get("TemplateKeyValue"), f"TargetMsg.{index}.TemplateKeyValue", Code.INVALID_PARAM
        )
        or {}
    )
    who = f"TargetMsg.{index} (target {target!r})"
    check_values(template, values, who, ("TargetMsg", index, "TemplateKeyValue"))
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
    check_size(message, unified, limits, who, ("TargetMsg", index))
    return message


def _text(entry: dict[str, Any], field: str, index: int) -> str:
    value = entry.get(field, "")
    if type(value) is not str:
        raise refused(
            Code.INVALID_PARAM, f"TargetMsg.{index}.{field}", "must be text, not sub-keys"
        )
    return value
