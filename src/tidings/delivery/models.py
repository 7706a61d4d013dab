"""What a channel is handed: one delivery, with its device's address and the message it carries.

Named tuples, not dataclasses: a burst builds one of each per device, thousands at a time.
"""

from __future__ import annotations

from typing import NamedTuple

from tidings.push.options import PushOptions


class DeviceAddress(NamedTuple):
    """Where a delivery goes: the device and the vendor token it reported, if any."""

    pk: int
    token: str  # the DeliveryToken
    platform: str  # android, ios, harmonyos
    manufacturer: str  # android, ios, harmonyos, or the vendor of third_token (hms, miui, ...)
    third_token: str | None


class Payload(NamedTuple):
    """One message as every channel shows it; extension parameters already merged."""

    task_id: int
    msg_key: str
    title: str
    content: str
    uri: str | None
    extended_params: dict[str, str]
    expires_at: int  # epoch ms


class Outbound(NamedTuple):
    """One delivery ready to send. ``options`` carries the call's vendor fields for vendor
    channels; ``id`` is the stable delivery id the device acknowledges."""

    id: int
    channel: str
    device: DeviceAddress
    payload: Payload
    options: PushOptions


class Recall(NamedTuple):
    """A revoked delivery its device may hold: the device is sent a revoke frame for it until
    the device confirms."""

    id: int
    device_pk: int
    task_id: int
    msg_key: str
