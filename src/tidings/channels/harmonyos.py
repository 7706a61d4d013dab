"""Huawei Push Kit for HarmonyOS NEXT: REST v3 scenario-specific messages
(``/v3/{projectId}/messages:send``), authorised by a service account's JWT.

HarmonyOS 5 and later take no OAuth access token: the app server signs a JWT with the service
account's RSA key (PS256, ``kid`` the key id, issued by the sub account, for the token endpoint's
audience) and sends it as the bearer token itself. Huawei advises an hour's validity and reuse
within it, so one is signed per configuration, kept until a minute before it runs out, and signed
anew when Push Kit refuses it.

Each request names its scenario in the ``push-type`` header: an alert (notification) message,
a background message for transparent or silent pushes that carry a TransparentMessagePayload
``harmonyos``, or a live view update when the call carries an ActivityContentState. Push Kit
files a notification by its ``category``: ThirdChannelCategory ``harmonyos`` names it, in mPaaS's
numbering ("1" IM ... "14" MARKETING) or by Huawei's name; without one the message is MARKETING,
the category that needs no self-classification right. Push Kit v3 has no importance field, so
NotifyLevel ``harmonyos`` is kept with the push and has no effect.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from tidings.channels import hms
from tidings.channels.extensions import (
    custom_data,
    data_message,
    notify_id,
    ttl_seconds,
    vendor_field,
    wants_data_message,
    whole_number,
)
from tidings.channels.http import HttpSender, NotRecallable
from tidings.channels.vendor_channel import Transparent, Vendor
from tidings.channels.vendor_config import (
    COMMON,
    ChannelConfig,
    ChannelConfigError,
    ConfigSchema,
    Key,
    hosts,
    private_key,
    text,
    url,
)
from tidings.channels.verdicts import Verdict
from tidings.contract import Outbound

NAME = "harmonyos"
BLOCK = 2700  # its status codes: BLOCK + a verdicts.Failure

JWT_LIFETIME = 3600  # Huawei: sign for an hour and reuse it meanwhile
MAX_TTL = 15 * 24 * 3600
DEFAULT_CATEGORY = "MARKETING"  # needs no self-classification right
CATEGORY_NAMES = frozenset(
    {*hms.CATEGORIES.values(), "CUSTOMER_SERVICE", "MISS_CALL", "NEWS", "CONTENT_RECOMMENDATION",
     "SOCIAL_DYNAMICS", "PROMO"}
)  # fmt: skip
MAX_INBOX_LINES = 5  # the multi-line style's limit


class PushType:
    """The ``push-type`` header: which scenario a message is."""

    ALERT = 0  # a notification (or a badge update)
    BACKGROUND = 6  # data handed to the app, shown nowhere
    LIVE_VIEW = 7


LIVE_VIEW_OPERATIONS = {"update": 1, "end": 2}  # ActivityEvent; 0 creates a live view


def category(out: Outbound) -> str:
    given = (vendor_field(out.options.third_channel_category, NAME) or "").strip()
    named = hms.CATEGORIES.get(given, given.upper())
    return named if named in CATEGORY_NAMES else DEFAULT_CATEGORY


def click_action(out: Outbound) -> dict[str, Any]:
    """Open the app's home page, or the page the URI names (as its ``uri`` skill, or as its
    ``action`` when PushAction is 1); the app's own data travels with it either way."""
    action: dict[str, Any] = {"actionType": 0, "data": custom_data(out)}
    uri = out.payload.uri
    if uri:
        action["actionType"] = 1
        action["action" if out.options.push_action == 1 else "uri"] = uri
    return action


def notification(out: Outbound) -> dict[str, Any]:
    extended = out.payload.extended_params
    found: dict[str, Any] = {
        "category": category(out),
        "title": out.payload.title,
        "body": out.payload.content,
        "clickAction": click_action(out),
        "notifyId": notify_id(out),
    }
    badge_add = whole_number(extended.get("badge_add_num"))
    if badge_add is not None and badge_add > 0:
        found["badge"] = {"addNum": badge_add}
    if extended.get("big_text") == "1":
        lines = [line for line in out.payload.content.splitlines() if line.strip()]
        found.update(style=3, inboxContent=lines[:MAX_INBOX_LINES] or [out.payload.content])
    return found


