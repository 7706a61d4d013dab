"""The vendor channels Tidings runs, and every lookup the rest of Tidings makes about vendors,
derived from their declarations.

A vendor is its module (which declares its ``Vendor``: channels/vendor_channel.py says what that
holds) plus its name's line in channels/registry.py; this module loads the registered modules,
in that order. Routing, the configuration keys ``tidings channels set`` takes, PushReport's
ThirdChannel numbers, the Manufacturer labels PushQueryDeviceState shows, analytics' Channel
labels and the vendor keys the push options accept all come from here, so taking a line out
takes the vendor out of all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from tidings.channels import sms
from tidings.channels.registry import CONFIGURABLE, VENDORS
from tidings.channels.sms import config as sms_config
from tidings.channels.vendor_channel import Transparent, Vendor
from tidings.channels.vendor_config import ChannelConfig, ChannelConfigError


def _declared(name: str) -> Vendor:
    """The ``VENDOR`` the module registered as ``name`` declares, which must carry that name."""
    vendor: Vendor = import_module(f"{__package__}.{name}").VENDOR
    if vendor.name != name:
        raise ValueError(f"channels/{name}.py declares the vendor {vendor.name!r}")
    return vendor


REGISTERED: tuple[Vendor, ...] = tuple(_declared(name) for name in VENDORS)

BY_NAME: dict[str, Vendor] = {vendor.name: vendor for vendor in REGISTERED}

# PushReport's ThirdChannel number of each vendor, and the vendor of each number.
THIRD_CHANNELS: dict[str, int] = {v.name: v.third_channel for v in REGISTERED}
THIRD_CHANNEL_CODES: dict[int, str] = {code: name for name, code in THIRD_CHANNELS.items()}
# PushQueryDeviceState's Manufacturer label of a device whose vendor token is known.
MANUFACTURERS: dict[str, str] = {v.name: v.manufacturer for v in REGISTERED}
_BY_MANUFACTURER: dict[str, str] = {label: name for name, label in MANUFACTURERS.items()}
# The Channel label MPS's analytics give a delivery the vendor took.
ANALYTICS_CHANNELS: dict[str, str] = {v.name: v.analytics_channel for v in REGISTERED}
STATUS_BLOCKS: dict[str, int] = {
    v.name: v.status_block for v in REGISTERED if v.status_block is not None
}

# MPS keys the push options accept for vendors Tidings has no channel for yet: given, they are
# kept with the push and used by no vendor.
WITHOUT_CHANNEL: tuple[str, ...] = ()
# The vendor keys of ThirdChannelCategory and NotifyLevel, and of TransparentMessagePayload
# (the vendors that carry data messages).
VENDOR_KEYS = frozenset(key for v in REGISTERED for key in v.keys) | frozenset(WITHOUT_CHANNEL)
PAYLOAD_KEYS = frozenset(
    key for v in REGISTERED if v.transparent is Transparent.DATA_MESSAGE for key in v.keys
) | frozenset(WITHOUT_CHANNEL)


def vendor_of_third_channel(code: int) -> str | None:
    """The vendor a ThirdChannel number stands for, or None when it stands for none."""
    return THIRD_CHANNEL_CODES.get(code)


def vendor_of(manufacturer: str | None, third_token: str | None) -> str | None:
    """The vendor whose token a device holds: its Manufacturer label names the vendor (``miui``
    is Xiaomi), but a plain ``ios`` device has no APNs token until it reports one."""
    if not third_token:
        return None
    return _BY_MANUFACTURER.get(manufacturer or "")


def check_config(
    channel: str, raw: Any, previous: Mapping[str, Any] | None = None
) -> ChannelConfig:
    """The config for ``channel`` checked and completed, or the error naming what is wrong;
    ``previous`` the one it replaces (``ConfigSchema.check``). ``sms`` is no push channel but is
    configured like one: the SMS supplement's provider."""
    if channel == sms.NAME:
        return sms_config.check(channel, raw)
    vendor = BY_NAME.get(channel)
    if vendor is None:
        raise ChannelConfigError(f"unknown channel {channel!r}; one of {', '.join(CONFIGURABLE)}")
    return vendor.config.check(channel, raw, previous)


def _distinct(facts: dict[str, Any], what: str) -> None:
    seen: dict[Any, str] = {}
    for name, fact in facts.items():
        if fact in seen:
            raise ValueError(f"{name} and {seen[fact]} share {what} {fact!r}")
        seen[fact] = name


_distinct(THIRD_CHANNELS, "the ThirdChannel number")
_distinct(MANUFACTURERS, "the Manufacturer label")
_distinct(STATUS_BLOCKS, "the status block")
