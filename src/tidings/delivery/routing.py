"""Routing as dispatch applies it: channels/routing.py's rule, bound to one task's options.

The rule needs the channels an app can use: those it has configured (channel_configs) that this
process also runs. Self-built is always among them. A broadcast with ``AndroidChannel`` 1 keeps
its Android devices on the self-built channel whatever vendor they reported.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from tidings.channels.routing import SELFBUILT, route, vendor_of
from tidings.contract import DeviceAddress, PushOptions

Router = Callable[[DeviceAddress], str]

__all__ = ["SELFBUILT", "Router", "router_for"]


SELFBUILT_ONLY = 1  # AndroidChannel


def router_for(options: PushOptions, delivery_type: int, usable: Collection[str]) -> Router:
    payload_vendors = tuple(options.transparent_payload or ())
    android_selfbuilt = options.android_channel == SELFBUILT_ONLY

    def channel_of(device: DeviceAddress) -> str:
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

    return channel_of
