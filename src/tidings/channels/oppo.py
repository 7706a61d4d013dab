"""OPPO Push (OPush): an auth token from a sha256-signed request, then form posts whose
``message`` is JSON.

ThirdChannelCategory ``oppo`` is OPPO's ``category`` (IM, ACCOUNT, ..., MARKETING) and NotifyLevel
``oppo`` its ``notify_level`` (1 drawer, 2 drawer and lock screen, 16 also banner, ring and
vibration). ``app_message_id`` is derived from the delivery, so OPPO drops a repeated send.

Receipts: each message names ``call_back_url`` (the app's ``receipt_url``) and carries the
delivery's signed tag as ``call_back_parameter``; OPPO posts a JSON array of events, each with the
``param`` echoed and its ``eventType`` (``push_arrive``: the device has it; others say why not).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from tidings.channels.extensions import custom_data, delivery_uuid, ttl_seconds, vendor_field
from tidings.channels.http import AuthFailed, HttpSender, retry_after, token_answer
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

NAME = "oppo"
BLOCK = 2500  # its status codes: BLOCK + a verdicts.Failure

MAX_TTL = 10 * 24 * 3600
TOKEN_LIFETIME = 24 * 3600.0
INVALID_REGISTRATION = 10000
_REAUTH = frozenset({11})  # auth_token invalid or expired
ARRIVED = "push_arrive"


def sign(app_key: str, timestamp: str, master_secret: str) -> str:
    return hashlib.sha256((app_key + timestamp + master_secret).encode()).hexdigest()


def message(out: Outbound, config: ChannelConfig, now: float) -> dict[str, Any]:
    options = out.options
    notification: dict[str, Any] = {
        "title": out.payload.title,
        "content": out.payload.content,
        "app_message_id": delivery_uuid(out).replace("-", ""),
        "off_line": True,
        "off_line_ttl": ttl_seconds(out, now, maximum=MAX_TTL),
        "action_parameters": json.dumps(custom_data(out), ensure_ascii=False),
    }
    if out.payload.uri and options.push_action == 1:
        notification.update(click_action_type=5, click_action_url=out.payload.uri)
    elif out.payload.uri:
        notification.update(click_action_type=2, click_action_url=out.payload.uri)
    else:
        notification["click_action_type"] = 0
    if options.channel_id:
        notification["channel_id"] = options.channel_id
    category = vendor_field(options.third_channel_category, NAME)
    if category:
        notification["category"] = category
    level = vendor_field(options.notify_level, NAME)
    if level and level.isdigit():
        notification["notify_level"] = int(level)
    elif options.silent == 1:
        notification["notify_level"] = 1  # OPPO has no data messages: drawer only, no alert
    if out.payload.extended_params.get("big_text") == "1":
        notification["style"] = 2
    callback, tag = receipt_url(config), receipt_tag(config, out.id)
    if callback and tag:
        notification.update(call_back_url=callback, call_back_parameter=tag)
    return {"target_type": 2, "target_value": out.device.third_token, "notification": notification}


def read_answer(status: int, headers: httpx.Headers, body: bytes) -> Verdict:
    code, reason = coded_answer(body, "code", "message", status)
    if status >= 500 or status == 429:
        return unavailable(BLOCK, reason, retry_after(headers))
    if status == 200 and code == 0:
        return ACCEPTED
    if code in _REAUTH:
        return Verdict(vendor_status(BLOCK, Failure.AUTH), reason, reauth=True)
    if code == INVALID_REGISTRATION:
        return Verdict(vendor_status(BLOCK, Failure.DEAD_TOKEN), reason, dead_token=True)
    return Verdict(vendor_status(BLOCK, Failure.INVALID), reason)


class OppoProtocol:
    block = BLOCK
    needs_token = True

    def __init__(self, config: ChannelConfig) -> None:
        self._config = config
        self._base = config["base_url"]

    async def fetch_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        timestamp = str(int(time.time() * 1000))
        key, secret = self._config["app_key"], self._config["master_secret"]
        form = {"app_key": key, "timestamp": timestamp, "sign": sign(key, timestamp, secret)}
        body = token_answer(BLOCK, await client.post(f"{self._base}/server/v1/auth", data=form))
        token = (body.get("data") or {}).get("auth_token")
        if body.get("code") != 0 or not token:
            raise AuthFailed(
                Verdict(vendor_status(BLOCK, Failure.AUTH), f"auth refused: {body.get('message')}")
            )
        return token, TOKEN_LIFETIME

    def request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{self._base}/server/v1/message/notification/unicast",
            data={
                "auth_token": token or "",
                "message": json.dumps(message(out, self._config, now), ensure_ascii=False),
            },
        )

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict:
        return read_answer(status, headers, body)


def make_sender(config: ChannelConfig) -> HttpSender:
    return HttpSender(OppoProtocol(config), config["concurrency"])


def read_receipts(config: ChannelConfig, headers: Mapping[str, str], body: bytes) -> list[Receipt]:
    """An OPPO receipt callback: a JSON array of events with ``param`` and ``eventType``."""
    takes_receipts(config)
    try:
        events = json.loads(body)
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise TypeError
    except (ValueError, TypeError):
        raise ReceiptMalformed(
            "an OPPO receipt is a JSON array of events with param and eventType"
        ) from None
    return [
        Receipt(
            delivery_of_tag(config, event.get("param")),
            Event.ARRIVED if event.get("eventType") == ARRIVED else Event.FAILED,
            f"{event.get('eventType')} of message {event.get('messageId')}",
        )
        for event in events
    ]


RECEIPTS = ReceiptFormat(read_receipts, {"code": 0, "message": "success"})

CONFIG = ConfigSchema(
    (Key("app_key", text), Key("master_secret", text, secret=True), *SIGNED_RECEIPT_KEYS, *COMMON),
    hosts("https://api.push.oppomobile.com"),
    concurrency=50,
)

VENDOR = Vendor(
    name=NAME,
    third_channel=6,
    manufacturer="oppo",
    analytics_channel="OPPO",
    platform="android",
    token_platforms=ANDROID_DEVICES,
    transparent=Transparent.NONE,
    config=CONFIG,
    senders=lambda: make_sender,
    status_block=BLOCK,
    receipts=RECEIPTS,
)
