"""PushTemplate's rules: one template filled in once (``TemplateKeyValue``) and sent to at most
ten targets, each under its own msgKey (``TargetMsgkey``).

``check_call`` validates everything that does not need the template, so a malformed call is
refused before any lookup; ``plan`` then renders it. Both are pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tidings.errors import Code, refused
from tidings.push.call import (
    PushCall,
    Read,
    check_delivery_type,
    check_task_name,
    finish,
)
from tidings.push.models import CallSpec, PushLimits, PushPlan, RenderedMessage
from tidings.push.simple import DELIVERY_TYPES
from tidings.push.targets import check_size, check_target_msgkey, check_values, unified_size
from tidings.tasks import TEMPLATE
from tidings.templates.models import CompiledTemplate


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateCall(PushCall):
    """A PushTemplate call: ``template_key_value`` fills the template's placeholders in."""

    template_name: str | None
    template_key_value: Read[Mapping[str, str] | None]
    target_msgkey: Read[Mapping[str, object] | None]


Targets = list[tuple[str, str]]


def check_call(
    fields: TemplateCall, limits: PushLimits, *, timezone: str, now: float
) -> tuple[CallSpec, Targets]:
    """Every rule that does not need the template, in the order a caller would fix them; the
    call and its (target, msgKey) pairs."""
    task_name = check_task_name(fields.task_name)
    delivery_type = check_delivery_type(fields.delivery_type(), DELIVERY_TYPES)
    if not fields.template_name:
        raise refused(Code.NEED_TEMPLATE, "TemplateName", "is required")
    pairs = check_target_msgkey(fields.target_msgkey(), limits)
    call = finish(fields, task_name, delivery_type, limits, timezone=timezone, now=now)
    return call, pairs


def render_once(
    given_values: Read[Mapping[str, str] | None], template: CompiledTemplate
) -> tuple[str, str, str | None]:
    """The title, content and URI of a template filled in with ``TemplateKeyValue`` (PushTemplate
    and PushBroadcast send one rendering to every target)."""
    values = given_values() or {}
    check_values(template, values, "TemplateKeyValue", ("TemplateKeyValue",))
    uri = template.uri.render(values) if template.uri else None
    return template.title.render(values), template.content.render(values), uri


def plan(
    call: CallSpec,
    targets: Targets,
    values: Read[Mapping[str, str] | None],
    template: CompiledTemplate,
    limits: PushLimits,
) -> PushPlan:
    title, content, uri = render_once(values, template)
    messages = [RenderedMessage(key, target, title, content, uri, None) for target, key in targets]
    check_size(
        messages[0], unified_size(call.options), limits, "TemplateKeyValue", ("TemplateKeyValue",)
    )
    template_row = template.template
    return PushPlan(TEMPLATE, call, template_row.pk, template_row.name, messages)
