"""Which form field a service's refusal concerns, so the console can show it beside that field.

The domain's messages name the field at fault by its MPS parameter name ("TaskName is required",
"StrategyContent.fixedTime ... is in the past"); a form maps those names to its inputs. The few
codes whose message names no field are mapped by code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tidings.errors import Code, ServiceError

FORM = "_form"  # the error concerns the form as a whole

_BY_CODE = {
    Code.TEMPLATE_ALREADY_EXIST: "TemplateName",
    Code.TEMPLATE_NOT_EXIST: "TemplateName",
    Code.NEED_TEMPLATE: "TemplateName",
}


def describe(error: ServiceError) -> str:
    """The message an operator reads: what is wrong, then the code the API would answer."""
    return f"{error.detail} ({error.code.label}, {error.code.value_str})"


def field_errors(error: ServiceError, fields: Mapping[str, str]) -> dict[str, str]:
    """``{form field: message}`` for ``error``; ``fields`` maps MPS parameter names to inputs."""
    wire = _BY_CODE.get(error.code)
    if wire not in fields:
        wire = first_mentioned(error.detail, fields)
    return {fields[wire] if wire is not None else FORM: describe(error)}


def first_mentioned(text: str, names: Mapping[str, str] | list[str]) -> str | None:
    """The name mentioned earliest in ``text`` as a whole word (``Title`` is not in ``Titles``);
    of names mentioned at the same place, the longest (``StrategyContent.time`` over
    ``StrategyContent``)."""
    best: tuple[int, int, str] | None = None
    for name in names:
        match = re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", text)
        if match and (best is None or (match.start(), -len(name)) < best[:2]):
            best = (match.start(), -len(name), name)
    return best[2] if best else None
