"""How a template push shows: its template's display settings over the call's own.

The options themselves are read off the wire by the API (openapi/options.py) into the
``PushOptions`` of contract.py, which the push rules take as they are.
"""

from __future__ import annotations

import json
from dataclasses import replace

from tidings.contract import PushOptions
from tidings.templates.models import Template


def with_template_style(options: PushOptions, template: Template) -> PushOptions:
    """A template push shows as its template says (PushStyle, ImageUrls, IconUrls), as the MPS
    console's templates do; PushSimple's own fields are already in ``options``."""
    if template.push_style == options.push_style == 0 and not (
        template.image_urls or template.icon_urls
    ):
        return options
    return replace(
        options,
        push_style=options.push_style or template.push_style,
        image_urls=options.image_urls or _urls(template.image_urls),
        icon_urls=options.icon_urls or _urls(template.icon_urls),
    )


def _urls(text: str | None) -> dict[str, str] | None:
    return json.loads(text) if text else None
