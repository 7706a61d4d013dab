"""PushTemplate's rules: one template filled in once (``TemplateKeyValue``) and sent to at most
ten targets, each under its own msgKey (``TargetMsgkey``).

``check_call`` validates everything that does not need the template, so a malformed call is
refused before any lookup; ``plan`` then renders it. Both are pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.errors import Code, refused
from tidings.fields import read_flat_map
from tidings.push.call import (
    CallFields,
    finish,
    read_delivery_type,
    read_task_name,
)
from tidings.push.models import CallSpec, PushLimits, PushPlan, RenderedMessage
from tidings.push.simple import DELIVERY_TYPES
from tidings.push.targets import check_size, check_values, read_target_msgkey, unified_size
from tidings.tasks import TEMPLATE
from tidings.templates.models import CompiledTemplate


@dataclass(frozen=True, slots=True)
class TemplatePushFields(CallFields):
    """PushTemplate's parameters as they arrived."""

    template_name: str | None
    template_key_value: str | dict | None
    target_msgkey: str | dict | None


Targets = list[tuple[str, str]]


def check_call(
    fields: TemplatePushFields, limits: PushLimits, *, timezone: str, now: float
) -> tuple[CallSpec, Targets]:
    """Every rule that does not need the template, in the order a caller would fix them; the
    call and its (target, msgKey) pairs."""
    task_name = read_task_name(fields.task_name)
    delivery_type = read_delivery_type(fields.delivery_type, DELIVERY_TYPES)
    if not fields.template_name:
        raise refused(Code.NEED_TEMPLATE, "TemplateName", "is required")
    pairs = read_target_msgkey(fields.target_msgkey, limits)
    call = finish(fields, task_name, delivery_type, limits, timezone=timezone, now=now)
    return call, pairs


def render_once(
    raw_values: str | dict | None, template: CompiledTemplate
) -> tuple[str, str, str | None]:
    """The title, content and URI of a template filled in with ``TemplateKeyValue`` (PushTemplate
    and PushBroadcast send one rendering to every target)."""
    values = read_flat_map(raw_values, "TemplateKeyValue", Code.INVALID_PARAM) or {}
    check_values(template, values, "TemplateKeyValue", ("TemplateKeyValue",))
    uri = template.uri.render(values) if template.uri else None
    return template.title.render(values), template.content.render(values), uri


def plan(
    call: CallSpec,
    targets: Targets,
    raw_values: str | dict | None,
    template: CompiledTemplate,
    limits: PushLimits,
) -> PushPlan:
    title, content, uri = render_once(raw_values, template)
    messages = [RenderedMessage(key, target, title, content, uri, None) for target, key in targets]
    check_size(
        messages[0], unified_size(call.options), limits, "TemplateKeyValue", ("TemplateKeyValue",)
    )
    template_row = template.template
    return PushPlan(TEMPLATE, call, template_row.pk, template_row.name, messages)
