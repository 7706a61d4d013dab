"""``#name#`` placeholders: finding them and filling them in.

A template is split once into literal text and placeholder names; rendering joins the literals
with the caller's values. Values are inserted as they are, never scanned again, so a value that
itself reads ``#money#`` stays literally ``#money#``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"#(\w+)#")


@dataclass(frozen=True, slots=True)
class Pattern:
    """A text split into literals (even positions) and placeholder names (odd positions).

    Rendering fills a ``str.format`` text made once from the literals (their braces doubled)
    with the values of the names in order: the joining happens in C, where a loop over the parts
    cost a hundred-target PushMultiple two hundred Python loops.
    """

    parts: tuple[str, ...]
    _format: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        literals = (text.replace("{", "{{").replace("}", "}}") for text in self.parts[0::2])
        object.__setattr__(self, "_format", "{}".join(literals))

    @classmethod
    def compile(cls, text: str) -> Pattern:
        return cls(tuple(PLACEHOLDER.split(text)))

    @property
    def names(self) -> tuple[str, ...]:
        """Placeholder names in order of first appearance, each once."""
        return tuple(dict.fromkeys(self.parts[1::2]))

    def render(self, values: Mapping[str, str]) -> str:
        parts = self.parts
        if len(parts) == 1:
            return parts[0]
        return self._format.format(*map(values.__getitem__, parts[1::2]))


def names_in(*texts: str | None) -> tuple[str, ...]:
    """Every placeholder name in the given texts, in order of first appearance."""
    found: dict[str, None] = {}
    for text in texts:
        if text:
            found.update(dict.fromkeys(PLACEHOLDER.findall(text)))
    return tuple(found)
