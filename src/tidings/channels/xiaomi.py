"""Xiaomi Push, ``/v3/message/regid``: a form post authorised by the app secret itself.

Xiaomi sorts notifications by the channel they are posted to (private or public, registered in
the Mi console), so its ``extra.channel_id`` takes MiChannelId, else ThirdChannelCategory
``xiaomi``, else the call's ChannelId.

Receipts: each message names ``extra.callback`` (the app's ``receipt_url``) and carries the
delivery's signed tag as ``extra.callback.param``; Xiaomi posts a form whose ``data`` field is JSON
keyed by its message id, each entry with the ``param`` echoed, the receipt ``type`` (1 arrived,
2 clicked, 16 and up: why it was not delivered) and the ``targets``. Recall: every notification
gets a ``notify_id`` derived from the delivery, which ``/v3/message/regid/revoke`` names with the
device's regid.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import httpx

from tidings.channels.extensions import (
    custom_data,
    notify_id,
    ttl_seconds,
    vendor_field,
    wants_data_message,
)
from tidings.channels.http import HttpSender, NotRecallable, retry_after
from tidings.channels.receipt_formats import (
    SIGNED_RECEIPT_KEYS,
    Event,
    Receipt,
    ReceiptFormat,
    ReceiptMalformed,
    delivery_of_tag,
    receipt_tag,
    receipt_url,
    takes_receipts,
)
from tidings.channels.vendor_channel import ANDROID_DEVICES, Transparent, Vendor
from tidings.channels.vendor_config import COMMON, ChannelConfig, ConfigSchema, Key, hosts, text
from tidings.channels.verdicts import (
    ACCEPTED,
    Failure,
    Verdict,
    coded_answer,
    unavailable,
    vendor_status,
)
from tidings.contract import Outbound

NAME = "xiaomi"
BLOCK = 2400  # its status codes: BLOCK + a verdicts.Failure

MAX_TTL = 14 * 24 * 3600
_FAILURES = {
    10016: Failure.INVALID,
    10017: Failure.INVALID,
    10027: Failure.THROTTLED,
    26004: Failure.THROTTLED,
    10034: Failure.QUOTA,
    200001: Failure.QUOTA,
    21301: Failure.AUTH,
    21302: Failure.AUTH,
    22022: Failure.AUTH,
    65003: Failure.DEAD_TOKEN,
    65009: Failure.TOO_LARGE,
}
_TRANSIENT = frozenset({10027, 26004})


# The receipts asked for: arrived (1), clicked (2), and why one was not delivered: an invalid
# target (16), push disabled on the device (32), filtered out (64), over the daily quota (128).
CALLBACK_TYPES = 1 | 2 | 16 | 32 | 64 | 128
ARRIVED, CLICKED = 1, 2


def form(out: Outbound, config: ChannelConfig, now: float) -> dict[str, str]:
    options = out.options
    extended = out.payload.extended_params
    fields = {
        "registration_id": out.device.third_token or "",
        "restricted_package_name": config["package_name"],
        "pass_through": "1" if wants_data_message(out) else "0",
        "title": out.payload.title,
        "description": out.payload.content,
        "payload": json.dumps(custom_data(out), ensure_ascii=False),
        "notify_type": "-1",
        "time_to_live": str(ttl_seconds(out, now, maximum=MAX_TTL) * 1000),
        "notify_id": str(notify_id(out)),
    }
    callback, tag = receipt_url(config), receipt_tag(config, out.id)
    if callback and tag:
        fields.update(
            {"extra.callback": callback, "extra.callback.param": tag,
             "extra.callback.type": str(CALLBACK_TYPES)}
        )  # fmt: skip
    channel = (
        options.mi_channel_id
        or vendor_field(options.third_channel_category, NAME)
        or options.channel_id
    )
    if channel:
        fields["extra.channel_id"] = channel
    if out.payload.uri and options.push_action == 1:
        fields.update({"extra.notify_effect": "2", "extra.intent_uri": out.payload.uri})
    elif out.payload.uri:
        fields.update({"extra.notify_effect": "3", "extra.web_uri": out.payload.uri})
    else:
        fields["extra.notify_effect"] = "1"
    if "sound" in extended:
        fields["extra.sound_uri"] = extended["sound"]
    if extended.get("big_text") == "1":
        fields["extra.notification_style_type"] = "1"
    return fields


def read_answer(status: int, headers: httpx.Headers, body: bytes) -> Verdict:
    code, reason = coded_answer(body, "code", "reason", status)
    if status >= 500 or status == 429:
        return unavailable(BLOCK, reason, retry_after(headers))
    if status == 200 and code == 0:
        return ACCEPTED
    if code == 20301 and "valid target" in reason.lower():
        return Verdict(vendor_status(BLOCK, Failure.DEAD_TOKEN), reason, dead_token=True)
    failure = _FAILURES.get(code, Failure.INVALID)
    return Verdict(
        vendor_status(BLOCK, failure),
        reason,
        retry=code in _TRANSIENT,
        dead_token=failure == Failure.DEAD_TOKEN,
    )


class XiaomiProtocol:
    block = BLOCK
    needs_token = False

    def __init__(self, config: ChannelConfig) -> None:
        self._config = config
        self._url = f"{config['base_url']}/v3/message/regid"
        self._auth = f"key={config['app_secret']}"

    async def fetch_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        raise NotImplementedError("Xiaomi authorises each request with the app secret")

    def request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._url,
            headers={"authorization": self._auth},
            data=form(out, self._config, now),
        )

    def revoke_request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        """Take back the notification by the device's regid and its ``notify_id``."""
        if wants_data_message(out):
            raise NotRecallable("Xiaomi recalls notifications, not pass-through messages")
        return httpx.Request(
            "POST",
            f"{self._config['base_url']}/v3/message/regid/revoke",
            headers={"authorization": self._auth},
            data={
                "registration_id": out.device.third_token or "",
                "restricted_package_name": self._config["package_name"],
                "notify_id": str(notify_id(out)),
            },
        )

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict:
        return read_answer(status, headers, body)


