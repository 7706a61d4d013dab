"""The generic SMS provider: a signed HTTPS POST to the app's own endpoint, which sends the SMS.

The body is JSON: ``{"id", "phoneNumber", "signName", "templateCode", "templateParam"}``; ``id``
is the same for every attempt at one SMS, so the receiver can drop a repeat. Headers:
``X-Tidings-Timestamp`` (Unix seconds) and ``X-Tidings-Signature``: ``v1=`` and the hex
HMAC-SHA256, under the configured secret, of ``<timestamp>.<body bytes>``. A 2xx answer is a sent
SMS (its body, up to 200 characters, kept as the provider's id); anything else, or no answer
within the timeout, a failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from tidings.channels.sms import Sms, SmsResult
from tidings.channels.vendor_config import ChannelConfig

KEPT = 200


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def body_of(sms: Sms) -> bytes:
    return json.dumps(
        {
            "id": sms.out_id,
            "phoneNumber": sms.phone,
            "signName": sms.sign_name,
            "templateCode": sms.template_code,
            "templateParam": sms.template_param or {},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


async def send(client: httpx.AsyncClient, config: ChannelConfig, sms: Sms) -> SmsResult:
    body = body_of(sms)
    timestamp = str(int(time.time()))
    headers = {
        "content-type": "application/json",
        "x-tidings-timestamp": timestamp,
        "x-tidings-signature": signature(config["secret"], timestamp, body),
    }
    try:
        answer = await client.post(config["url"], content=body, headers=headers)
    except httpx.HTTPError as exc:
        return SmsResult(False, f"webhook: no answer ({type(exc).__name__})")
    if not answer.is_success:
        return SmsResult(False, f"webhook: HTTP {answer.status_code} {answer.text[:KEPT]}")
    return SmsResult(True, f"webhook: {answer.text[:KEPT] or answer.status_code}")
