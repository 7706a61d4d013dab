"""``#name#`` placeholders: finding them and filling them in.

A template is split once into literal text and placeholder names; rendering joins the literals
with the caller's values. Values are inserted as they are, never scanned again, so a value that
itself reads ``#money#`` stays literally ``#money#``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter

PLACEHOLDER = re.compile(r"#(\w+)#")


@dataclass(frozen=True, slots=True)
class Pattern:
    """A text split into literals (even positions) and placeholder names (odd positions).

    Rendering fills a ``%`` format made once from the literals (their ``%`` doubled) with the
    values of the names in order: the joining happens in C, where a loop over the parts cost a
    hundred-target PushMultiple two hundred Python loops (and ``str.format``, which parses its
    text again on every call, ~30 % more than ``%`` does).
    """

    parts: tuple[str, ...]
    _format: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        literals = (text.replace("%", "%%") for text in self.parts[0::2])
        object.__setattr__(self, "_format", "%s".join(literals))

    @classmethod
    def compile(cls, text: str) -> Pattern:
        return cls(tuple(PLACEHOLDER.split(text)))

    @property
    def names(self) -> tuple[str, ...]:
        """Placeholder names in order of first appearance, each once."""
        return tuple(dict.fromkeys(self.parts[1::2]))

    def render(self, values: Mapping[str, str]) -> str:
        return self.render_each((values,))[0]

    def render_each(self, values: Sequence[Mapping[str, str]]) -> list[str]:
        """The text filled in with each of the value maps: a PushMultiple call's hundred targets
        rendered in C, each map's values picked by an ``itemgetter`` (a KeyError names a missing
        value) and all of them put into one format, the text's format repeated once per map and
        joined by NUL, split apart after: one ``%`` over the whole cost 40 % less than one per
        map. A NUL of a value or of the text itself (no stored text holds one) would make more
        pieces than maps; they are then filled in one by one."""
        parts = self.parts
        if len(parts) == 1:
            return [parts[0]] * len(values)
        names = parts[1::2]
        pick = itemgetter(*names)
        picked = list(map(pick, values)) if len(names) > 1 else list(zip(map(pick, values)))
        pieces = _NUL.join([self._format] * len(picked)) % tuple(chain.from_iterable(picked))
        texts = pieces.split(_NUL)
        if len(texts) == len(picked):
            return texts
        return list(map(self._format.__mod__, picked))


_NUL = "\x00"


def names_in(*texts: str | None) -> tuple[str, ...]:
    """Every placeholder name in the given texts, in order of first appearance."""
    found: dict[str, None] = {}
    for text in texts:
        if text:
            found.update(dict.fromkeys(PLACEHOLDER.findall(text)))
    return tuple(found)
