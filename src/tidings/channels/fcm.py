"""Firebase Cloud Messaging, HTTP v1, authorised by a service account.

The service account signs an RS256 JWT that Google's token endpoint exchanges for an access token
(the OAuth 2.0 JWT bearer grant); the token is shared until shortly before its hour runs out.

Recall: FCM has no revoke call, but a notification with the same ``android.notification.tag``
replaces the one shown. Every notification carries a tag per delivery, and a recall sends a
replacement under it with the channel's revoked text (``recall_title``/``recall_body``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from tidings.channels.extensions import (
    custom_data,
    data_message,
    ttl_seconds,
    wants_data_message,
)
from tidings.channels.http import HttpSender, jwt_bearer, retry_after
from tidings.channels.overwrite import RECALL_TEXT, replacement_text
from tidings.channels.vendor_channel import ANDROID_DEVICES, Transparent, Vendor
from tidings.channels.vendor_config import (
    COMMON,
    ChannelConfig,
    ChannelConfigError,
    ConfigSchema,
    Key,
    private_key,
    text,
    url,
)
from tidings.channels.verdicts import ACCEPTED, Failure, Verdict, vendor_status
from tidings.contract import Outbound

NAME = "fcm"
BLOCK = 2100  # its status codes: BLOCK + a verdicts.Failure

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
        body["data"] = data_message(out, NAME)
        android["priority"] = out.options.transparent_urgency or "NORMAL"
        return body
    body["data"] = custom_data(out)
    body["notification"] = {"title": out.payload.title, "body": out.payload.content}
    android["priority"] = "HIGH"
    notification: dict[str, Any] = {"tag": tag(out)}
    if out.options.channel_id:
        notification["channel_id"] = out.options.channel_id
    if "sound" in out.payload.extended_params:
        notification["sound"] = out.payload.extended_params["sound"]
    android["notification"] = notification
    return body


def tag(out: Outbound) -> str:
    """The notification's tag on the device, one per delivery: a recall's replacement names it."""
    return f"d{out.id}"


def replacement(out: Outbound, config: ChannelConfig, now: float) -> dict[str, Any]:
    """The ``message`` that overwrites a delivered notification (same tag) with the channel's
    revoked text; a data message shows nothing to replace."""
    title, text_body = replacement_text(out, config, "FCM")
    android: dict[str, Any] = {
        "ttl": f"{ttl_seconds(out, now, maximum=MAX_TTL)}s",
        "priority": "HIGH",
        "notification": {"tag": tag(out)},
    }
    if out.options.channel_id:
        android["notification"]["channel_id"] = out.options.channel_id
    return {
        "token": out.device.third_token,
        "notification": {"title": title, "body": text_body},
        "android": android,
    }


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
        return Verdict(vendor_status(BLOCK, Failure.AUTH), reason, reauth=True)
    failure = _FAILURES.get(code or "", Failure.INVALID if status < 500 else Failure.VENDOR_ERROR)
    transient = status == 429 or status >= 500
    return Verdict(
        vendor_status(BLOCK, failure),
        reason,
        retry=transient,
        retry_after=retry_after(headers) if transient else None,
        dead_token=failure == Failure.DEAD_TOKEN,
    )


class FcmProtocol:
    block = BLOCK
    needs_token = True

    def __init__(self, config: ChannelConfig, clock=time.time) -> None:
        self._config = config
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
        import jwt  # imported by the processes that sign, not by every one that knows the vendor

        return jwt.encode(claims, self._account["private_key"], algorithm="RS256", headers=headers)

    async def fetch_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        return await jwt_bearer(BLOCK, client, self._auth_url, self.assertion())

    def request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        return self._post(token, message(out, now))

    def revoke_request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        """Recall by overwriting: the replacement goes the way of any send."""
        return self._post(token, replacement(out, self._config, now))

    def _post(self, token: str | None, body: dict[str, Any]) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._send_url,
            headers={"authorization": f"Bearer {token}"},
            json={"message": body},
        )

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict:
        return read_answer(status, headers, body)


def make_sender(config: ChannelConfig) -> HttpSender:
    return HttpSender(FcmProtocol(config), config["concurrency"], http2=True)


def _service_account(name: str, value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ChannelConfigError(f"{name} must be the service account's JSON object") from None
    if not isinstance(value, dict):
        raise ChannelConfigError(f"{name} must be the service account's JSON object")
    for field in ("project_id", "client_email", "private_key"):
        text(f"{name}.{field}", value.get(field))
    if not isinstance(private_key(f"{name}.private_key", value["private_key"]), rsa.RSAPrivateKey):
        raise ChannelConfigError(f"{name}.private_key must be an RSA key (RS256)")
    if "token_uri" in value:
        url(f"{name}.token_uri", value["token_uri"])
    return {k: v for k, v in value.items() if isinstance(v, str)}


def _defaults(values: dict[str, Any]) -> dict[str, Any]:
    account = values["service_account"]
    return {
        "base_url": "https://fcm.googleapis.com",
        "auth_url": account.get("token_uri", "https://oauth2.googleapis.com/token"),
    }


CONFIG = ConfigSchema(
    (
        Key("service_account", _service_account, secret=True),
        Key("auth_url", url, required=False),
        *RECALL_TEXT,
        *COMMON,
    ),
    _defaults,
    concurrency=100,
)

VENDOR = Vendor(
    name=NAME,
    third_channel=2,
    manufacturer="fcm",
    analytics_channel="FCM",
    platform="android",
    token_platforms=ANDROID_DEVICES,
    transparent=Transparent.DATA_MESSAGE,
    config=CONFIG,
    senders=lambda: make_sender,
    status_block=BLOCK,
    recalls=True,
)
