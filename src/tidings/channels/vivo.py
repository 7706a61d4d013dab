"""vivo Push: an auth token from an md5-signed request, then JSON sends with a unique requestId.

Classification ("0" operational, "1" system; MPS's default is 1) is vivo's ``classification``, and
ThirdChannelCategory ``vivo`` its second-level ``category`` (IM, ACCOUNT, ..., MARKETING).
``requestId`` is derived from the delivery, so a retried send is one vivo can recognise and drop.
vivo's send API has no notification-channel field, so ChannelId does not apply.

Receipts: a single push names ``extra.callback`` (the receipt id the vivo console gave the
receipt URL, ``receipt_id``, or else the app's ``receipt_url`` itself, as older vivo versions
take) and carries the delivery's signed tag as ``extra.callback.param``; vivo posts JSON keyed by
its task id, each entry with the ``param`` echoed and the ``targets`` it reached: arrivals.
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
from tidings.channels.vendor_config import (
    COMMON,
    ChannelConfig,
    ConfigSchema,
    Key,
    hosts,
    pattern,
    text,
)
from tidings.channels.verdicts import (
    ACCEPTED,
    Failure,
    Verdict,
    coded_answer,
    unavailable,
    vendor_status,
)
from tidings.contract import Outbound

NAME = "vivo"
BLOCK = 2600  # its status codes: BLOCK + a verdicts.Failure

MAX_TTL = 7 * 24 * 3600
MIN_TTL = 60
MAX_CUSTOM_KEYS = 10
TOKEN_LIFETIME = 24 * 3600.0
_FAILURES = {
    10302: Failure.DEAD_TOKEN,
    10070: Failure.QUOTA,
    10250: Failure.THROTTLED,
    10200: Failure.AUTH,
    10206: Failure.AUTH,
    10207: Failure.AUTH,
    10094: Failure.AUTH,
}
_REAUTH = frozenset({10050, 10051})  # authToken invalid or expired


def sign(app_id: str, app_key: str, timestamp: str, app_secret: str) -> str:
    return hashlib.md5((app_id + app_key + timestamp + app_secret).strip().encode()).hexdigest()


def callback(out: Outbound, config: ChannelConfig) -> dict[str, str] | None:
    """The ``extra`` asking for a receipt, when the app's channel takes them."""
    tag = receipt_tag(config, out.id)
    target = config.values.get("receipt_id") or receipt_url(config)
    if not (tag and target):
        return None
    return {"callback": target, "callback.param": tag}


def message(out: Outbound, config: ChannelConfig, now: float) -> dict[str, Any]:
    options = out.options
    custom = dict(list(custom_data(out).items())[:MAX_CUSTOM_KEYS])
    body: dict[str, Any] = {
        "appId": int(config["app_id"]),
        "regId": out.device.third_token,
        "notifyType": 1 if options.silent == 1 else 4,
        "title": out.payload.title,
        "content": out.payload.content,
        "timeToLive": ttl_seconds(out, now, maximum=MAX_TTL, minimum=MIN_TTL),
        "classification": int(options.classification or "1"),
        "clientCustomMap": custom,
        "requestId": delivery_uuid(out).replace("-", ""),
        "pushMode": 0,
    }
    if out.payload.uri and options.push_action == 1:
        body.update(skipType=4, skipContent=out.payload.uri)
    elif out.payload.uri:
        body.update(skipType=2, skipContent=out.payload.uri)
    else:
        body["skipType"] = 1
    category = vendor_field(options.third_channel_category, NAME)
    if category:
        body["category"] = category
    extra = callback(out, config)
    if extra:
        body["extra"] = extra
    return body


def read_answer(status: int, headers: httpx.Headers, body: bytes) -> Verdict:
    code, reason = coded_answer(body, "result", "desc", status)
    if status >= 500 or status == 429:
        return unavailable(BLOCK, reason, retry_after(headers))
    if status == 200 and code == 0:
        return ACCEPTED
    if code in _REAUTH:
        return Verdict(vendor_status(BLOCK, Failure.AUTH), reason, reauth=True)
    failure = _FAILURES.get(code, Failure.INVALID)
    return Verdict(
        vendor_status(BLOCK, failure),
        reason,
        retry=failure == Failure.THROTTLED,
        dead_token=failure == Failure.DEAD_TOKEN,
    )


class VivoProtocol:
    block = BLOCK
    needs_token = True

    def __init__(self, config: ChannelConfig) -> None:
        self._config = config
        self._base = config["base_url"]

    async def fetch_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        config = self._config
        timestamp = str(int(time.time() * 1000))
        body = {
            "appId": int(config["app_id"]),
            "appKey": config["app_key"],
            "timestamp": int(timestamp),
            "sign": sign(config["app_id"], config["app_key"], timestamp, config["app_secret"]),
        }
        answer = token_answer(BLOCK, await client.post(f"{self._base}/message/auth", json=body))
        token = answer.get("authToken")
        if answer.get("result") != 0 or not token:
            code = answer.get("result")
            failure = _FAILURES.get(code, Failure.AUTH) if isinstance(code, int) else Failure.AUTH
            raise AuthFailed(
                Verdict(
                    vendor_status(BLOCK, failure),
                    f"auth refused: {code} {answer.get('desc')}",
                    retry=failure == Failure.THROTTLED,
                )
            )
        return token, TOKEN_LIFETIME

    def request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{self._base}/message/send",
            headers={"authToken": token or ""},
            json=message(out, self._config, now),
        )

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict:
        return read_answer(status, headers, body)


def make_sender(config: ChannelConfig) -> HttpSender:
    return HttpSender(VivoProtocol(config), config["concurrency"])


def read_receipts(config: ChannelConfig, headers: Mapping[str, str], body: bytes) -> list[Receipt]:
    """A vivo receipt callback: JSON of task id -> {param, targets}, each an arrival."""
    takes_receipts(config)
    try:
        entries = json.loads(body)
        if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
            raise TypeError
    except (ValueError, TypeError):
        raise ReceiptMalformed(
            "a vivo receipt is a JSON object of task id -> {param, targets}"
        ) from None
    return [
        Receipt(delivery_of_tag(config, entry.get("param")), Event.ARRIVED, f"task {task_id}")
        for task_id, entry in entries.items()
    ]


RECEIPTS = ReceiptFormat(read_receipts, {"result": 0, "desc": "success"})

CONFIG = ConfigSchema(
    (
        Key("app_id", pattern(r"[0-9]{1,18}", "the numeric vivo app id")),
        Key("app_key", text),
        Key("app_secret", text, secret=True),
        *SIGNED_RECEIPT_KEYS,
        Key("receipt_id", text, required=False),  # the vivo console's id of the receipt URL
        *COMMON,
    ),
    hosts("https://api-push.vivo.com.cn"),
    concurrency=20,
)

VENDOR = Vendor(
    name=NAME,
    third_channel=7,
    manufacturer="vivo",
    analytics_channel="VIVO",
    platform="android",
    token_platforms=ANDROID_DEVICES,
    transparent=Transparent.NONE,
    config=CONFIG,
    senders=lambda: make_sender,
    status_block=BLOCK,
    receipts=RECEIPTS,
)
