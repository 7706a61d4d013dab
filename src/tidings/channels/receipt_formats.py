"""Vendor receipts: what a vendor's callback says became of the messages it took.

Vendors that report delivery post receipts to a URL the app sets up in the vendor's console (or
names in each message). Each such vendor module declares a ``ReceiptFormat``: how to check that
a callback really comes from the vendor (with secrets from the app's channel configuration) and
how to read its body into ``Receipt``s naming Tidings' deliveries. delivery/receipts.py records
them; the HTTP route is ``POST /receipts/{channel}/{workspace}/{app_id}``.

Vendors that sign nothing (Honor, Xiaomi, OPPO, vivo) echo a short text Tidings gives each message
(a callback parameter, or Honor's ``biTag``). Tidings makes that text a *signed receipt tag*: the
delivery's id and an HMAC of it under the app's ``receipt_secret``, so the tag both names the
delivery and proves the receipt came from someone who saw the message Tidings sent; a tag that
does not verify refuses the whole callback. The tag is per delivery, so one seen in transit
forges nothing for any other delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from tidings.channels.vendor_config import ChannelConfig, ChannelConfigError, Key, text, url

# Where this Tidings takes receipts (app.py serves it; a receipt_url must end with it).
RECEIPT_PATH = "/receipts/{channel}/{workspace}/{app_id}"


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


# The keys of the vendors whose receipts carry a signed tag: where the vendor is to post them
# (this Tidings' public base URL + /receipts/{channel}/{workspace}/{app_id}) and the secret the
# tags are signed with (Honor, whose console holds the URL, takes the secret alone). Without
# them, messages ask for no receipts and the route refuses them.
RECEIPT_SECRET = Key("receipt_secret", text, required=False, secret=True)
SIGNED_RECEIPT_KEYS = (Key("receipt_url", url, required=False), RECEIPT_SECRET)
TAG_MAC_CHARS = 24  # hex digits of the HMAC kept: 96 bits, and the tag stays within 40 bytes


def _mac(secret: str, channel: str, delivery_id: int) -> str:
    text = f"{channel}:{delivery_id}".encode()
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()[:TAG_MAC_CHARS]


def receipt_tag(config: ChannelConfig, delivery_id: int) -> str | None:
    """The signed tag a message carries for its receipts, or None when the app's channel
    takes no receipts (no ``receipt_secret``)."""
    secret = config.values.get("receipt_secret")
    if not secret:
        return None
    return f"{delivery_id}.{_mac(secret, config.channel, delivery_id)}"


def check_receipt_url(config: ChannelConfig, workspace: str, app_id: str) -> None:
    """A ``receipt_url`` must lead to this app's receipts for this channel (after whatever
    public base URL or proxy prefix is in front): the vendor posts there, so a wrong one would
    lose every receipt without an error anywhere."""
    given = config.values.get("receipt_url")
    path = RECEIPT_PATH.format(channel=config.channel, workspace=workspace, app_id=app_id)
    if given and not urlsplit(given).path.endswith(path):
        raise ChannelConfigError(
            f"receipt_url must be this Tidings' public base URL followed by {path}, got {given!r}"
        )


def receipt_url(config: ChannelConfig) -> str | None:
    """Where the vendor is to post receipts, when the app's channel takes them."""
    found = config.values.get("receipt_url")
    return found if found and config.values.get("receipt_secret") else None


def takes_receipts(config: ChannelConfig) -> str:
    """The secret receipt tags are signed with; ``ReceiptRefused`` when there is none."""
    secret = config.values.get("receipt_secret")
    if not secret:
        raise ReceiptRefused(
            f"the {config.channel} channel takes receipts once receipt_secret is configured"
        )
    return str(secret)


def delivery_of_tag(config: ChannelConfig, tag: Any) -> int:
    """The delivery a receipt's signed tag names; ``ReceiptRefused`` when the channel takes
    no receipts or the tag was not signed with its secret."""
    secret = takes_receipts(config)
    found, _, mac = tag.partition(".") if isinstance(tag, str) else ("", "", "")
    if not (found.isdigit() and same(mac, _mac(secret, config.channel, int(found)))):
        raise ReceiptRefused(f"a receipt's tag {str(tag)[:80]!r} is not one Tidings signed")
    return int(found)
