"""PushMultiple's rules: one template, up to 100 targets, each with its own placeholder values.

``check_call`` validates everything that does not need the template, so a malformed call is
refused before any lookup; ``render_targets`` then fills the template in for each target. Both are
pure functions of their inputs.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import contains
from typing import Protocol

from tidings.contract import PushOptions
from tidings.errors import Code, ServiceError, refused
from tidings.push.call import PushCall, Read, check_delivery_type, check_task_name, finish
from tidings.push.models import CallSpec, PushLimits, RenderedMessage
from tidings.push.targets import (
    MAX_MSG_KEY_LENGTH,
    MAX_TARGET_LENGTH,
    check_msg_key,
    check_size,
    check_target,
    check_values,
    unified_size,
)
from tidings.templates.models import CompiledTemplate

DELIVERY_TYPES = (1, 2, 3, 7)


@dataclass(frozen=True, slots=True, kw_only=True)
class MultipleCall(PushCall):
    """A PushMultiple call; its targets (``TargetEntry``) are handed over apart from it, to be
    read only once the call as a whole has passed."""

    template_name: str | None
    target_count: int


class TargetEntry(Protocol):
    """One TargetMsg entry: its target, its msgKey, its placeholder values and its own extension
    parameters (already checked as such by the edge that read them), each read when the rules
    reach it. The API reads them off the wire (openapi/pushcalls.py); the console hands over
    values it holds (``TargetInput``)."""

    def target(self) -> str: ...

    def msg_key(self) -> str: ...

    def template_key_value(self) -> Mapping[str, str] | None: ...

    def extended_params(self) -> Mapping[str, str] | None: ...


@dataclass(frozen=True, slots=True)
class TargetColumns:
    """Every entry's target, msgKey and placeholder values, each field as one list in entry
    order, as an edge that holds them so can hand them over (``TargetEntries.columns``)."""

    targets: list[str]
    msg_keys: list[str]
    values: list[Mapping[str, str]]


class TargetEntries(Sequence[TargetEntry]):
    """Entries that can also hand over their fields all at once: the API's, read off the wire,
    whose hundred entries taken one by one cost four calls each before any rule ran."""

    @abstractmethod
    def columns(self) -> TargetColumns | None:
        """The fields of every entry, when each is plain text (Target, MsgKey) or an already
        read map of strings (TemplateKeyValue) and no entry has ExtendedParams of its own;
        else None, for the entries to be read one by one (and refused by name)."""


@dataclass(frozen=True, slots=True)
class TargetInput:
    """A ``TargetEntry`` whose fields are ``Read``s (the console's, made with ``given``)."""

    target: Read[str]
    msg_key: Read[str]
    template_key_value: Read[Mapping[str, str] | None]
    extended_params: Read[Mapping[str, str] | None]


def check_call(fields: MultipleCall, limits: PushLimits, *, timezone: str, now: float) -> CallSpec:
    """Every rule about the call as a whole, in the order a caller would fix them."""
    task_name = check_task_name(fields.task_name)
    delivery_type = check_delivery_type(fields.delivery_type(), DELIVERY_TYPES)
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
    targets: Sequence[TargetEntry],
    template: CompiledTemplate,
    options: PushOptions,
    limits: PushLimits,
) -> list[RenderedMessage]:
    """Each TargetMsg checked and its message rendered; the first problem names its entry.

    The entries are first taken all at once (``_render_all``); only a call that breaks a rule,
    or whose entries carry their own ExtendedParams, is taken entry by entry, to name its first
    problem.
    """
    unified = unified_size(options)
    rendered = _render_all(targets, template, unified, limits)
    if rendered is not None:
        return rendered
    seen: dict[str, str] = {}
    return [
        _render(index, entry, template, seen, unified, limits)
        for index, entry in enumerate(targets, start=1)
    ]


_NO_VALUES: Mapping[str, str] = {}
_UTF8_MOST = 4  # bytes of UTF-8 a character takes at most


