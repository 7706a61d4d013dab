"""The vendor channels by name, and the numbers and labels other parts of MPS use for them.

A device reports its vendor token with PushReport's ``ThirdChannel`` (an integer whose values MPS
does not publish; Tidings' own are below and in docs/vendor-channels.md) or by name over the
device protocol. PushQueryDeviceState shows the vendor as a ``Manufacturer`` label.
"""

from __future__ import annotations

APNS = "apns"
FCM = "fcm"
HMS = "hms"
HONOR = "honor"
XIAOMI = "xiaomi"
OPPO = "oppo"
VIVO = "vivo"

VENDORS = (APNS, FCM, HMS, HONOR, XIAOMI, OPPO, VIVO)
ANDROID_VENDORS = (FCM, HMS, HONOR, XIAOMI, OPPO, VIVO)

# PushReport's ThirdChannel: the vendors in the order the configuration lists them.
THIRD_CHANNEL_CODES: dict[int, str] = {code: name for code, name in enumerate(VENDORS, start=1)}
THIRD_CHANNELS: dict[str, int] = {name: code for code, name in THIRD_CHANNEL_CODES.items()}

# PushQueryDeviceState's Manufacturer label for a device whose vendor token is known.
MANUFACTURERS: dict[str, str] = {
    APNS: "ios",
    FCM: "fcm",
    HMS: "hms",
    HONOR: "honor",
    XIAOMI: "miui",
    OPPO: "oppo",
    VIVO: "vivo",
}


def vendor_of_third_channel(code: int) -> str | None:
    """The vendor a ThirdChannel number stands for, or None when it stands for none."""
    return THIRD_CHANNEL_CODES.get(code)
