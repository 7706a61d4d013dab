"""Devices as the rest of the service sees them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tidings.contract import DeviceAddress
from tidings.tasks import DEVICE_TYPES

# PushBind and PushReport give the platform as OsType, numbered like DeliveryType's devices;
# 8, a browser holding a Web Push subscription, is Tidings' own (reached by userId or broadcast).
OS_TYPES = {**DEVICE_TYPES, 8: "web"}


@dataclass(frozen=True, slots=True)
class Device:
    pk: int
    app_pk: int
    token: str
    platform: str
    user_id: str | None
    has_phone: bool  # a PhoneNumber was bound with the user (sealed; only SMS opens it)
    bound_at: int | None
    third_channel: int | None
    third_token: str | None
    manufacturer: str
    facts: dict[str, str]
    created_at: int
    last_seen_at: int | None

    @classmethod
    def from_row(cls, row: Any) -> Device:
        values = row._asdict()
        for column in ("secret_hash", "unbound_at"):
            values.pop(column)
        values["has_phone"] = values.pop("phone_ciphertext") is not None
        values["facts"] = json.loads(values["facts"]) if values["facts"] else {}
        return cls(**values)

    @property
    def address(self) -> DeviceAddress:
        return DeviceAddress(
            self.pk, self.token, self.platform, self.manufacturer, self.third_token
        )


@dataclass(frozen=True, slots=True)
class DeviceState:
    """PushQueryDeviceState's answer, in the domain's words."""

    device: Device
    online: bool | None  # None: the platform's presence is not known here (iOS, HarmonyOS)

    @property
    def statue(self) -> str:
        """MPS's ``Statue`` value (its spelling): iOS and HarmonyOS devices are reached through
        their vendor's push service, so MPS reports their presence as UNKNOW."""
        if self.online is None:
            return "UNKNOW"
        return "ONLINE" if self.online else "OFFLINE"
