"""The push rules handed calls as the API reads them, for tests that state calls in wire text.

Each wrapper takes the openapi edge's record of a call (``SimpleFields``, ...) or its raw
TargetMsg entries and TemplateKeyValue, turns them into the typed call as the API does
(openapi/pushcalls.py), and asks the rule of push/ it is named after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidings.contract import PushOptions
from tidings.openapi.pushcalls import (
    BroadcastFields,
    MultipleFields,
    SimpleFields,
    TemplatePushFields,
    Wire,
    target_inputs,
    template_values,
)
from tidings.push import broadcast, multiple, simple, template
from tidings.push.models import CallSpec, PushLimits
from tidings.templates.models import CompiledTemplate


def plan_simple(fields: SimpleFields, limits: PushLimits, **when: Any):
    return simple.plan(fields.call(), limits, **when)


def check_template(fields: TemplatePushFields, limits: PushLimits, **when: Any):
    return template.check_call(fields.call(), limits, **when)


def plan_template(call: CallSpec, targets, values: Wire, compiled, limits: PushLimits):
    return template.plan(call, targets, template_values(values), compiled, limits)


def check_multiple(fields: MultipleFields, limits: PushLimits, **when: Any):
    return multiple.check_call(fields.call(), limits, **when)


def render_targets(
    entries: Sequence[Mapping[str, Any]],
    compiled: CompiledTemplate,
    options: PushOptions,
    limits: PushLimits,
):
    return multiple.render_targets(target_inputs(entries), compiled, options, limits)


def check_targets(
    entries: Sequence[Mapping[str, Any]],
    compiled: CompiledTemplate,
    options: PushOptions,
    limits: PushLimits,
):
    return multiple.check_targets(target_inputs(entries), compiled, options, limits)


def check_broadcast(fields: BroadcastFields, limits: PushLimits, **when: Any):
    return broadcast.check_call(fields.call(), limits, **when)


def plan_broadcast(call, audience, msg_key, values: Wire, compiled, limits: PushLimits):
    return broadcast.plan(call, audience, msg_key, template_values(values), compiled, limits)
