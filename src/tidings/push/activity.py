"""The Live Activity fields MPS has no parameter for, read from the call's ExtendedParams.

MPS names three Live Activity fields (ActivityEvent, ActivityContentState, DismissalDate). APNs
takes more: a Live Activity can be marked stale at a time (``stale-date``), and, since iOS 17.2,
started by a push (ActivityEvent ``start``), which must name the app's ``ActivityAttributes``
type and give its static attributes. The official SDKs cannot send a field MPS does not define,
so Tidings reads these from ExtendedParams keys spelled as APNs spells them (as MPS already does
for ``sound``, ``badge`` and ``mutable-content``); they are taken out of the extension map, so
they never reach the app as custom data.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from tidings.delivery.routing import ACTIVITY_END
from tidings.delivery.routing import ACTIVITY_START as START
from tidings.devices.rules import MAX_ATTRIBUTES_TYPE
from tidings.errors import Code, refused
from tidings.fields import read_int, read_text

STALE_DATE = "stale-date"
ATTRIBUTES_TYPE = "attributes-type"
ATTRIBUTES = "attributes"
KEYS = (STALE_DATE, ATTRIBUTES_TYPE, ATTRIBUTES)
EVENTS = ("update", ACTIVITY_END, START)
LATEST_EPOCH_MS = 253_402_300_799_999  # 9999-12-31: a date in seconds or milliseconds


class ActivityExtension(NamedTuple):
    stale_date: int | None = None
    attributes_type: str | None = None
    attributes: dict[str, Any] | None = None


def take_activity_keys(params: dict[str, str] | None) -> ActivityExtension:
    """Remove the Live Activity keys from ``params`` (the call's ExtendedParams), checked."""
    if not params:
        return ActivityExtension()
    given = {key: params.pop(key) for key in KEYS if key in params}
    return ActivityExtension(
        stale_date=read_int(
            given.get(STALE_DATE),
            f"ExtendedParams.{STALE_DATE}",
            Code.INVALID_EXTEND_PARAM,
            minimum=0,
            maximum=LATEST_EPOCH_MS,
        ),
        attributes_type=read_text(
            given.get(ATTRIBUTES_TYPE),
            f"ExtendedParams.{ATTRIBUTES_TYPE}",
            Code.INVALID_EXTEND_PARAM,
            max_length=MAX_ATTRIBUTES_TYPE,
        ),
        attributes=_attributes(given.get(ATTRIBUTES)),
    )


def _attributes(raw: str | None) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    field = f"ExtendedParams.{ATTRIBUTES}"
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise refused(Code.INVALID_EXTEND_PARAM, field, "must be the text of a JSON object")
    return value


def check_start(event: str | None, extension: ActivityExtension) -> None:
    """A push that starts a Live Activity must say which kind and with which attributes."""
    if event != START:
        return
    missing = [
        key
        for key, value in (
            (ATTRIBUTES_TYPE, extension.attributes_type),
            (ATTRIBUTES, extension.attributes),
        )
        if value is None
    ]
    if missing:
        raise refused(
            Code.INVALID_PARAM,
            "ActivityEvent",
            f"start needs ExtendedParams {' and '.join(missing)} (the ActivityAttributes type "
            "and its attributes as JSON text)",
        )
