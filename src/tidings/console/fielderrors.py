"""Which form input a service's refusal concerns, so the console can show it beside that input.

A refusal carries the path of the field at fault in MPS parameter names (``("TaskName",)``,
``("StrategyContent", "fixedTime")``, ``("TargetMsg", 3, "MsgKey")``); each form maps those names
to its inputs, the longest mapped start of the path winning. The few codes that concern one field
whatever the path are mapped by code.
"""

from __future__ import annotations

from collections.abc import Mapping

from tidings.errors import Code, FieldPath, ServiceError

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
    """``{form input: message}`` for ``error``; ``fields`` maps MPS parameter names (dotted for
    a nested one: ``StrategyContent.time``) to inputs."""
    wire = _BY_CODE.get(error.code)
    found = fields[wire] if wire in fields else input_for(error.path, fields)
    return {found: describe(error)}


def input_for(path: FieldPath, fields: Mapping[str, str]) -> str:
    """The input of the longest start of ``path`` that ``fields`` maps, else the whole form."""
    for end in range(len(path), 0, -1):
        found = fields.get(".".join(str(part) for part in path[:end]))
        if found is not None:
            return found
    return FORM
