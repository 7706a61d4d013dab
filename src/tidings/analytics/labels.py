"""How analytics names what it counts: MPS's platform, channel and push type labels, and the time
slots counters are kept in.

MPS filters analytics by ``Platform`` (IOS, ANDROID, HARMONYOS), ``Channel`` (IOS for APNs, FCM,
HMS, MIUI, OPPO, VIVO, ANDROID for its own connection, HARMONYOS) and ``Type`` (SIMPLE, TEMPLATE,
MULTIPLE, BROADCAST). Tidings' own channel reaches any platform, so a self-built delivery is
labelled with its device's platform (ANDROID, IOS or HARMONYOS); each vendor module declares its
vendor's label (Honor, which MPS's list lacks, is HONOR).
"""

from __future__ import annotations

from tidings.channels.catalog import ANALYTICS_CHANNELS
from tidings.contract import PLATFORMS as DEVICE_PLATFORMS
from tidings.contract import SELFBUILT
from tidings.tasks import BROADCAST, DEVICE_TYPES, MULTIPLE, SIMPLE, TEMPLATE

SLOT_MS = 15 * 60 * 1000  # a quarter hour: every time zone's offset is a whole number of them
NONE = ""  # a delivery with no device yet has no platform or channel

PLATFORMS = {platform: platform.upper() for platform in DEVICE_PLATFORMS}
# Without a device (an unknown token, a user not bound yet), a device DeliveryType says which.
TYPE_PLATFORMS = {number: PLATFORMS[platform] for number, platform in DEVICE_TYPES.items()}
# The Channel labels: each vendor's (channels/catalog.py), then the self-built channel's.
CHANNELS = tuple(dict.fromkeys([*ANALYTICS_CHANNELS.values(), *PLATFORMS.values()]))
TYPES = {"SIMPLE": SIMPLE, "TEMPLATE": TEMPLATE, "MULTIPLE": MULTIPLE, "BROADCAST": BROADCAST}


def platform_label(platform: str | None, delivery_type: int) -> str:
    if platform is None:
        return TYPE_PLATFORMS.get(delivery_type, NONE)
    return PLATFORMS.get(platform, NONE)


def channel_label(channel: str | None, platform: str) -> str:
    """``platform`` is the delivery's platform label."""
    if channel == SELFBUILT:
        return platform
    return ANALYTICS_CHANNELS.get(channel or "", NONE)


def slot_of(instant_ms: int) -> int:
    return instant_ms - instant_ms % SLOT_MS
