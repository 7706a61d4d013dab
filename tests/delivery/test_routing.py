"""The routing rule, row by row: every platform, notify type and configuration that matters."""

from __future__ import annotations

import pytest

from tidings.contract import SELFBUILT, DeviceAddress, PushOptions
from tidings.delivery.routing import route, router_for, takes_on_own_token

ALL = ("apns", "fcm", "hms", "honor", "xiaomi", "oppo", "vivo")

# platform, device vendor, NotifyType, configured channels, payload keys, DeliveryType -> channel
TABLE = [
    ("ios", "apns", "notify", ALL, (), 2, "apns"),
    ("ios", "apns", "transparent", ALL, (), 2, "apns"),
    ("ios", "apns", "notify", ("hms",), (), 2, SELFBUILT),  # APNs not configured
    ("ios", None, "notify", ALL, (), 2, SELFBUILT),  # no APNs token reported
    ("ios", "hms", "notify", ALL, (), 2, SELFBUILT),  # a vendor that cannot reach iOS
    ("android", "hms", "notify", ALL, (), 1, "hms"),
    ("android", "honor", "notify", ("honor",), (), 3, "honor"),
    ("android", "xiaomi", "notify", ("xiaomi",), (), 1, "xiaomi"),
    ("android", "oppo", "notify", ("oppo",), (), 1, "oppo"),
    ("android", "vivo", "notify", ("vivo",), (), 1, "vivo"),
    ("android", "fcm", "notify", ("fcm",), (), 1, "fcm"),
    ("android", "vivo", "notify", ("hms", "oppo"), (), 1, SELFBUILT),  # vendor not configured
    ("android", None, "notify", ALL, (), 1, SELFBUILT),  # no vendor token
    ("android", "apns", "notify", ALL, (), 1, SELFBUILT),  # an APNs token on Android
    ("android", "hms", "transparent", ALL, (), 1, SELFBUILT),
    ("android", "hms", "transparent", ALL, ("hms",), 1, "hms"),  # vendor data message
    ("android", "honor", "transparent", ALL, ("honor", "fcm"), 1, "honor"),
    ("android", "fcm", "transparent", ALL, ("fcm",), 1, "fcm"),
    ("android", "fcm", "transparent", ALL, ("hms",), 1, SELFBUILT),  # payload for another
    ("android", "xiaomi", "transparent", ALL, ("xiaomi",), 1, SELFBUILT),  # no data messages
    ("android", "hms", "transparent", ("fcm",), ("hms",), 1, SELFBUILT),  # not configured
    ("harmonyos", "hms", "notify", ALL, (), 7, SELFBUILT),
    ("ios", None, "notify", ALL, (), 5, "apns"),  # Live Activity push token
    ("ios", None, "notify", ALL, (), 6, "apns"),  # Live Activity id
    ("ios", None, "notify", ("hms",), (), 5, SELFBUILT),
]


@pytest.mark.parametrize(
    ("platform", "vendor", "notify_type", "configured", "payload", "delivery_type", "expected"),
    TABLE,
)
def test_route(platform, vendor, notify_type, configured, payload, delivery_type, expected):
    chosen = route(
        platform=platform,
        vendor=vendor,
        notify_type=notify_type,
        configured=frozenset(configured),
        payload_vendors=frozenset(payload),
        delivery_type=delivery_type,
    )
    assert chosen == expected


UPDATE = PushOptions(activity_event="update", activity_content_state={"eta": 5})


@pytest.mark.parametrize(
    ("options", "channel", "expected"),
    [
        (PushOptions(), "apns", True),  # not a Live Activity push: any channel
        (UPDATE, "harmonyos", True),  # a HarmonyOS live view
        (PushOptions(dismissal_date=1_900_000_000), "harmonyos", True),
        (UPDATE, "apns", False),  # an iOS device's APNs token refuses it
        (UPDATE, "hms", False),
        (UPDATE, SELFBUILT, False),
        (PushOptions(activity_event="start"), "harmonyos", False),  # starts: push-to-start only
        (PushOptions(activity_event="start"), "apns", False),
    ],
)
def test_what_a_devices_own_token_takes(options, channel, expected) -> None:
    assert takes_on_own_token(options, channel) is expected


def test_a_tasks_router_answers_each_device_by_its_own_kind() -> None:
    """The router remembers its choice per kind of device: a device with a vendor token and
    one without, of the same manufacturer, or of another platform, still get their own."""
    router = router_for(PushOptions(), 1, frozenset({"hms", "apns"}))
    devices = [
        DeviceAddress(1, "a", "android", "hms", "hms-token"),
        DeviceAddress(2, "b", "android", "hms", None),
        DeviceAddress(3, "c", "ios", "ios", "apns-token"),
        DeviceAddress(4, "d", "ios", "ios", None),
        DeviceAddress(5, "e", "android", "hms", "other-hms-token"),
        DeviceAddress(6, "f", "android", "miui", "mi-token"),  # Xiaomi not configured
    ]
    assert [router(d) for d in devices] == ["hms", SELFBUILT, "apns", SELFBUILT, "hms", SELFBUILT]
