"""Which channel carries a delivery: the routing rule, as pure functions.

iOS has no background connection of its own, so an iOS device is reached through APNs whenever
the app has APNs configured and the device reported its APNs token. An Android notification goes
through the vendor the device reported (Huawei, Xiaomi, ...) when the app has that vendor
configured, because Chinese Android ROMs kill an app's own connection in the background. A
transparent (pass-through) message goes over the self-built connection, unless the vendor carries
it anyway (APNs, as a background push) or the call carries a TransparentMessagePayload for the
device's vendor and that vendor can carry data messages (HMS, Honor, FCM): then the vendor
delivers it as a data message. Live Activity updates go through APNs. Everything else, and every
device without a usable vendor token, takes the self-built channel. Each vendor's part in this
(its platform, what it does with transparent messages, Live Activities) is declared in its
module; docs/vendor-channels.md states the rule as a table.

Dispatch binds the rule to one task (``router_for``): the channels an app can use are those it
has configured (channel_configs) that this process also runs. A broadcast with
``AndroidChannel`` 1 keeps its Android devices on the self-built channel whatever vendor they
reported.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import NamedTuple

from tidings.channels.catalog import BY_NAME, MANUFACTURERS, REGISTERED, vendor_of
from tidings.channels.vendor_channel import Transparent
from tidings.contract import SELFBUILT, DeviceAddress, PushOptions

Router = Callable[[DeviceAddress], str]

ACTIVITY_TOKEN = 5  # DeliveryType: the target is a Live Activity's APNs push token
ACTIVITY_ID = 6  # DeliveryType: the target is a Live Activity's id, registered with its token
LIVE_ACTIVITY_TYPES = frozenset({ACTIVITY_TOKEN, ACTIVITY_ID})
ACTIVITY_END = "end"  # ActivityEvent that ends an activity: its registered token is dropped
ACTIVITY_START = "start"  # ActivityEvent that starts one, sent to a push-to-start token
LIVE_ACTIVITY_VENDORS = tuple(v.name for v in REGISTERED if v.live_activities)
LIVE_VIEW_VENDORS = frozenset(v.name for v in REGISTERED if v.live_views)
SELFBUILT_ONLY = 1  # AndroidChannel


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
        return next((v for v in LIVE_ACTIVITY_VENDORS if v in configured), SELFBUILT)
    if vendor is None or vendor not in configured:
        return SELFBUILT
    found = BY_NAME.get(vendor)
    if found is None or platform != found.platform:
        return SELFBUILT
    if notify_type == "transparent":
        if found.transparent is Transparent.BACKGROUND:
            return vendor
        if found.transparent is Transparent.DATA_MESSAGE and vendor in payload_vendors:
            return vendor
        return SELFBUILT
    return vendor


def takes_on_own_token(options: PushOptions, channel: str) -> bool:
    """Whether a device's own token, reached over ``channel``, can take a push with these
    options: any push but a Live Activity's; of those, only an update or end, and only as a
    HarmonyOS live view. An iOS device's APNs token refuses a Live Activity push, and the
    Android vendors and the self-built connection have no such message: an update reaches an
    iOS device at its activities' own tokens, a start at its push-to-start token."""
    return not options.live_activity or (options.live_update and channel in LIVE_VIEW_VENDORS)


def router_for(options: PushOptions, delivery_type: int, usable: Collection[str]) -> Router:
    """The rule bound to one task. It sees a device only through its platform and the vendor
    of its token (``vendor_of``: the manufacturer label, if it holds a token), so it decides
    once per (platform, manufacturer, holds a token) and remembers: a task's hundreds of
    devices are of a handful of kinds, and the rule cost ~1 µs a device on dispatch's thread."""
    payload_vendors = tuple(options.transparent_payload or ())
    android_selfbuilt = options.android_channel == SELFBUILT_ONLY
    chosen: dict[tuple[str, str, bool], str] = {}

    def decide(device: DeviceAddress) -> str:
        if android_selfbuilt and device.platform == "android":
            return SELFBUILT
        return route(
            platform=device.platform,
            vendor=vendor_of(device.manufacturer, device.third_token),
            notify_type=options.notify_type,
            configured=usable,
            payload_vendors=payload_vendors,
            delivery_type=delivery_type,
        )

    def channel_of(device: DeviceAddress) -> str:
        kind = (device.platform, device.manufacturer, not device.third_token)
        channel = chosen.get(kind)
        if channel is None:
            channel = chosen[kind] = decide(device)
        return channel

    return channel_of


class RouteTable(NamedTuple):
    """A router's choice for every device of one platform, as a table a query can apply: the
    channel of each manufacturer's devices that hold a vendor token, where it differs from
    ``default``, the channel of every other device (no token, or a manufacturer no vendor has).
    """

    default: str
    by_manufacturer: dict[str, str]


def route_table(router: Router, platform: str) -> RouteTable:
    """``router`` over the devices of ``platform`` as a table, so that a broadcast's devices are
    routed inside the database. Exact because a router sees a device only through its platform
    and the vendor of its token (``vendor_of``: the manufacturer label, if it holds a token)."""
    default = router(DeviceAddress(None, "", platform, "", None))
    found = {}
    for manufacturer in MANUFACTURERS.values():
        channel = router(DeviceAddress(None, "", platform, manufacturer, "token"))
        if channel != default:
            found[manufacturer] = channel
    return RouteTable(default, found)