def make_sender(config: ChannelConfig) -> HttpSender:
    return HttpSender(XiaomiProtocol(config), config["concurrency"])


def read_receipts(config: ChannelConfig, headers: Mapping[str, str], body: bytes) -> list[Receipt]:
    """A Xiaomi receipt callback: the form field ``data``, JSON of message id -> receipt."""
    takes_receipts(config)
    try:
        (data,) = parse_qs(body.decode(), strict_parsing=True)["data"]
        entries = json.loads(data)
        if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
            raise TypeError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ReceiptMalformed(
            "a Xiaomi receipt is a form whose data field is a JSON object of message id -> receipt"
        ) from None
    receipts = []
    for msg_id, entry in entries.items():
        delivery_id = delivery_of_tag(config, entry.get("param"))
        kind: Any = entry.get("type")
        detail = f"receipt type {kind} of message {msg_id}"
        if kind in (ARRIVED, CLICKED):
            receipts.append(Receipt(delivery_id, Event.ARRIVED, detail))
        if kind == CLICKED:  # a click proves the arrival too, should that receipt be lost
            receipts.append(Receipt(delivery_id, Event.OPENED, detail))
        elif kind != ARRIVED:
            receipts.append(Receipt(delivery_id, Event.FAILED, detail))
    return receipts


RECEIPTS = ReceiptFormat(read_receipts, {"result": "ok"})

CONFIG = ConfigSchema(
    (
        Key("app_secret", text, secret=True),
        Key("package_name", text),
        *SIGNED_RECEIPT_KEYS,
        *COMMON,
    ),
    hosts("https://api.xmpush.xiaomi.com"),
    concurrency=50,
)

VENDOR = Vendor(
    name=NAME,
    third_channel=5,
    manufacturer="miui",
    analytics_channel="MIUI",
    platform="android",
    token_platforms=ANDROID_DEVICES,
    transparent=Transparent.NONE,
    config=CONFIG,
    senders=lambda: make_sender,
    status_block=BLOCK,
    option_keys=("xiaomi", "miui"),
    receipts=RECEIPTS,
    recalls=True,
)
