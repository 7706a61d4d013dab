"""The device actions' fields and their rules: pure functions of what the caller sent."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidings.channels.catalog import BY_NAME, MANUFACTURERS, THIRD_CHANNEL_CODES
from tidings.devices.models import OS_TYPES
from tidings.errors import Code, ServiceError, refused
from tidings.fields import read_int, read_text

MAX_TOKEN = 256
MAX_USER_ID = 128
MAX_THIRD_TOKEN = 512
MAX_ACTIVITY_ID = 128
MAX_ATTRIBUTES_TYPE = 128  # a Live Activity's ActivityAttributes type, named by the app
MAX_FACT = 128
_PHONE = re.compile(r"\+?[0-9][0-9 -]{2,30}")
# PushReport's descriptive fields that are kept (Imei and Imsi are personal identifiers that
# delivery never needs, so they are read and not stored).
FACT_FIELDS = ("AppVersion", "Channel", "ConnectType", "Model", "PushVersion")


@dataclass(frozen=True, slots=True)
class BindFields:
    delivery_token: str | None
    os_type: str | None
    user_id: str | None
    phone_number: str | None = None


@dataclass(frozen=True, slots=True)
class Binding:
    token: str
    platform: str
    user_id: str
    phone_number: str | None


@dataclass(frozen=True, slots=True)
class ReportFields:
    delivery_token: str | None
    os_type: str | None
    third_channel: str | None
    third_token: str | None
    facts: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class Report:
    token: str
    platform: str
    third_channel: int | None
    third_token: str | None
    manufacturer: str
    facts: dict[str, str]


@dataclass(frozen=True, slots=True)
class ActivityFields:
    """RegisterLiveActivity's parameters as they arrived (a Tidings extension action)."""

    delivery_token: str | None
    push_token: str | None
    activity_id: str | None
    attributes_type: str | None


@dataclass(frozen=True, slots=True)
class ActivityRegistration:
    """An iOS device's Live Activity token: an activity's push token under its ``activity_id``,
    or a push-to-start token for an ``attributes_type``; exactly one of the two is set."""

    token: str
    push_token: str
    activity_id: str | None
    attributes_type: str | None


def check_activity_registration(fields: ActivityFields) -> ActivityRegistration:
    token = read_token(fields.delivery_token)
    push_token = read_text(
        fields.push_token, "PushToken", Code.INVALID_PARAM, max_length=MAX_THIRD_TOKEN
    )
    if push_token is None:
        raise refused(Code.INVALID_PARAM, "PushToken", "is required")
    activity_id = read_text(
        fields.activity_id, "ActivityId", Code.INVALID_PARAM, max_length=MAX_ACTIVITY_ID
    )
    attributes_type = read_text(
        fields.attributes_type, "AttributesType", Code.INVALID_PARAM, max_length=MAX_ATTRIBUTES_TYPE
    )
    if (activity_id is None) == (attributes_type is None):
        raise refused(
            Code.INVALID_PARAM,
            "ActivityId",
            "or AttributesType is needed, not both: an activity's push token, or a "
            "push-to-start token for an ActivityAttributes type",
        )
    return ActivityRegistration(token, push_token, activity_id, attributes_type)


def read_token(raw: str | None) -> str:
    token = read_text(raw, "DeliveryToken", Code.NEED_DELIVERYTOKEN, max_length=MAX_TOKEN)
    if token is None:
        raise ServiceError(Code.NEED_DELIVERYTOKEN, "DeliveryToken is required")
    return token


def read_user_id(raw: str | None) -> str:
    user_id = read_text(raw, "UserId", Code.NEED_USERID, max_length=MAX_USER_ID)
    if user_id is None:
        raise ServiceError(Code.NEED_USERID, "UserId is required")
    return user_id


def read_platform(raw: str | None) -> str:
    if raw is None or raw == "":
        raise ServiceError(Code.INVALID_PARAM, "OsType is required")
    value = read_int(raw, "OsType", Code.INVALID_PARAM, allowed=tuple(OS_TYPES))
    assert value is not None
    return OS_TYPES[value]


def check_bind(fields: BindFields) -> Binding:
    token = read_token(fields.delivery_token)
    platform = read_platform(fields.os_type)
    user_id = read_user_id(fields.user_id)
    phone = fields.phone_number or None
    if phone is not None and not _PHONE.fullmatch(phone):
        raise ServiceError(
            Code.INVALID_PARAM, "PhoneNumber must be digits (with an optional leading +)"
        )
    return Binding(token, platform, user_id, phone)


def check_report(fields: ReportFields) -> Report:
    token = read_token(fields.delivery_token)
    platform = read_platform(fields.os_type)
    code = read_int(
        fields.third_channel,
        "ThirdChannel",
        Code.INVALID_PARAM,
        allowed=tuple(THIRD_CHANNEL_CODES),
    )
    third_token = read_text(
        fields.third_token,
        "ThirdChannelDeviceToken",
        Code.INVALID_PARAM,
        max_length=MAX_THIRD_TOKEN,
    )
    if (code is None) != (third_token is None):
        raise ServiceError(
            Code.INVALID_PARAM,
            "ThirdChannel and ThirdChannelDeviceToken go together: give both or neither",
        )
    if code is not None:
        check_vendor_platform(THIRD_CHANNEL_CODES[code], platform)
    manufacturer = MANUFACTURERS[THIRD_CHANNEL_CODES[code]] if code is not None else platform
    facts = {}
    for name in FACT_FIELDS:
        value = read_text(fields.facts.get(name), name, Code.INVALID_PARAM, max_length=MAX_FACT)
        if value is not None:
            facts[name] = value
    return Report(token, platform, code, third_token, manufacturer, facts)


PLATFORM_NAMES = {"android": "Android", "ios": "iOS", "harmonyos": "HarmonyOS", "web": "web"}


def check_vendor_platform(vendor: str, platform: str) -> None:
    """A vendor's tokens belong to devices of its platforms: APNs tokens to iOS devices, the
    Android vendors' to Android (or HarmonyOS) ones."""
    owners = BY_NAME[vendor].token_platforms
    if platform not in owners:
        named = " and ".join(PLATFORM_NAMES[owner] for owner in owners)
        raise ServiceError(
            Code.INVALID_PARAM,
            f"{vendor} push tokens belong to {named} devices, not to {platform} ones",
        )
