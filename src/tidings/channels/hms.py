"""Huawei Push Kit (HMS), REST v1, with an OAuth 2.0 client-credentials access token.

ThirdChannelCategory ``hms`` is given in mPaaS's numbering ("1" IM ... "14" MARKETING) and sent as
Huawei's category name; NotifyLevel ``hms`` "1"/"2" becomes the notification's LOW/NORMAL
importance.

Recall: Push Kit for Android has no revoke call (``messages:revoke`` is HarmonyOS's), but a
notification with the same ``notify_id`` replaces the one shown. Every notification carries a
``notify_id`` derived from the delivery, and a recall sends a replacement under it saying the
message was revoked (the channel's ``recall_title``/``recall_body``), as mPaaS overwrites
Huawei messages. Data messages have nothing shown to replace and cannot be recalled.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tidings.channels.extensions import (
    custom_data,
    data_message,
    notify_id,
    ttl_seconds,
    vendor_field,
    wants_data_message,
    whole_number,
)
from tidings.channels.http import ClientCredentialsJson, HttpSender, retry_after
from tidings.channels.overwrite import RECALL_TEXT, replacement_text
from tidings.channels.receipt_formats import (
    Event,
    Receipt,
    ReceiptFormat,
    ReceiptMalformed,
    ReceiptRefused,
    hmac_sha256_b64,
    same,
)
from tidings.channels.vendor_channel import ANDROID_DEVICES, Transparent, Vendor
from tidings.channels.vendor_config import (
    COMMON,
    OAUTH,
    ChannelConfig,
    ConfigSchema,
    Key,
    hosts,
    text,
)
from tidings.channels.verdicts import ACCEPTED, Failure, Verdict, vendor_status
from tidings.contract import Outbound

NAME = "hms"
BLOCK = 2200  # its status codes: BLOCK + a verdicts.Failure

MAX_TTL = 15 * 24 * 3600
CATEGORIES = {
    "1": "IM", "2": "VOIP", "3": "SUBSCRIPTION", "4": "TRAVEL", "5": "HEALTH", "6": "WORK",
    "7": "ACCOUNT", "8": "EXPRESS", "9": "FINANCE", "10": "DEVICE_REMINDER",
    "11": "SYSTEM_REMINDER", "12": "MAIL", "13": "PLAY_VOICE", "14": "MARKETING",
}  # fmt: skip
IMPORTANCE = {"1": "LOW", "2": "NORMAL"}

SUCCESS = "80000000"
_FAILURES = {
    "80100000": Failure.DEAD_TOKEN,  # partial success: our one token was the illegal one
    "80300007": Failure.DEAD_TOKEN,
    "80200001": Failure.AUTH,
    "80200003": Failure.AUTH,
    "80300002": Failure.AUTH,
    "80300008": Failure.TOO_LARGE,
    "81000001": Failure.VENDOR_ERROR,
}
_REAUTH = frozenset({"80200001", "80200003"})


def click_action(out: Outbound) -> dict[str, Any]:
    """Open the app, or the URI: as a web page (PushAction 0) or as an intent (1)."""
    uri = out.payload.uri
    if not uri:
        return {"type": 3}
    if out.options.push_action == 1:
        return {"type": 1, "intent": uri}
    return {"type": 2, "url": uri}


def receipt_tag(out: Outbound) -> str:
    """The ``biTag`` Huawei echoes in its receipts: the delivery it was for."""
    return f"d{out.id}"


def delivery_of_tag(tag: Any) -> int | None:
    """The delivery a receipt's ``biTag`` names, or None when it names none."""
    if isinstance(tag, str) and tag.startswith("d") and tag[1:].isdigit():
        return int(tag[1:])
    return None


