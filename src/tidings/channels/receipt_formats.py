"""Vendor receipts: what a vendor's callback says became of the messages it took.

Vendors that report delivery post receipts to a URL the app sets up in the vendor's console (or
names in each message). Each such vendor module declares a ``ReceiptFormat``: how to check that
a callback really comes from the vendor (with secrets from the app's channel configuration) and
how to read its body into ``Receipt``s naming Tidings' deliveries. delivery/receipts.py records
them; the HTTP route is ``POST /receipts/{channel}/{workspace}/{app_id}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from tidings.channels.vendor_config import ChannelConfig


class Event(Enum):
    ARRIVED = "arrived"  # the device has it
    OPENED = "opened"  # the user tapped it
    FAILED = "failed"  # the vendor could not deliver it (the reason says why)


class Receipt(NamedTuple):
    delivery_id: int
    event: Event
    detail: str  # the vendor's own code and words


class ReceiptRefused(Exception):
    """The callback did not prove it came from the vendor (answered 401)."""


class ReceiptMalformed(ValueError):
    """The callback's body is not the vendor's format (answered 400)."""


# (the app's config, the request's headers, its body) -> the receipts it holds
ReadReceipts = Callable[[ChannelConfig, Mapping[str, str], bytes], list[Receipt]]


@dataclass(frozen=True, slots=True)
class ReceiptFormat:
    read: ReadReceipts
    reply: dict[str, Any]  # the JSON the vendor expects back for a receipt taken


def hmac_sha256_b64(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
