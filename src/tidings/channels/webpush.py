"""Web Push to browsers: RFC 8030 delivery, the payload encrypted for the subscription with
RFC 8291 (``aes128gcm``), the app identified by VAPID (RFC 8292).

A browser's subscription (its push service's endpoint URL and its ``p256dh`` and ``auth`` keys)
is the device's vendor token, as the JSON object ``PushSubscription.toJSON()`` gives. The
crypto is the maintained libraries' (pywebpush encrypts with http-ece, py-vapid signs the JWT);
this module only says what to send where and reads the push service's answer.

Each app has its own VAPID key pair: given to ``tidings channels set`` or, when left out,
generated there and sealed with the rest of the configuration. Setting the channel again without
the key keeps the pair (every subscription is tied to it) unless ``--renew-keys`` asks for a new
one. Its public half is what the page passes to ``pushManager.subscribe`` as
``applicationServerKey``; ``tidings channels list`` shows it.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from tidings.channels.destinations import DestinationRefused, Unresolved, pinned, resolve
from tidings.channels.extensions import custom_data, ttl_seconds, vendor_field
from tidings.channels.http import HttpSender, retry_after
from tidings.channels.vendor_channel import Transparent, Vendor
from tidings.channels.vendor_config import (
    CONCURRENCY,
    ChannelConfig,
    ChannelConfigError,
    ConfigSchema,
    Key,
    pattern,
    text,
)
from tidings.channels.verdicts import ACCEPTED, Failure, Verdict, vendor_status
from tidings.contract import Outbound

NAME = "webpush"
BLOCK = 2800  # its status codes: BLOCK + a verdicts.Failure

MAX_TTL = 28 * 24 * 3600  # push services keep a message four weeks at most
JWT_LIFETIME = 12 * 3600  # RFC 8292: at most 24 hours
# NotifyLevel ``webpush``: the Urgency header, by number (as the Android vendors' levels) or name.
URGENCIES = {"0": "very-low", "1": "low", "2": "normal", "3": "high"}
TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")  # RFC 8030: at most 32 URL-safe base64 characters
TOPIC_KEY = "webpush_topic"  # the ExtendedParams key naming the collapse topic


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Subscription:
    """A browser's push subscription, read from the device's vendor token."""

    def __init__(self, token: str) -> None:
        try:
            info = json.loads(token)
            self.endpoint = str(info["endpoint"])
            keys = info["keys"]
            self.info = {
                "endpoint": self.endpoint,
                "keys": {k: keys[k] for k in ("p256dh", "auth")},
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                "a webpush token is a subscription: {endpoint, keys: {p256dh, auth}}"
            ) from exc
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("the subscription's endpoint must be an https URL")
        self.audience = f"{parts.scheme}://{parts.netloc}"  # VAPID's aud: the endpoint's origin


def urgency(out: Outbound) -> str:
    given = (vendor_field(out.options.notify_level, NAME) or "").strip().lower()
    return URGENCIES.get(given, given if given in URGENCIES.values() else "normal")


def payload(out: Outbound) -> dict[str, Any]:
    """The JSON the service worker receives (docs/vendor-channels.md, "Web Push")."""
    return {
        "title": out.payload.title,
        "body": out.payload.content,
        "uri": out.payload.uri,
        "data": custom_data(out),
    }


def headers(out: Outbound, now: float) -> dict[str, str]:
    found = {
        "ttl": str(ttl_seconds(out, now, maximum=MAX_TTL, minimum=0)),
        "urgency": urgency(out),
        "content-encoding": "aes128gcm",
        "content-type": "application/octet-stream",
    }
    topic = out.payload.extended_params.get(TOPIC_KEY, "")
    if TOPIC.fullmatch(topic):
        found["topic"] = topic
    return found


def read_answer(status: int, headers: httpx.Headers, body: bytes) -> Verdict:
    """RFC 8030's answers: 201 taken; 404 and 410 the subscription is gone; 429 slow down."""
    words = body[:200].decode(errors="replace") or f"HTTP {status}"
    if status in (200, 201, 202):
        return ACCEPTED
    if status in (404, 410):
        return Verdict(vendor_status(BLOCK, Failure.DEAD_TOKEN), words, dead_token=True)
    if status == 429:
        return Verdict(
            vendor_status(BLOCK, Failure.THROTTLED),
            words,
            retry=True,
            retry_after=retry_after(headers),
        )
    if status in (401, 403):
        return Verdict(vendor_status(BLOCK, Failure.AUTH), words)
    if status == 413:
        return Verdict(vendor_status(BLOCK, Failure.TOO_LARGE), words)
    if status >= 500:
        return Verdict(
            vendor_status(BLOCK, Failure.VENDOR_ERROR),
            words,
            retry=True,
            retry_after=retry_after(headers),
        )
    return Verdict(vendor_status(BLOCK, Failure.INVALID), words)


