"""A template filled in with sample values, exactly as the push path fills it in.

The preview uses the push path's own ``Pattern``, so what an operator sees is what a device would
be sent: values inserted literally, never scanned for placeholders again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tidings.templates.placeholders import Pattern, names_in


@dataclass(frozen=True, slots=True)
class Preview:
    names: tuple[str, ...]  # placeholders found, in order of first appearance
    samples: dict[str, str]  # the value used for each
    title: str
    content: str
    uri: str


def sample_for(name: str) -> str:
    """The value shown for a placeholder the operator gave no sample for."""
    return f"[{name}]"


def preview(title: str, content: str, uri: str, samples: Mapping[str, str]) -> Preview:
    names = names_in(title, content, uri)
    values = {n: samples[n] if samples.get(n) else sample_for(n) for n in names}
    return Preview(
        names=names,
        samples=values,
        title=Pattern.compile(title).render(values),
        content=Pattern.compile(content).render(values),
        uri=Pattern.compile(uri).render(values),
    )
