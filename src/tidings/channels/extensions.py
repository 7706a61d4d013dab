"""What every vendor's mapping shares: the extension keys with a meaning, the app's own keys,
and a message's remaining validity as a vendor TTL.

MPS gives a few ExtendedParams keys a meaning on vendor channels (``sound``, ``badge``,
``mutable-content``, ``badge_add_num``, ``badge_class``, ``big_text``); each vendor module turns
the ones its vendor understands into its own fields. Every other key belongs to the app and
travels in the message's custom data, beside the ids the app needs to report the message back.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid

from tidings.contract import Outbound

MEANINGFUL_KEYS = frozenset(
    {"sound", "badge", "mutable-content", "badge_add_num", "badge_class", "big_text"}
)


def custom_data(out: Outbound) -> dict[str, str]:
    """The app's own extension keys, plus the delivery and task ids and the URI."""
    payload = out.payload
    params = payload.extended_params
    # most messages have no parameters: then no comprehension (a frame of its own) runs
    data = {k: v for k, v in params.items() if k not in MEANINGFUL_KEYS} if params else {}
    data["deliveryId"] = str(out.id)
    data["taskId"] = str(payload.task_id)
    if payload.uri:
        data["uri"] = payload.uri
    return data


_DELIVERY_NAMESPACE = uuid.UUID("0b6f1c1e-5a7d-4e0e-9d53-2f4f6f3b8a21")
# SHA-1 of the namespace, to be continued with each delivery's key (RFC 9562's UUIDv5).
_NAMESPACE_HASH = hashlib.sha1(_DELIVERY_NAMESPACE.bytes, usedforsecurity=False)
# a hex digit with its two high bits set to RFC 9562's variant 10
_VARIANT = dict(zip("0123456789abcdef", "89ab89ab89ab89ab", strict=True))


def delivery_uuid(out: Outbound) -> str:
    """A stable id for the delivery that another installation's deliveries will not share:
    vendors that drop repeated sends by id (OPPO, vivo) see a retry as the same send, and APNs
    takes it as the notification's apns-id.

    ``str(uuid.uuid5(namespace, key))``, spelled out: the UUID object uuid5 builds on the way
    to its string cost three quarters of the 3.5 µs it took per delivery on the APNs path."""
    payload = out.payload
    digest = _NAMESPACE_HASH.copy()
    digest.update(f"{payload.task_id}/{payload.msg_key}/{out.id}".encode())
    h = digest.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def notify_id(out: Outbound) -> int:
    """The notification's id on the device, derived from the delivery (Push Kit and Xiaomi
    take a positive 32-bit number): a recall names it."""
    return out.id % 2_147_483_647 or 1


def ttl_seconds(out: Outbound, now: float, *, maximum: int, minimum: int = 1) -> int:
    """The seconds the message has left, within the vendor's bounds."""
    left = math.ceil(out.payload.expires_at / 1000 - now)
    return max(minimum, min(maximum, left))


def whole_number(value: str | None) -> int | None:
    """An extension value meant as a number (``badge``), or None when it is not one."""
    if value is None:
        return None
    text = value.strip()
    digits = text[1:] if text.startswith("-") else text
    # isdecimal, not isdigit: "²" is a digit that int() refuses, and its ValueError failed the
    # send of every delivery in the batch
    return int(text) if digits.isdecimal() else None


def wants_data_message(out: Outbound) -> bool:
    """A transparent or silent push: vendors that can carry data messages send one."""
    return out.options.notify_type == "transparent" or out.options.silent == 1


def vendor_field(values: dict[str, str] | None, vendor: str) -> str | None:
    """A per-vendor option (ThirdChannelCategory, NotifyLevel) for this vendor, if given."""
    return values.get(vendor) if values else None


def data_message(out: Outbound, vendor: str) -> dict[str, str]:
    """The data of a vendor data message: the custom data and the call's
    TransparentMessagePayload for this vendor (objects spread into string fields)."""
    data = custom_data(out)
    given = (out.options.transparent_payload or {}).get(vendor)
    if isinstance(given, dict):
        data.update(
            {
                k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                for k, v in given.items()
            }
        )
    elif given is not None:
        data["payload"] = given if isinstance(given, str) else json.dumps(given, ensure_ascii=False)
    return data