def _render_all(
    targets: Sequence[TargetEntry], template: CompiledTemplate, unified: int, limits: PushLimits
) -> list[RenderedMessage] | None:
    """The messages of entries that all pass every rule of ``_render``, or None.

    The rules are the same, checked over whole columns (every target, every msgKey, every map
    of values) by builtins that run in C, and the texts are rendered by ``Pattern.render_each``:
    a hundred entries taken one by one cost a hundred rounds of a dozen Python calls. A size
    past the limit is found from the longest title, content and URI together, which no message
    exceeds (counted in characters first, encoded only when that count could be past it); when
    they exceed it, ``_render`` weighs each message.
    """
    columns = _columns(targets)
    if columns is None:
        return None
    names, keys, values = columns.targets, columns.msg_keys, columns.values
    if not (all(names) and max(map(len, names), default=0) <= MAX_TARGET_LENGTH):
        return None
    if not (all(keys) and max(map(len, keys), default=0) <= MAX_MSG_KEY_LENGTH):
        return None
    if len(set(keys)) < len(keys):
        return None
    # Each name looked up in every map, in C: set.issubset made a set of each map first.
    if not all(all(map(contains, values, repeat(name))) for name in template.names):
        return None
    patterns = (template.title, template.content, template.uri)
    texts = [p.render_each(values) if p else None for p in patterns]
    rendered = [t for t in texts if t is not None]
    # Characters first: no character takes more than four bytes of UTF-8, so texts whose
    # characters are few enough are within the limit without encoding a hundred of them.
    if _UTF8_MOST * sum(max(map(len, t), default=0) for t in rendered) + unified > (
        limits.max_payload_bytes
    ):
        longest = sum(max(map(len, map(str.encode, t)), default=0) for t in rendered)
        if longest + unified > limits.max_payload_bytes:
            return None
    titles, contents, uris = texts
    columns = zip(keys, names, titles, contents, uris or repeat(None), repeat(None))
    # tuple.__new__ straight from C: RenderedMessage(...) is a Python-level __new__ per message.
    return list(map(tuple.__new__, repeat(RenderedMessage), columns))


def _columns(targets: Sequence[TargetEntry]) -> TargetColumns | None:
    """The entries' fields as columns, from the entries themselves when they can (``columns``),
    else read entry by entry; None when an entry's field cannot be read or has ExtendedParams."""
    if isinstance(targets, TargetEntries):
        return targets.columns()
    try:
        names = [entry.target() for entry in targets]
        keys = [entry.msg_key() for entry in targets]
        values = [entry.template_key_value() or _NO_VALUES for entry in targets]
        if any(entry.extended_params() for entry in targets):
            return None
    except ServiceError:
        return None
    return TargetColumns(names, keys, values)


def check_targets(
    targets: Sequence[TargetEntry],
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
    entry: TargetEntry,
    template: CompiledTemplate,
    seen: dict[str, str],
    unified: int,
    limits: PushLimits,
) -> RenderedMessage:
    where = f"TargetMsg.{index}"
    target = check_target(entry.target(), f"{where}.Target", ("TargetMsg", index, "Target"))
    msg_key = check_msg_key(
        entry.msg_key(), f"{where}.MsgKey", seen, ("TargetMsg", index, "MsgKey")
    )
    values = entry.template_key_value() or {}
    who = f"TargetMsg.{index} (target {target!r})"
    check_values(template, values, who, ("TargetMsg", index, "TemplateKeyValue"))
    extended = entry.extended_params()
    extended_json = None
    if extended:
        extended_json = json.dumps(extended, ensure_ascii=False, separators=(",", ":"))
    message = RenderedMessage(
        msg_key,
        target,
        template.title.render(values),
        template.content.render(values),
        template.uri.render(values) if template.uri else None,
        extended_json,
    )
    check_size(message, unified, limits, who, ("TargetMsg", index))
    return message
