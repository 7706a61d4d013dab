"""What makes a template valid, as pure functions of the fields a caller sent.

Names: 1 to 200 characters, no comma (MPS uses commas to list template names), no control
characters, no leading or trailing space. The MPS console asks for letters, digits and
underscores, but the MPS documentation's own examples use names such as ``Test template``, so
spaces and other printable characters are accepted. Placeholders may stand in the title, the
content and the URI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tidings.errors import Code, refused
from tidings.fields import read_int, read_map, read_text
from tidings.templates.placeholders import PLACEHOLDER, names_in

MAX_NAME = 200
MAX_DESCRIPTION = 200
MAX_TITLE = 200
MAX_CONTENT = 4000
MAX_URI = 2048
IMAGE_KEYS = frozenset(
    {"defaultUrl", "oppoUrl", "miuiUrl", "hmsUrl", "honorUrl", "harmonyosUrl", "vivoUrl", "fcmUrl"}
)


@dataclass(frozen=True, slots=True)
class TemplateFields:
    """CreateTemplate's parameters as they arrived (None when absent)."""

    name: str | None = None
    description: str | None = None
    title: str | None = None
    content: str | None = None
    uri: str | None = None
    variables: str | None = None
    show_style: str | None = None
    push_style: str | None = None
    jump_action: str | None = None
    image_urls: str | None = None
    icon_urls: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateDraft:
    """A template that passed every rule, ready to store."""

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


def check_name(raw: str | None) -> str:
    if raw is None or raw == "":
        raise refused(Code.TEMPLATE_NAME_NULL, "TemplateName", "is required")
    problem = None
    if len(raw) > MAX_NAME:
        problem = f"is {len(raw)} characters long; the limit is {MAX_NAME}"
    elif "," in raw:
        problem = "contains a comma"
    elif any(ord(c) < 32 or ord(c) == 127 for c in raw):
        problem = "contains a control character"
    elif raw != raw.strip():
        problem = "starts or ends with white space"
    if problem:
        raise refused(Code.TEMPLATE_NAME_INVALID, "TemplateName", f"{raw[:80]!r} {problem}")
    return raw


def draft(fields: TemplateFields) -> TemplateDraft:
    name = check_name(fields.name)
    description = read_text(
        fields.description, "DescInfo", Code.TEMPLATE_DESC_INFO_INVALID, max_length=MAX_DESCRIPTION
    )
    title = read_text(
        fields.title, "Title", Code.TEMPLATE_TITLE_INVALID, max_length=MAX_TITLE, required=True
    )
    content = read_text(
        fields.content,
        "Content",
        Code.TEMPLATE_CONTENT_INVALID,
        max_length=MAX_CONTENT,
        required=True,
    )
    uri = _uri(fields.uri)
    assert title is not None and content is not None
    found = names_in(title, content, uri)
    return TemplateDraft(
        name=name,
        description=description,
        title=title,
        content=content,
        uri=uri,
        variables=_variables(fields.variables, found),
        show_style=_small(fields.show_style, "ShowStyle", (0, 1)),
        push_style=_small(fields.push_style, "PushStyle", (0, 1, 2)),
        jump_action=_small(fields.jump_action, "JumpAction", (0, 1)),
        image_urls=_urls(fields.image_urls, "ImageUrls"),
        icon_urls=_urls(fields.icon_urls, "IconUrls"),
    )


def _uri(raw: str | None) -> str | None:
    uri = read_text(raw, "Uri", Code.TEMPLATE_URI_INVALID, max_length=MAX_URI)
    if uri is not None and any(c.isspace() for c in PLACEHOLDER.sub("", uri)):
        raise refused(Code.TEMPLATE_URI_INVALID, "Uri", "must not contain white space")
    return uri


def _variables(raw: str | None, found: tuple[str, ...]) -> tuple[str, ...]:
    """Variables, when given, must name exactly the placeholders the texts use."""
    if raw is None or raw.strip() == "":
        return found
    listed = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
    missing = [n for n in found if n not in listed]
    extra = [n for n in listed if n not in found]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"placeholders not listed: {', '.join(missing)}")
        if extra:
            parts.append(f"listed but not used as #name#: {', '.join(extra)}")
        raise refused(
            Code.INVALID_PARAM, "Variables", f"does not match the template ({'; '.join(parts)})"
        )
    return listed


def _small(raw: str | None, field: str, allowed: tuple[int, ...]) -> int:
    value = read_int(raw, field, Code.INVALID_PARAM, default=0, allowed=allowed)
    assert value is not None
    return value


def _urls(raw: str | None, field: str) -> str | None:
    urls = read_image_urls(raw, field)
    return json.dumps(urls, ensure_ascii=False, separators=(",", ":")) if urls else None


def read_image_urls(raw: str | dict | None, field: str) -> dict[str, str] | None:
    """ImageUrls or IconUrls: one http(s) URL per vendor key (``defaultUrl``, ``hmsUrl``, ...);
    templates and PushSimple take the same map."""
    urls = read_map(raw, field, Code.INVALID_PARAM)
    if not urls:
        return None
    for key, value in urls.items():
        if key not in IMAGE_KEYS:
            listed = ", ".join(sorted(IMAGE_KEYS))
            raise refused(Code.INVALID_PARAM, f"{field}.{key}", f"is not one of {listed}")
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise refused(Code.INVALID_PARAM, f"{field}.{key}", "must be an http(s) URL")
    return urls