def message(out: Outbound, now: float) -> dict[str, Any]:
    options = out.options
    android: dict[str, Any] = {
        "ttl": f"{ttl_seconds(out, now, maximum=MAX_TTL)}s",
        "bi_tag": receipt_tag(out),
    }
    category = CATEGORIES.get(vendor_field(options.third_channel_category, NAME) or "")
    if category:
        android["category"] = category
    body: dict[str, Any] = {"token": [out.device.third_token], "android": android}
    if wants_data_message(out):
        body["data"] = json.dumps(data_message(out, NAME), ensure_ascii=False)
        android["urgency"] = options.transparent_urgency or "NORMAL"
        return {"validate_only": False, "message": body}
    extended = out.payload.extended_params
    notification: dict[str, Any] = {
        "title": out.payload.title,
        "body": out.payload.content,
        "click_action": click_action(out),
        "notify_id": notify_id(out),  # what a recall's replacement names
    }
    if options.channel_id:
        notification["channel_id"] = options.channel_id
    importance = IMPORTANCE.get(vendor_field(options.notify_level, NAME) or "")
    if importance:
        notification["importance"] = importance
    badge_add = whole_number(extended.get("badge_add_num"))
    if badge_add is not None and extended.get("badge_class"):
        notification["badge"] = {"add_num": badge_add, "class": extended["badge_class"]}
    if extended.get("big_text") == "1":
        notification.update(style=1, big_title=out.payload.title, big_body=out.payload.content)
    android["notification"] = notification
    body["data"] = json.dumps(custom_data(out), ensure_ascii=False)
    return {"validate_only": False, "message": body}


def replacement(out: Outbound, config: ChannelConfig, now: float) -> dict[str, Any]:
    """The notification that overwrites a delivered one (same ``notify_id``): the channel's
    revoked text, opening the app, with the delivery's receipt tag."""
    title, text_body = replacement_text(out, config, "HMS")
    notification = {
        "title": title,
        "body": text_body,
        "click_action": {"type": 3},
        "notify_id": notify_id(out),
    }
    if out.options.channel_id:
        notification["channel_id"] = out.options.channel_id
    android = {
        "ttl": f"{ttl_seconds(out, now, maximum=MAX_TTL)}s",
        "bi_tag": receipt_tag(out),
        "notification": notification,
    }
    body = {"token": [out.device.third_token], "android": android}
    return {"validate_only": False, "message": body}


def read_answer(status: int, headers: httpx.Headers, body: bytes, block: int = BLOCK) -> Verdict:
    """Huawei's answer (``code``, ``msg``), which Push Kit for HarmonyOS shares: its block
    takes the status codes."""
    try:
        answer = json.loads(body)
        code, reason = str(answer.get("code", "")), str(answer.get("msg", ""))
    except (ValueError, AttributeError):
        code, reason = "", ""
    reason = f"{code or status} {reason}".strip()
    if status == 200 and code == SUCCESS:
        return ACCEPTED
    if status == 401 or code in _REAUTH:
        return Verdict(vendor_status(block, Failure.AUTH), reason, reauth=True)
    transient = status in (429, 502, 503) or status >= 500 or code == "81000001"
    failure = _FAILURES.get(code, Failure.VENDOR_ERROR if transient else Failure.INVALID)
    if status == 503:
        failure = Failure.THROTTLED  # Huawei's flow control
    return Verdict(
        vendor_status(block, failure),
        reason,
        retry=transient,
        retry_after=retry_after(headers) if transient else None,
        dead_token=failure == Failure.DEAD_TOKEN,
    )


class HmsProtocol(ClientCredentialsJson):
    block = BLOCK

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config, f"{config['base_url']}/v1/{config['app_id']}/messages:send")

    def body(self, out: Outbound, now: float) -> dict[str, Any]:
        return message(out, now)

    def replacement(self, out: Outbound, now: float) -> dict[str, Any]:
        return replacement(out, self._config, now)

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict:
        return read_answer(status, headers, body)


def make_sender(config: ChannelConfig) -> HttpSender:
    return HttpSender(HmsProtocol(config), config["concurrency"])


