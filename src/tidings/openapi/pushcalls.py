"""The push actions' parameters as they arrived, and the typed calls the push rules take.

A record here holds a push action's wire fields as text (or as the dict its dotted sub-keys
rebuilt); ``call()`` turns it into the action's call of push/, each field read from its text only
when the rules reach it (``Read``), so a call is refused for its first fault in the order the
rules check them. Reading a field checks its shape (a whole number, a JSON object, text and not
sub-keys) with the MPS code the API answers for it; what the value may be is push's to say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any, overload

from tidings.errors import Code, refused
from tidings.fields import read_flat_map, read_flat_maps, read_instant, read_map, whole_number
from tidings.openapi.options import (
    MAX_TARGET_EXTENDED_KEYS,
    OptionFields,
    read_extended_params,
    read_options,
)
from tidings.push.broadcast import BroadcastCall
from tidings.push.call import Read
from tidings.push.multiple import MultipleCall, TargetColumns, TargetEntries, TargetEntry
from tidings.push.simple import SimpleCall
from tidings.push.template import TemplateCall
from tidings.schedule.strategy import Timing

Wire = str | dict | None  # a map field: JSON text, or the dict its dotted sub-keys spell


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFields:
    """The call-wide parameters every push action has; ``timing`` is read from StrategyType and
    StrategyContent (openapi/strategy.py)."""

    task_name: str | None
    delivery_type: str | None
    expired_seconds: str | None
    timing: Read[Timing]
    options: OptionFields

    def _common(self) -> dict[str, Any]:
        """The typed call-wide fields, as keyword arguments of any action's call."""
        return {
            "task_name": self.task_name,
            "delivery_type": whole_number(
                self.delivery_type, "DeliveryType", Code.DELIVERY_TYPE_NOT_SUPPORTED
            ),
            "expired_seconds": whole_number(
                self.expired_seconds, "ExpiredSeconds", Code.EXPIREDSECONDS_WRONG
            ),
            "timing": self.timing,
            "options": lambda: read_options(self.options),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SimpleFields(CallFields):
    """PushSimple's parameters. PushStyle, ImageUrls and IconUrls travel in ``options``."""

    title: str | None
    content: str | None
    uri: str | None
    target_msgkey: Wire

    def call(self) -> SimpleCall:
        return SimpleCall(
            **self._common(),
            title=self.title,
            content=self.content,
            uri=self.uri,
            target_msgkey=target_msgkey(self.target_msgkey),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplatePushFields(CallFields):
    """PushTemplate's parameters."""

    template_name: str | None
    template_key_value: Wire
    target_msgkey: Wire

    def call(self) -> TemplateCall:
        return TemplateCall(
            **self._common(),
            template_name=self.template_name,
            template_key_value=template_values(self.template_key_value),
            target_msgkey=target_msgkey(self.target_msgkey),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MultipleFields(CallFields):
    """PushMultiple's parameters but its TargetMsg entries (``target_inputs``)."""

    template_name: str | None
    target_count: int

    def call(self) -> MultipleCall:
        return MultipleCall(
            **self._common(), template_name=self.template_name, target_count=self.target_count
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BroadcastFields(CallFields):
    """PushBroadcast's parameters. AndroidChannel travels in ``options``."""

    template_name: str | None
    template_key_value: Wire
    msg_key: str | None
    push_status: str | None
    bind_period: str | None
    unbind_period: str | None
    time_mode: str | None
    bind_start_time: str | None
    bind_end_time: str | None
    unbind_start_time: str | None
    unbind_end_time: str | None

    def call(self) -> BroadcastCall:
        return BroadcastCall(
            **self._common(),
            template_name=self.template_name,
            template_key_value=template_values(self.template_key_value),
            msg_key=self.msg_key,
            push_status=number(self.push_status, "PushStatus"),
            bind_period=number(self.bind_period, "BindPeriod"),
            unbind_period=number(self.unbind_period, "UnBindPeriod"),
            time_mode=number(self.time_mode, "TimeMode"),
            bind_start_time=instant(self.bind_start_time, "BindStartTime"),
            bind_end_time=instant(self.bind_end_time, "BindEndTime"),
            unbind_start_time=instant(self.unbind_start_time, "UnBindStartTime"),
            unbind_end_time=instant(self.unbind_end_time, "UnBindEndTime"),
        )


# The fields of one PushMultiple ``TargetMsg`` entry (TargetMsg.N.Target, ...): the form reads
# these and nothing else of an entry.
TARGET_FIELDS = ("Target", "MsgKey", "TemplateKeyValue", "ExtendedParams")


def target_inputs(entries: Sequence[dict[str, Any]]) -> TargetEntries:
    """PushMultiple's TargetMsg entries (as ``Params.items`` rebuilds them), each field read when
    the rules reach it; ``TargetMsg.N.ExtendedParams`` is checked as the call's own is."""
    return target_columns([list(map(dict.get, entries, repeat(f))) for f in TARGET_FIELDS])


def target_columns(columns: Sequence[list[Any]]) -> TargetEntries:
    """The TargetMsg entries as one column per field of ``TARGET_FIELDS``, None where an entry
    lacks the field (``Params.columns``, or ``target_inputs``).

    The TemplateKeyValue of every entry are read at once when they are all plain JSON objects
    of strings (``read_flat_maps``); else each entry reads its own, refused under its name."""
    return _WireTargets(columns, read_flat_maps(columns[2]))


class _WireTargets(TargetEntries):
    """The TargetMsg entries as they arrived, a column per field: Target and MsgKey handed to
    the rules as they are (``columns``); an entry read on its own (``_WireTarget``) is made
    only when asked for, which a call that passes every rule never does."""

    __slots__ = ("_columns", "_values")

    def __init__(self, columns: Sequence[list[Any]], values: list[dict[str, str]] | None) -> None:
        """``values``: every entry's TemplateKeyValue, when read all at once."""
        self._columns = columns
        self._values = values

    def __len__(self) -> int:
        return len(self._columns[0])

    @overload
    def __getitem__(self, index: int) -> TargetEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[TargetEntry]: ...

    def __getitem__(self, index: int | slice) -> TargetEntry | list[TargetEntry]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        position = range(len(self))[index]
        row = zip(TARGET_FIELDS, (column[position] for column in self._columns), strict=True)
        entry = {field: value for field, value in row if value is not None}
        values = None if self._values is None else self._values[position]
        return _WireTarget(position + 1, entry, values)

    def columns(self) -> TargetColumns | None:
        targets, msg_keys, _, extended = self._columns
        if self._values is None or extended.count(None) != len(extended):
            return None
        if not set(map(type, chain(targets, msg_keys))) <= _TEXT_ONLY:  # absent, or sub-keys
            return None
        return TargetColumns(targets, msg_keys, self._values)


_TEXT_ONLY = frozenset({str})


class _WireTarget:
    """One TargetMsg entry as it arrived, read field by field (push/multiple.py's
    ``TargetEntry``): one small object per entry instead of four closures and a frozen
    ``TargetInput``, which a 100-target call made a hundred times over."""

    __slots__ = ("_entry", "_index", "_values")

    def __init__(
        self, index: int, entry: Mapping[str, Any], values: Mapping[str, str] | None = None
    ) -> None:
        """``values``: the entry's TemplateKeyValue when already read with the others'."""
        self._index = index
        self._entry = entry
        self._values = values

    def target(self) -> str:
        return _text(self._entry, "Target", self._index)

    def msg_key(self) -> str:
        return _text(self._entry, "MsgKey", self._index)

    def template_key_value(self) -> Mapping[str, str] | None:
        if self._values is not None:
            return self._values
        return read_flat_map(
            self._entry.get("TemplateKeyValue"),
            f"TargetMsg.{self._index}.TemplateKeyValue",
            Code.INVALID_PARAM,
        )

    def extended_params(self) -> Mapping[str, str] | None:
        extended = self._entry.get("ExtendedParams")
        if extended is None:  # nearly always: no field name spelled for nothing
            return None
        return read_extended_params(
            extended,
            f"TargetMsg.{self._index}.ExtendedParams",
            MAX_TARGET_EXTENDED_KEYS,
            Code.MULTIPLE_INNER_EXTEND_PARAM_TO_MUCH,
        )


def _text(entry: Mapping[str, Any], key: str, index: int) -> str:
    value = entry.get(key, "")
    if type(value) is not str:
        raise refused(Code.INVALID_PARAM, f"TargetMsg.{index}.{key}", "must be text, not sub-keys")
    return value


def number(raw: str | None, field: str) -> Read[int | None]:
    """A whole-number field answered with INVALID_PARAM when it is not one."""
    return whole_number(raw, field, Code.INVALID_PARAM)


def instant(raw: str | None, field: str) -> Read[int | None]:
    """Epoch milliseconds, read when the rules reach them."""
    return lambda: read_instant(raw, field, Code.INVALID_PARAM)


def template_values(raw: Wire) -> Read[Mapping[str, str] | None]:
    """``TemplateKeyValue``: placeholder names to their values, numbers as their JSON text."""
    return lambda: read_flat_map(raw, "TemplateKeyValue", Code.INVALID_PARAM)


def target_msgkey(raw: Wire) -> Read[Mapping[str, object] | None]:
    """``TargetMsgkey``: a JSON object of target to msgKey."""
    return lambda: read_map(raw, "TargetMsgkey", Code.INVALID_PARAM)
