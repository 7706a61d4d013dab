"""Routing as dispatch applies it: channels/routing.py's rule, bound to one task's options.

The rule needs the channels an app can use: those it has configured (channel_configs) that this
process also runs. Self-built is always among them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from tidings.channels.routing import SELFBUILT, route, vendor_of
from tidings.delivery.models import DeviceAddress
from tidings.push.options import PushOptions

Router = Callable[[DeviceAddress], str]

__all__ = ["SELFBUILT", "Router", "router_for"]


def router_for(options: PushOptions, delivery_type: int, usable: Collection[str]) -> Router:
    payload_vendors = tuple(options.transparent_payload or ())

    def channel_of(device: DeviceAddress) -> str:
        return route(
            platform=device.platform,
            vendor=vendor_of(device.manufacturer, device.third_token),
            notify_type=options.notify_type,
            configured=usable,
            payload_vendors=payload_vendors,
            delivery_type=delivery_type,
        )

    return channel_of
