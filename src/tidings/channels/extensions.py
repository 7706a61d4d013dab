"""What every vendor's mapping shares: the extension keys with a meaning, the app's own keys,
and a message's remaining validity as a vendor TTL.

MPS gives a few ExtendedParams keys a meaning on vendor channels (``sound``, ``badge``,
``mutable-content``, ``badge_add_num``, ``badge_class``, ``big_text``); each vendor module turns
the ones its vendor understands into its own fields. Every other key belongs to the app and
travels in the message's custom data, beside the ids the app needs to report the message back.
"""

from __future__ import annotations

import math

from tidings.delivery.models import Outbound

MEANINGFUL_KEYS = frozenset(
    {"sound", "badge", "mutable-content", "badge_add_num", "badge_class", "big_text"}
)


def custom_data(out: Outbound) -> dict[str, str]:
    """The app's own extension keys, plus the delivery and task ids and the URI."""
    data = {k: v for k, v in out.payload.extended_params.items() if k not in MEANINGFUL_KEYS}
    data["deliveryId"] = str(out.id)
    data["taskId"] = str(out.payload.task_id)
    if out.payload.uri:
        data["uri"] = out.payload.uri
    return data


def ttl_seconds(out: Outbound, now: float, *, maximum: int, minimum: int = 1) -> int:
    """The seconds the message has left, within the vendor's bounds."""
    left = math.ceil(out.payload.expires_at / 1000 - now)
    return max(minimum, min(maximum, left))


def whole_number(value: str | None) -> int | None:
    """An extension value meant as a number (``badge``), or None when it is not one."""
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.lstrip("-").isdigit() else None