# Huawei's receipts (HMS and Push Kit for HarmonyOS alike) are signed with the callback user
# name and key set in AppGallery Connect's receipt configuration; the channel keeps both.
RECEIPT_KEYS = (
    Key("receipt_username", text, required=False),
    Key("receipt_secret", text, required=False, secret=True),
)
RECEIPT_WINDOW = 600  # seconds a signed receipt's timestamp may be off


def check_signature(config: ChannelConfig, headers: Any, now: float) -> None:
    """Huawei's ``X-HUAWEI-CALLBACK-ID``: ``timestamp=..;nonce=..;value=..`` where value is
    base64(HMAC-SHA256(key, timestamp + nonce + user name))."""
    username = config.values.get("receipt_username")
    secret = config.values.get("receipt_secret")
    if not username or not secret:
        raise ReceiptRefused(
            f"the {config.channel} channel takes receipts once receipt_username and "
            "receipt_secret are configured"
        )
    fields = dict(
        part.strip().split("=", 1)
        for part in (headers.get("x-huawei-callback-id") or "").split(";")
        if "=" in part
    )
    stamp, nonce, value = (fields.get(k, "") for k in ("timestamp", "nonce", "value"))
    if not (stamp.isdigit() and nonce and value):
        raise ReceiptRefused("X-HUAWEI-CALLBACK-ID is missing or incomplete")
    seconds = int(stamp) / 1000 if len(stamp) > 11 else int(stamp)
    if abs(now - seconds) > RECEIPT_WINDOW:
        raise ReceiptRefused("X-HUAWEI-CALLBACK-ID's timestamp is too old or in the future")
    if not same(value, hmac_sha256_b64(secret, stamp + nonce + username)):
        raise ReceiptRefused("X-HUAWEI-CALLBACK-ID's signature does not match")


def statuses(body: bytes) -> list[tuple[Any, Any]]:
    """Huawei's receipt body (Honor's too): ``statuses``, each with the ``biTag`` sent and
    either ``status`` (HMS and Honor, receipt v1) or ``deliveryStatus.result`` (HarmonyOS,
    receipt v2); (the tag, the code) of each, 0 meaning the device has the message."""
    try:
        found = json.loads(body)["statuses"]
        if not isinstance(found, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ReceiptMalformed("a Huawei receipt is a JSON object with a statuses array") from None
    pairs = []
    for item in found:
        if not isinstance(item, dict):
            raise ReceiptMalformed("each of statuses must be an object")
        delivered = item.get("deliveryStatus")
        code = delivered.get("result") if isinstance(delivered, dict) else item.get("status")
        pairs.append((item.get("biTag"), code))
    return pairs


def read_statuses(body: bytes) -> list[Receipt]:
    """The receipts of Tidings' own deliveries among Huawei's statuses."""
    receipts = []
    for tag, code in statuses(body):
        delivery_id = delivery_of_tag(tag)
        if delivery_id is None:
            continue  # a message Tidings did not send
        event = Event.ARRIVED if code == 0 else Event.FAILED
        receipts.append(Receipt(delivery_id, event, f"receipt status {code}"))
    return receipts


def read_receipts(config: ChannelConfig, headers: Any, body: bytes) -> list[Receipt]:
    check_signature(config, headers, time.time())
    return read_statuses(body)


RECEIPTS = ReceiptFormat(read_receipts, {"errno": "0", "errmsg": "success"})

CONFIG = ConfigSchema(
    (*OAUTH, *RECEIPT_KEYS, *RECALL_TEXT, *COMMON),
    hosts(
        "https://push-api.cloud.huawei.com",
        "https://oauth-login.cloud.huawei.com/oauth2/v3/token",
    ),
    concurrency=50,
)

VENDOR = Vendor(
    name=NAME,
    third_channel=3,
    manufacturer="hms",
    analytics_channel="HMS",
    platform="android",
    token_platforms=ANDROID_DEVICES,
    transparent=Transparent.DATA_MESSAGE,
    config=CONFIG,
    senders=lambda: make_sender,
    status_block=BLOCK,
    receipts=RECEIPTS,
    recalls=True,
)
