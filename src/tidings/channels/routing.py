"""Which channel carries a delivery: the routing rule, as one pure function.

iOS has no background connection of its own, so an iOS device is reached through APNs whenever
the app has APNs configured and the device reported its APNs token. An Android notification goes
through the vendor the device reported (Huawei, Xiaomi, ...) when the app has that vendor
configured, because Chinese Android ROMs kill an app's own connection in the background. A
transparent (pass-through) message goes over the self-built connection, unless the call carries a
TransparentMessagePayload for the device's vendor and that vendor can carry data messages (HMS,
Honor, FCM): then the vendor delivers it as a data message. Everything else, and every device
without a usable vendor token, takes the self-built channel. docs/vendor-channels.md states the
same rule as a table.
"""

from __future__ import annotations

from collections.abc import Collection

from tidings.channels.vendors import ANDROID_VENDORS, APNS, FCM, HMS, HONOR, MANUFACTURERS

SELFBUILT = "selfbuilt"
DATA_MESSAGE_VENDORS = frozenset({HMS, HONOR, FCM})
LIVE_ACTIVITY_TYPES = frozenset({5, 6})

_VENDOR_OF_MANUFACTURER = {label: vendor for vendor, label in MANUFACTURERS.items()}


def vendor_of(manufacturer: str | None, third_token: str | None) -> str | None:
    """The vendor whose token a device holds: its Manufacturer label names the vendor (``miui``
    is Xiaomi), but a plain ``ios`` device has no APNs token until it reports one."""
    if not third_token:
        return None
    return _VENDOR_OF_MANUFACTURER.get(manufacturer or "")


def route(
    *,
    platform: str,
    vendor: str | None,
    notify_type: str,
    configured: Collection[str],
    payload_vendors: Collection[str] = (),
    delivery_type: int = 0,
) -> str:
    """The channel name for one delivery.

    ``vendor`` is the vendor of the token the device reported (None without one);
    ``configured`` the vendor channels the app has set up; ``payload_vendors`` the keys of the
    call's TransparentMessagePayload.
    """
    if delivery_type in LIVE_ACTIVITY_TYPES:
        return APNS if APNS in configured else SELFBUILT
    if vendor is None or vendor not in configured:
        return SELFBUILT
    if platform == "ios":
        return APNS if vendor == APNS else SELFBUILT
    if platform != "android" or vendor not in ANDROID_VENDORS:
        return SELFBUILT
    if notify_type == "transparent":
        if vendor in DATA_MESSAGE_VENDORS and vendor in payload_vendors:
            return vendor
        return SELFBUILT
    return vendor
