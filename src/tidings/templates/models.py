"""Templates as the rest of the service sees them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.templates.placeholders import Pattern


@dataclass(frozen=True, slots=True)
class Template:
    pk: int
    app_pk: int
    name: str
    description: str | None
    title: str
    content: str
    uri: str | None
    variables: tuple[str, ...]
    show_style: int
    push_style: int
    jump_action: int
    image_urls: str | None
    icon_urls: str | None
    revision: int
    created_at: int
    updated_at: int

    @classmethod
    def from_row(cls, row: Any) -> Template:
        values = row._asdict()
        values["variables"] = tuple(v for v in values["variables"].split(",") if v)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """A template split into patterns once, so each of a hundred targets renders cheaply."""

    template: Template
    title: Pattern
    content: Pattern
    uri: Pattern | None

    @classmethod
    def of(cls, template: Template) -> CompiledTemplate:
        return cls(
            template,
            Pattern.compile(template.title),
            Pattern.compile(template.content),
            Pattern.compile(template.uri) if template.uri else None,
        )

    @property
    def names(self) -> tuple[str, ...]:
        return self.template.variables
