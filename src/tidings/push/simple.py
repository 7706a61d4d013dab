"""PushSimple's rules: a title and content of the caller's own, sent to at most ten targets, each
under its own msgKey (``TargetMsgkey``).

No template is involved, so ``plan`` checks the whole call and builds its messages in one pure
step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tidings.errors import Code, refused
from tidings.fields import read_text
from tidings.push.call import (
    PushCall,
    Read,
    check_delivery_type,
    check_task_name,
    finish,
)
from tidings.push.models import PushLimits, PushPlan, RenderedMessage
from tidings.push.targets import check_size, check_target_msgkey, unified_size
from tidings.tasks import SIMPLE
from tidings.templates.rules import MAX_TITLE, MAX_URI

# 5 and 6 address an iOS Live Activity by its push token or activity id.
DELIVERY_TYPES = (1, 2, 3, 5, 6, 7)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimpleCall(PushCall):
    """A PushSimple call. PushStyle, ImageUrls and IconUrls travel in ``options``;
    ``target_msgkey`` maps each target to its msgKey (text, or an integer for its digits)."""

    title: str | None
    content: str | None
    uri: str | None
    target_msgkey: Read[Mapping[str, object] | None]


def plan(fields: SimpleCall, limits: PushLimits, *, timezone: str, now: float) -> PushPlan:
    """The push a PushSimple call asks for, or the first problem with it."""
    task_name = check_task_name(fields.task_name)
    delivery_type = check_delivery_type(fields.delivery_type(), DELIVERY_TYPES)
    if not fields.title or not fields.content:
        missing = "Title" if not fields.title else "Content"
        raise refused(Code.PAYLOAD_NOT_ENOUGH, missing, "is required")
    title = read_text(fields.title, "Title", Code.INVALID_PARAM, max_length=MAX_TITLE)
    size = len(fields.content.encode(errors="replace"))
    if size > limits.max_payload_bytes:
        raise refused(
            Code.SINGLE_PUSH_CONTENT_TOO_LONG,
            "Content",
            f"is {size} bytes; the limit is {limits.max_payload_bytes}",
        )
    content = read_text(fields.content, "Content", Code.INVALID_PARAM, max_length=size)
    assert title is not None and content is not None
    uri = read_text(fields.uri, "Uri", Code.INVALID_PARAM, max_length=MAX_URI)
    if uri is not None and any(c.isspace() for c in uri):
        raise refused(Code.INVALID_PARAM, "Uri", "must not contain white space")
    pairs = check_target_msgkey(fields.target_msgkey(), limits)
    call = finish(fields, task_name, delivery_type, limits, timezone=timezone, now=now)
    messages = [RenderedMessage(key, target, title, content, uri, None) for target, key in pairs]
    who = "Title, Content and Uri"
    check_size(messages[0], unified_size(call.options), limits, who, ("Title",))
    return PushPlan(SIMPLE, call, None, None, messages)