class WebPushProtocol:
    block = BLOCK
    needs_token = False

    def __init__(self, config: ChannelConfig) -> None:
        self._vapid = Vapid02.from_raw(config["vapid_private_key"].encode())
        self._subject = config["subject"]
        self._signed: dict[str, tuple[float, str]] = {}  # audience: (expiry, Authorization)

    async def fetch_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        raise NotImplementedError  # VAPID signs per push service, in ``request``

    def authorization(self, audience: str, now: float) -> str:
        """The VAPID header for one push service, signed once and reused until near expiry."""
        kept = self._signed.get(audience)
        if kept is not None and kept[0] - 60 > now:
            return kept[1]
        expiry = int(now) + JWT_LIFETIME
        claims = {"aud": audience, "exp": expiry, "sub": self._subject}
        signed = self._vapid.sign(claims)["Authorization"]
        self._signed[audience] = (expiry, signed)
        return signed

    def request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        subscription = Subscription(out.device.third_token or "")
        data = json.dumps(payload(out), ensure_ascii=False).encode()
        # pywebpush brings aiohttp and requests along (a fifth of a second to import): only a
        # process that sends a Web Push loads it.
        from pywebpush import WebPusher, WebPushException

        try:
            body = WebPusher(subscription.info).encode(data, content_encoding="aes128gcm")["body"]
        except WebPushException as exc:
            raise ValueError(f"the subscription's keys are unusable: {exc}") from exc
        sent = headers(out, now)
        sent["authorization"] = self.authorization(subscription.audience, now)
        return httpx.Request("POST", subscription.endpoint, headers=sent, content=body)

    def revoke_request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        raise NotImplementedError  # Web Push has no recall: Vendor.recalls is False

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict:
        return read_answer(status, headers, body)


class WebPushSender(HttpSender):
    """An ``HttpSender`` that answers a subscription it cannot use (malformed JSON, keys that
    are not a P-256 point, an endpoint the SSRF guard refuses) with a dead-token verdict:
    nothing sent will ever work. The endpoint is checked again before each send and the request
    goes to the address checked (channels/destinations.py)."""

    def __init__(self, protocol: WebPushProtocol, concurrency: int, allowed: list[str]) -> None:
        super().__init__(protocol, concurrency)
        self._allowed = allowed

    async def attempt(self, out: Outbound) -> Verdict:
        try:
            endpoint = Subscription(out.device.third_token or "").endpoint
            address = await resolve(endpoint, self._allowed)

            def build(out: Outbound, token: str | None, now: float) -> httpx.Request:
                return pinned(self._protocol.request(out, token, now), address)

            return await self._exchange(out, build)
        except Unresolved as exc:  # DNS may be down for a while: not the subscription's fault
            return Verdict(vendor_status(BLOCK, Failure.CONN_CLOSED), str(exc), retry=True)
        except ValueError as exc:
            return Verdict(vendor_status(BLOCK, Failure.DEAD_TOKEN), str(exc), dead_token=True)


async def check_endpoint(token: str, config: ChannelConfig | None) -> None:
    """Refuse a subscription reported for a device whose endpoint may not be reached (the
    app's ``allowed_hosts`` exempt); ``ValueError`` says why."""
    endpoint = Subscription(token).endpoint
    allowed = config["allowed_hosts"] if config is not None else []
    try:
        await resolve(endpoint, allowed)
    except DestinationRefused as exc:
        raise ValueError(f"names an endpoint Tidings may not reach: {exc}") from None


def make_sender(config: ChannelConfig) -> HttpSender:
    return WebPushSender(WebPushProtocol(config), config["concurrency"], config["allowed_hosts"])


def new_private_key() -> str:
    """A fresh VAPID private key: the raw P-256 scalar, base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def public_key(private: str) -> str:
    """The applicationServerKey a page subscribes with: the uncompressed point, base64url."""
    key = Vapid02.from_raw(private.encode()).public_key
    raw = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw)


def _vapid_key(name: str, value: Any) -> str:
    try:
        text = str(value).strip()
        public_key(text)
    except Exception as exc:
        raise ChannelConfigError(
            f"{name} must be a P-256 private key as base64url (32 bytes)"
        ) from exc
    return text


def _hosts(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(h, str) and h.strip() for h in value):
        raise ChannelConfigError(f"{name} must be a list of host names or addresses")
    return [h.strip().lower() for h in value]


def _fill(values: dict[str, Any]) -> dict[str, Any]:
    """Generate the app's VAPID key pair when none was given; derive the public half (a stored
    configuration is checked again when read, public half included, so it must match)."""
    private = values.get("vapid_private_key")
    if private is None and "vapid_public_key" in values:
        raise ChannelConfigError("webpush config: vapid_public_key needs its vapid_private_key")
    private = private or new_private_key()
    public = public_key(private)
    if values.get("vapid_public_key", public) != public:
        raise ChannelConfigError("webpush config: vapid_public_key is not vapid_private_key's")
    return {"vapid_private_key": private, "vapid_public_key": public, "allowed_hosts": []}


CONFIG = ConfigSchema(
    (
        Key("subject", pattern(r"(mailto:|https://)\S+", "a mailto: or https: URL")),
        Key("vapid_private_key", _vapid_key, required=False, secret=True, kept=True),
        Key("vapid_public_key", text, required=False),  # derived; shown by `channels list`
        # Hosts a subscription's endpoint may name although they are not https or resolve to a
        # private address (a push service on the operator's network, a test's fake).
        Key("allowed_hosts", _hosts, required=False),
        CONCURRENCY,
    ),
    _fill,
    concurrency=100,
)

VENDOR = Vendor(
    name=NAME,
    third_channel=9,
    manufacturer="webpush",
    analytics_channel="WEBPUSH",
    platform="web",
    token_platforms=("web",),
    transparent=Transparent.NONE,
    config=CONFIG,
    senders=lambda: make_sender,
    status_block=BLOCK,
)
