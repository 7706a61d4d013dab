"""Honor Push, with an OAuth 2.0 client-credentials access token.

Honor sorts notifications by importance (NORMAL: service and communication; LOW: marketing and
information). Both ThirdChannelCategory ``honor`` and NotifyLevel ``honor`` set it, as
``NORMAL``/``LOW`` or in mPaaS's level numbering ("1" LOW, "2" NORMAL); the category wins when
both are given. Honor's send API has no notification-channel field, so ChannelId does not apply.

Recall by overwriting, as for HMS (Honor's send API is Push Kit's): every notification carries a
``notifyId`` derived from the delivery, and a recall sends a replacement under it with the
channel's revoked text (channels/overwrite.py). Data messages cannot be recalled.

Receipts: the receipt URL is set in Honor's developer console, which names it by a receipt id
(``receipt_id``, sent as ``android.receiptId``); each message carries the delivery's signed tag as
``android.biTag``, and Honor posts ``{"statuses": [...]}`` as Huawei does, each status with the
``biTag`` echoed and ``status`` 0 when the device has the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
from tidings.channels.hms import click_action, statuses
from tidings.channels.http import ClientCredentialsJson, HttpSender, retry_after
from tidings.channels.overwrite import RECALL_TEXT, replacement_text
from tidings.channels.receipt_formats import (
    RECEIPT_SECRET,
    Event,
    Receipt,
    ReceiptFormat,
    delivery_of_tag,
    receipt_tag,
    takes_receipts,
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

NAME = "honor"
BLOCK = 2300  # its status codes: BLOCK + a verdicts.Failure

MAX_TTL = 15 * 24 * 3600
IMPORTANCE = {"1": "LOW", "2": "NORMAL", "LOW": "LOW", "NORMAL": "NORMAL"}
SUCCESS = frozenset({200, 80000000})
_REAUTH = frozenset({401, 80200001, 80200003})


def importance(out: Outbound) -> str | None:
    options = out.options
    for given in (options.third_channel_category, options.notify_level):
        value = IMPORTANCE.get((vendor_field(given, NAME) or "").upper())
        if value:
            return value
    return None


def _android(out: Outbound, config: ChannelConfig, now: float) -> dict[str, Any]:
    """What every message to the device carries: its TTL and, with receipts, its tag."""
    android: dict[str, Any] = {"ttl": f"{ttl_seconds(out, now, maximum=MAX_TTL)}s"}
    tag = receipt_tag(config, out.id)
    if tag:
        android["biTag"] = tag
        if config.values.get("receipt_id"):
            android["receiptId"] = config["receipt_id"]
    return android


def message(out: Outbound, config: ChannelConfig, now: float) -> dict[str, Any]:
    android = _android(out, config, now)
    body: dict[str, Any] = {"token": [out.device.third_token], "android": android}
    if wants_data_message(out):
        body["data"] = json.dumps(data_message(out, NAME), ensure_ascii=False)
        return body
    extended = out.payload.extended_params
    action = click_action(out)
    notification: dict[str, Any] = {
        "title": out.payload.title,
        "body": out.payload.content,
        "clickAction": action,
        "notifyId": notify_id(out),  # what a recall's replacement names
    }
    level = importance(out)
    if level:
        notification["importance"] = level
    badge_add = whole_number(extended.get("badge_add_num"))
    if badge_add is not None and extended.get("badge_class"):
        notification["badge"] = {"addNum": badge_add, "badgeClass": extended["badge_class"]}
    if extended.get("big_text") == "1":
        notification.update(style=1, bigTitle=out.payload.title, bigBody=out.payload.content)
    android["notification"] = notification
    body["data"] = json.dumps(custom_data(out), ensure_ascii=False)
    return body


def replacement(out: Outbound, config: ChannelConfig, now: float) -> dict[str, Any]:
    """The notification that overwrites a delivered one (same ``notifyId``): the channel's
    revoked text, opening the app."""
    title, text_body = replacement_text(out, config, "Honor")
    android = _android(out, config, now)
    android["notification"] = {
        "title": title,
        "body": text_body,
        "clickAction": {"type": 3},
        "notifyId": notify_id(out),
    }
    return {"token": [out.device.third_token], "android": android}


def read_answer(status: int, headers: httpx.Headers, body: bytes, token: str) -> Verdict:
    try:
        answer = json.loads(body)
        code = int(answer.get("code", 0))
        data = answer.get("data") or {}
        reason = f"{code} {answer.get('message', '')}".strip()
    except (ValueError, AttributeError, TypeError):
        code, data, reason = 0, {}, f"HTTP {status}"
    if status == 401 or code in _REAUTH:
        return Verdict(vendor_status(BLOCK, Failure.AUTH), reason, reauth=True)
    if status >= 500 or status == 429:
        failure = Failure.THROTTLED if status in (429, 503) else Failure.VENDOR_ERROR
        return Verdict(
            vendor_status(BLOCK, failure), reason, retry=True, retry_after=retry_after(headers)
        )
    if token in (data.get("expireTokens") or []):
        return Verdict(vendor_status(BLOCK, Failure.DEAD_TOKEN), reason, dead_token=True)
    if status == 200 and code in SUCCESS and token not in (data.get("failTokens") or []):
        return ACCEPTED
    return Verdict(vendor_status(BLOCK, Failure.INVALID), reason)


class HonorProtocol(ClientCredentialsJson):
    block = BLOCK

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config, f"{config['base_url']}/api/v1/{config['app_id']}/sendMessage")

    def headers(self, token: str | None, now: float) -> dict[str, str]:
        return {**super().headers(token, now), "timestamp": str(int(now * 1000))}

    def body(self, out: Outbound, now: float) -> dict[str, Any]:
        return message(out, self._config, now)

    def replacement(self, out: Outbound, now: float) -> dict[str, Any]:
        return replacement(out, self._config, now)

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict:
        return read_answer(status, headers, body, out.device.third_token or "")


def make_sender(config: ChannelConfig) -> HttpSender:
    return HttpSender(HonorProtocol(config), config["concurrency"])


def read_receipts(config: ChannelConfig, headers: Mapping[str, str], body: bytes) -> list[Receipt]:
    """Honor's receipt: Huawei's ``statuses``, each naming its delivery by the signed biTag."""
    takes_receipts(config)
    return [
        Receipt(delivery_of_tag(config, tag), Event.ARRIVED if code == 0 else Event.FAILED,
                f"receipt status {code}")
        for tag, code in statuses(body)
    ]  # fmt: skip


RECEIPTS = ReceiptFormat(read_receipts, {"errno": "0", "errmsg": "success"})

CONFIG = ConfigSchema(
    (*OAUTH, RECEIPT_SECRET, Key("receipt_id", text, required=False), *RECALL_TEXT, *COMMON),
    hosts(
        "https://push-api.cloud.hihonor.com",
        "https://iam.developer.hihonor.com/auth/realms/developer/protocol/openid-connect/token",
    ),
    concurrency=50,
)

VENDOR = Vendor(
    name=NAME,
    third_channel=4,
    manufacturer="honor",
    analytics_channel="HONOR",
    platform="android",
    token_platforms=ANDROID_DEVICES,
    transparent=Transparent.DATA_MESSAGE,
    config=CONFIG,
    senders=lambda: make_sender,
    status_block=BLOCK,
    receipts=RECEIPTS,
    recalls=True,
)
