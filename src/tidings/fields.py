"""Reading MPS field values: decimal integers, enumerations and map-valued fields.

Every map field (TemplateKeyValue, ExtendedParams, NotifyLevel, ...) reaches the server in one of
three shapes: a JSON object string (what the SDK docs ask for), a nested dict rebuilt from dotted
form keys (what the new SDK sends for ``Any`` fields), or a Python dict literal such as
``{'name': 'Zhang San'}`` (what the old Python SDK sends when given a dict, as the official example
does). ``read_map`` accepts all three and returns a plain dict, or raises ``ServiceError`` with the
caller's code and a message that names the field.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, repeat
from typing import Any

from tidings.errors import Code, refused
from tidings.instants import LATEST_MS

MAX_MAP_TEXT = 64 * 1024
MAX_MAP_DEPTH = 16
# NUL, which PostgreSQL cannot store, and lone surrogates, which have no UTF-8 form.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_TEXT_ONLY = frozenset({str})
_DICT_ONLY = frozenset({dict})


def _unstorable(text: str) -> bool:
    """Whether ``text`` holds a character no stored text may hold (``_UNSTORABLE``). Only a
    text that is not ASCII can hold a lone surrogate, and CPython knows which texts are ASCII
    without reading them: an ASCII text (nearly every one) is searched for NUL alone, by
    memchr, where the expression walked every character (~0.2 µs a PushMultiple target)."""
    return "\x00" in text or (not text.isascii() and _UNSTORABLE.search(text) is not None)


def read_int(
    raw: str | None,
    field: str,
    code: Code,
    *,
    default: int | None = None,
    allowed: Iterable[int] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """A decimal integer field; absent or empty gives ``default``."""
    return check_int(
        parse_int(raw, field, code),
        field,
        code,
        default=default,
        allowed=allowed,
        minimum=minimum,
        maximum=maximum,
    )


def parse_int(raw: str | None, field: str, code: Code) -> int | None:
    """The number a decimal integer field spells; absent or empty gives None. Only its shape is
    checked: the edges read text so, the rules judge the number with ``check_int``."""
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if not (text.isascii() and text.removeprefix("-").isdigit()) or len(text) > 20:
        raise refused(code, field, f"must be a whole number, got {_show(raw)}")
    return int(text)


def whole_number(raw: str | None, field: str, code: Code) -> Callable[[], int | None]:
    """A whole-number field whose text is read when the rules reach it: how both edges hand a
    number they hold as text to a push call (push/call.py's ``Read`` fields)."""
    return lambda: parse_int(raw, field, code)


def check_int(
    value: int | None,
    field: str,
    code: Code,
    *,
    default: int | None = None,
    allowed: Iterable[int] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """A number within what the field allows; None gives ``default``."""
    if value is None:
        return default
    if allowed is not None:
        choices = tuple(allowed)
        if value not in choices:
            listed = ", ".join(str(c) for c in choices)
            raise refused(code, field, f"must be one of {listed}, got {value}")
    if minimum is not None and value < minimum:
        raise refused(code, field, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise refused(code, field, f"must be at most {maximum}, got {value}")
    return value


def read_instant(raw: str | None, field: str, code: Code) -> int | None:
    """Epoch milliseconds from 0 to LATEST_MS; absent or empty gives None."""
    return read_int(raw, field, code, minimum=0, maximum=LATEST_MS)


def read_task_id(raw: str | None) -> int:
    """``TaskId``: a task id as the push actions answer it (decimal, at most 18 digits)."""
    text = (raw or "").strip()
    if not text:
        raise refused(Code.INVALID_PARAM, "TaskId", "is required")
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise refused(Code.INVALID_PARAM, "TaskId", f"{raw[:40]!r} is not a task id")
    return int(text)


def read_choice(
    raw: str | None, field: str, choices: Iterable[str], *, default: str | None = None
) -> str | None:
    """A string field restricted to a few documented values."""
    if raw is None or raw == "":
        return default
    options = tuple(choices)
    if raw not in options:
        listed = ", ".join(options)
        raise refused(Code.INVALID_PARAM, field, f"must be one of {listed}, got {_show(raw)}")
    return raw


def read_text(
    raw: str | None, field: str, code: Code, *, max_length: int, required: bool = False
) -> str | None:
    """A free-text field with a length limit; control characters other than newlines refused."""
    if raw is None or raw == "":
        if required:
            raise refused(code, field, "is required")
        return None
    if len(raw) > max_length:
        raise refused(code, field, f"is {len(raw)} characters long; the limit is {max_length}")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in raw):
        raise refused(code, field, "contains a control character")
    return raw


def read_map(raw: str | dict | None, field: str, code: Code) -> dict[str, Any] | None:
    """A map field in any of its wire shapes; ``null`` and empty count as absent."""
    value = _decode_map(raw, field, code)
    if value is not None and _depth(value) > MAX_MAP_DEPTH:
        raise refused(code, field, f"is nested more than {MAX_MAP_DEPTH} levels deep")
    return value


def read_flat_map(raw: str | dict | None, field: str, code: Code) -> dict[str, str] | None:
    """A map whose values must be scalars; numbers and booleans become their JSON text."""
    value = _decode_map(raw, field, code)
    if value is None:
        return None
    if set(map(type, value.values())) <= _TEXT_ONLY:  # the common case, checked in C
        return value
    flat: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, str):
            flat[key] = item
        elif isinstance(item, bool | int | float):
            flat[key] = json.dumps(item)
        else:
            raise refused(code, f"{field}.{key}", "must be a string or a number")
    return flat


def read_flat_maps(raws: Sequence[str | dict | None]) -> list[dict[str, str]] | None:
    """``read_flat_map`` of many fields at once (a PushMultiple call's hundred TemplateKeyValue),
    when every one is a JSON object of strings: None when any is not (absent, ``null``, a dict,
    numbers, escapes), for each to be read on its own and refused with its own field's name.

    The checks of ``_decode_map`` are made once over the whole batch, in C (the escapes and the
    characters no stored text may hold in one search of all the texts), and the texts scanned
    by one call, as the elements of one JSON array: read one by one, the checks and the calls
    around each scan cost more than the scans. The array's elements are the texts, one each:
    every separator ``,\n`` parts two elements (a newline is refused inside a string, the
    ``{`` after it cannot start a member of an object, and objects of strings hold no other
    object or array), so each text holds one element or more, and as many elements as texts
    means each holds one.
    """
    if not set(map(type, raws)) <= _TEXT_ONLY:
        return None
    texts = list(map(str.strip, raws))
    if max(map(len, texts), default=0) > MAX_MAP_TEXT:
        return None
    if not all(map(str.startswith, texts, repeat("{"))):
        return None
    array = "[" + ",\n".join(texts) + "]"
    if "\\" in array or _unstorable(array):
        return None
    try:
        values, end = _SCAN_VALUE(array, 0)
    except (_NotFinite, StopIteration, ValueError, RecursionError):
        return None
    if end != len(array) or len(values) != len(texts):
        return None
    if not set(map(type, values)) <= _DICT_ONLY:
        return None
    if not set(map(type, chain.from_iterable(map(dict.values, values)))) <= _TEXT_ONLY:
        return None
    return values


def _decode_map(raw: str | dict | None, field: str, code: Code) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        return raw
    text = raw.strip()
    if text in ("", "null"):
        return None
    if len(text) > MAX_MAP_TEXT:
        raise refused(code, field, f"is longer than {MAX_MAP_TEXT} characters")
    try:
        value, end = _SCAN_VALUE(text, 0)
        if end != len(text):
            raise ValueError("extra data after the value")
    except _NotFinite as exc:
        raise refused(
            code, field, f"holds {exc.args[0][:40]}, which is not a finite number"
        ) from None
    except (StopIteration, ValueError, RecursionError):  # StopIteration: no value at all
        value = _python_literal(text)
        if value is None:
            raise refused(code, field, f"is not a JSON object: {_show(raw)}") from None
    if not isinstance(value, dict):
        raise refused(code, field, f"must be a JSON object, got {_show(raw)}")
    if "\\" in text or _unstorable(text):
        _refuse_unstorable(value, field, code)
    return value


class _NotFinite(Exception):
    """A JSON number no float holds (``NaN``, ``Infinity``, ``1e999999``): it would be stored and
    rendered as the words "NaN" or "Infinity"."""


def _not_finite(text: str) -> float:
    raise _NotFinite(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


# One decoder for every map field: ``json.loads`` with hooks builds a new decoder per call, and a
# PushMultiple call decodes a TemplateKeyValue per target. Its C scanner is called directly:
# the text is already stripped, so ``decode``'s two whitespace matches around it (in Python)
# found nothing and cost twice what the scan did.
_SCAN_VALUE = json.JSONDecoder(parse_constant=_not_finite, parse_float=_finite_float).scan_once


def _refuse_unstorable(value: Any, field: str, code: Code) -> None:
    """Escapes such as ``\\u0000`` or ``\\ud800`` spell characters that no stored text may hold;
    they would fail the write after every check had passed."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and _unstorable(item):
            raise refused(code, field, "holds a NUL character or a lone surrogate")


def _python_literal(text: str) -> Any:
    """A dict literal as ``str(dict)`` prints it, or None when the text is not one.

    Its values are turned into JSON values (tuples into lists) because the service stores them
    as JSON; a literal holding what JSON cannot (sets, bytes, complex numbers) is not a map.
    """
    if not text.startswith("{"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not (isinstance(value, dict) and all(isinstance(k, str) for k in value)):
        return None
    try:
        return json.loads(json.dumps(value, allow_nan=False))  # no NaN or infinity either
    except (TypeError, ValueError, RecursionError):
        return None


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_MAP_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def _show(raw: object, limit: int = 60) -> str:
    text = repr(raw)
    return text if len(text) <= limit else text[: limit - 3] + "..."