def live_view(out: Outbound) -> dict[str, Any]:
    """A live view update: ActivityContentState holds the live view's own fields (``activityId``,
    ``event``, ``status``, ``version``, ``activityData``); ActivityEvent gives the operation
    unless the state names one."""
    state = dict(out.options.activity_content_state or {})
    state.setdefault("operation", LIVE_VIEW_OPERATIONS[out.options.activity_event or "update"])
    return state


def message(out: Outbound, now: float) -> tuple[int, dict[str, Any]]:
    """The ``push-type`` and the body of the send request."""
    options: dict[str, Any] = {
        "ttl": ttl_seconds(out, now, maximum=MAX_TTL),
        "biTag": hms.receipt_tag(out),
    }
    body: dict[str, Any] = {"target": {"token": [out.device.third_token]}, "pushOptions": options}
    if out.options.activity_content_state is not None:
        return PushType.LIVE_VIEW, {**body, "payload": live_view(out)}
    if wants_data_message(out):
        extra = json.dumps(data_message(out, NAME), ensure_ascii=False)
        return PushType.BACKGROUND, {**body, "payload": {"extraData": extra}}
    return PushType.ALERT, {**body, "payload": {"notification": notification(out)}}


def signed_jwt(config: ChannelConfig, now: float) -> str:
    claims = {
        "iss": config["sub_account"],
        "aud": config["auth_url"],
        "iat": int(now),
        "exp": int(now) + JWT_LIFETIME,
    }
    headers = {"kid": config["key_id"], "typ": "JWT"}
    import jwt  # imported by the processes that sign, not by every one that knows the vendor

    return jwt.encode(claims, config["private_key"], algorithm="PS256", headers=headers)


class HarmonyProtocol:
    block = BLOCK
    needs_token = True

    def __init__(self, config: ChannelConfig) -> None:
        self._config = config
        self._send_url = f"{config['base_url']}/v3/{config['project_id']}/messages:send"

    async def fetch_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        return signed_jwt(self._config, time.time()), JWT_LIFETIME

    def request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        push_type, body = message(out, now)
        headers = {"authorization": f"Bearer {token}", "push-type": str(push_type)}
        return httpx.Request("POST", self._send_url, headers=headers, json=body)

    def revoke_request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        """Push Kit recalls a notification by its ``notifyId`` and token, under the app's
        client id (not the project id); other scenarios cannot be recalled."""
        if message(out, now)[0] != PushType.ALERT:
            raise NotRecallable("Push Kit recalls notifications only")
        client_id = self._config.values.get("client_id")
        if not client_id:
            raise NotRecallable("the harmonyos channel recalls once client_id is configured")
        url = f"{self._config['base_url']}/v1/{client_id}/messages:revoke"
        headers = {"authorization": f"Bearer {token}", "push-type": str(PushType.ALERT)}
        body = {"notifyId": notify_id(out), "token": [out.device.third_token]}
        return httpx.Request("POST", url, headers=headers, json=body)

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict:
        return hms.read_answer(status, headers, body, block=BLOCK)


def make_sender(config: ChannelConfig) -> HttpSender:
    return HttpSender(HarmonyProtocol(config), config["concurrency"])


def _rsa_key(name: str, value: Any) -> str:
    """The service account's private key, kept as its PEM text (PS256 needs an RSA key)."""
    if not isinstance(private_key(name, value), rsa.RSAPrivateKey):
        raise ChannelConfigError(f"{name} must be an RSA key (the service account signs PS256)")
    return text(name, value)


CONFIG = ConfigSchema(
    (
        Key("project_id", text),
        Key("key_id", text),
        Key("private_key", _rsa_key, secret=True),
        Key("sub_account", text),
        Key("client_id", text, required=False),  # the app's OAuth client id: recall needs it
        Key("auth_url", url, required=False),
        *hms.RECEIPT_KEYS,
        *COMMON,
    ),
    hosts(
        "https://push-api.cloud.huawei.com",
        "https://oauth-login.cloud.huawei.com/oauth2/v3/token",
    ),
    concurrency=50,
)

VENDOR = Vendor(
    name=NAME,
    third_channel=8,
    manufacturer="harmonyos",
    analytics_channel="HARMONYOS",
    platform="harmonyos",
    token_platforms=("harmonyos",),
    transparent=Transparent.DATA_MESSAGE,
    config=CONFIG,
    senders=lambda: make_sender,
    status_block=BLOCK,
    receipts=hms.RECEIPTS,
    recalls=True,
    live_views=True,
)
