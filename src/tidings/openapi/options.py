"""The options of a push off the wire: channel, display, extension and vendor fields, read into
the ``PushOptions`` the push rules take.

Most are shared by every push action; a few belong to one action only (PushSimple's PushStyle,
ImageUrls and IconUrls, PushBroadcast's AndroidChannel) and are simply absent from the others.
Each field is checked against what the MPS documentation allows, and the first problem raises a
``ServiceError`` naming the field. The SMS fields are read by ``push/sms.py``, which the console
uses too (its only options; it sets no others).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.channels.catalog import PAYLOAD_KEYS, VENDOR_KEYS
from tidings.contract import PushOptions
from tidings.errors import Code, refused
from tidings.fields import read_choice, read_flat_map, read_int, read_map, read_text
from tidings.push.activity import EVENTS, check_start, take_activity_keys
from tidings.push.sms import SmsFields, sms_options
from tidings.templates.rules import read_image_urls

MAX_EXTENDED_KEYS = 20
MAX_TARGET_EXTENDED_KEYS = 9  # the documentation says "must be < 10"
RESERVED_EXTENSION_KEYS = frozenset(
    {"notifyType", "action", "silent", "pushType", "templateCode", "channel", "taskId"}
)
NOTIFY_TYPES = ("notify", "transparent")
PUSH_STYLES = (0, 1, 2)  # default, big text, image and text
ANDROID_CHANNELS = (1, 2)  # PushBroadcast: 1 the self-built channel only, 2 the default routing


@dataclass(frozen=True, slots=True)
class OptionFields:
    """The shared option parameters as they arrived; maps may be text or rebuilt dicts."""

    notify_type: str | None = None
    silent: str | None = None
    push_action: str | None = None
    classification: str | None = None
    extended_params: str | dict | None = None
    third_channel_category: str | dict | None = None
    notify_level: str | dict | None = None
    channel_id: str | None = None
    mi_channel_id: str | None = None
    transparent_payload: str | dict | None = None
    transparent_urgency: str | None = None
    vendor_template: str | dict | None = None
    activity_event: str | None = None
    activity_content_state: str | dict | None = None
    dismissal_date: str | None = None
    push_style: str | None = None
    image_urls: str | dict | None = None
    icon_urls: str | dict | None = None
    android_channel: str | None = None
    sms: SmsFields | None = None  # PushSimple's and PushTemplate's


def read_options(fields: OptionFields) -> PushOptions:
    extended_params = read_extended_params(
        fields.extended_params, "ExtendedParams", MAX_EXTENDED_KEYS, Code.EXTEND_PARAM_TO_MUCH
    )
    activity = take_activity_keys(extended_params)
    activity_event = read_choice(fields.activity_event, "ActivityEvent", EVENTS)
    check_start(activity_event, activity)
    return PushOptions(
        notify_type=read_choice(fields.notify_type, "NotifyType", NOTIFY_TYPES, default="notify")
        or "notify",
        silent=_int(fields.silent, "Silent", (0, 1)),
        push_action=_int(fields.push_action, "PushAction", (0, 1)),
        classification=read_choice(fields.classification, "Classification", ("0", "1")),
        extended_params=extended_params or None,
        third_channel_category=_vendor_map(fields.third_channel_category, "ThirdChannelCategory"),
        notify_level=_vendor_map(fields.notify_level, "NotifyLevel"),
        channel_id=read_text(fields.channel_id, "ChannelId", Code.INVALID_PARAM, max_length=200),
        mi_channel_id=read_text(
            fields.mi_channel_id, "MiChannelId", Code.INVALID_PARAM, max_length=200
        ),
        transparent_payload=_payload(fields.transparent_payload),
        transparent_urgency=read_choice(
            fields.transparent_urgency, "TransparentMessageUrgency", ("HIGH", "NORMAL")
        ),
        vendor_template=read_map(fields.vendor_template, "VendorTemplate", Code.INVALID_PARAM),
        activity_event=activity_event,
        activity_content_state=read_map(
            fields.activity_content_state, "ActivityContentState", Code.INVALID_PARAM
        ),
        dismissal_date=read_int(
            fields.dismissal_date, "DismissalDate", Code.INVALID_PARAM, minimum=0
        ),
        stale_date=activity.stale_date,
        activity_attributes_type=activity.attributes_type,
        activity_attributes=activity.attributes,
        push_style=_int(fields.push_style, "PushStyle", PUSH_STYLES),
        image_urls=read_image_urls(fields.image_urls, "ImageUrls"),
        icon_urls=read_image_urls(fields.icon_urls, "IconUrls"),
        android_channel=read_int(
            fields.android_channel, "AndroidChannel", Code.INVALID_PARAM, allowed=ANDROID_CHANNELS
        ),
        **sms_options(fields.sms),  # last: the SMS fields are checked after the others
    )


def read_extended_params(
    raw: str | dict | None, field: str, max_keys: int, too_many: Code
) -> dict[str, str] | None:
    """Extension parameters: a flat map, no reserved key, at most ``max_keys`` keys."""
    params = read_flat_map(raw, field, Code.INVALID_EXTEND_PARAM)
    if not params:
        return None
    if len(params) > max_keys:
        raise refused(too_many, field, f"has {len(params)} keys; at most {max_keys} are allowed")
    reserved = sorted(RESERVED_EXTENSION_KEYS.intersection(params))
    if reserved:
        raise refused(
            Code.INVALID_EXTEND_PARAM,
            field,
            f"uses reserved key {', '.join(reserved)}; the service sets it itself",
        )
    return params


def _int(raw: str | None, field: str, allowed: tuple[int, ...]) -> int:
    value = read_int(raw, field, Code.INVALID_PARAM, default=0, allowed=allowed)
    assert value is not None
    return value


def _vendor_map(raw: str | dict | None, field: str) -> dict[str, str] | None:
    """Per-vendor values, numbers or strings (``{"hms":"9"}``, ``{"oppo":1}``), kept as text."""
    value = read_flat_map(raw, field, Code.INVALID_PARAM)
    if not value:
        return None
    unknown = sorted(set(value) - VENDOR_KEYS)
    if unknown:
        raise refused(
            Code.INVALID_PARAM,
            field,
            f"has unknown vendor {', '.join(unknown)}; known: {', '.join(sorted(VENDOR_KEYS))}",
        )
    return value


def _payload(raw: str | dict | None) -> dict[str, Any] | None:
    value = read_map(raw, "TransparentMessagePayload", Code.INVALID_PARAM)
    if not value:
        return None
    unknown = sorted(set(value) - PAYLOAD_KEYS)
    if unknown:
        raise refused(
            Code.INVALID_PARAM,
            "TransparentMessagePayload",
            f"has unknown channel {', '.join(unknown)}; known: {', '.join(sorted(PAYLOAD_KEYS))}",
        )
    return value
