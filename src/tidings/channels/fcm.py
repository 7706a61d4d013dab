"""Firebase Cloud Messaging, HTTP v1, authorised by a service account.

The service account signs an RS256 JWT that Google's token endpoint exchanges for an access token
(the OAuth 2.0 JWT bearer grant); the token is shared until shortly before its hour runs out.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt

from tidings.channels.config import ChannelConfig
from tidings.channels.extensions import (
    custom_data,
    data_message,
    ttl_seconds,
    wants_data_message,
)
from tidings.channels.http import HttpSender, jwt_bearer, retry_after
from tidings.channels.vendors import FCM
from tidings.channels.verdicts import ACCEPTED, Failure, Verdict, vendor_status
from tidings.contract import Outbound

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
MAX_TTL = 28 * 24 * 3600

_FAILURES = {
    "UNREGISTERED": Failure.DEAD_TOKEN,
    "INVALID_ARGUMENT": Failure.INVALID,
    "SENDER_ID_MISMATCH": Failure.AUTH,
    "THIRD_PARTY_AUTH_ERROR": Failure.AUTH,
    "QUOTA_EXCEEDED": Failure.THROTTLED,
    "UNAVAILABLE": Failure.VENDOR_ERROR,
    "INTERNAL": Failure.VENDOR_ERROR,
}


def message(out: Outbound, now: float) -> dict[str, Any]:
    """The ``message`` of a send request."""
    android: dict[str, Any] = {"ttl": f"{ttl_seconds(out, now, maximum=MAX_TTL)}s"}
    body: dict[str, Any] = {"token": out.device.third_token, "android": android}
    if wants_data_message(out):
        body["data"] = data_message(out, FCM)
        android["priority"] = out.options.transparent_urgency or "NORMAL"
        return body
    body["data"] = custom_data(out)
    body["notification"] = {"title": out.payload.title, "body": out.payload.content}
    android["priority"] = "HIGH"
    notification: dict[str, Any] = {}
    if out.options.channel_id:
        notification["channel_id"] = out.options.channel_id
    if "sound" in out.payload.extended_params:
        notification["sound"] = out.payload.extended_params["sound"]
    if notification:
        android["notification"] = notification
    return body


def read_answer(status: int, headers: httpx.Headers, body: bytes) -> Verdict:
    if status == 200:
        return ACCEPTED
    try:
        error = json.loads(body).get("error", {})
    except (ValueError, AttributeError):
        error = {}
    code = next(
        (d.get("errorCode") for d in error.get("details", []) if "errorCode" in d),
        error.get("status"),
    )
    reason = f"{code or status}: {error.get('message', '')}".strip()
    if status == 401 or code == "UNAUTHENTICATED":
        return Verdict(vendor_status(FCM, Failure.AUTH), reason, reauth=True)
    failure = _FAILURES.get(code or "", Failure.INVALID if status < 500 else Failure.VENDOR_ERROR)
    transient = status == 429 or status >= 500
    return Verdict(
        vendor_status(FCM, failure),
        reason,
        retry=transient,
        retry_after=retry_after(headers) if transient else None,
        dead_token=failure == Failure.DEAD_TOKEN,
    )


class FcmProtocol:
    vendor = FCM
    needs_token = True

    def __init__(self, config: ChannelConfig, clock=time.time) -> None:
        self._account = config["service_account"]
        self._auth_url = config["auth_url"]
        self._send_url = (
            f"{config['base_url']}/v1/projects/{self._account['project_id']}/messages:send"
        )
        self._clock = clock

    def assertion(self) -> str:
        now = int(self._clock())
        claims = {
            "iss": self._account["client_email"],
            "scope": SCOPE,
            "aud": self._auth_url,
            "iat": now,
            "exp": now + 3600,
        }
        headers = (
            {"kid": self._account["private_key_id"]} if "private_key_id" in self._account else None
        )
        return jwt.encode(claims, self._account["private_key"], algorithm="RS256", headers=headers)

    async def fetch_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        return await jwt_bearer(FCM, client, self._auth_url, self.assertion())

    def request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._send_url,
            headers={"authorization": f"Bearer {token}"},
            json={"message": message(out, now)},
        )

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict:
        return read_answer(status, headers, body)


def make_sender(config: ChannelConfig) -> HttpSender:
    return HttpSender(FcmProtocol(config), config["concurrency"], http2=True)
