"""Apple Push Notification service: HTTP/2 with ES256 provider tokens.

The request (headers and JSON payload) and the reading of APNs' answer are pure functions of the
delivery; ``ApnsSender`` adds the I/O. Senders of every app that uses the same key share one
connection and one provider token, because Apple wants one connection per key and treats a key
whose token is renewed more often than every 20 minutes as abusive. A token is renewed after 50
minutes, within Apple's window of 20 to 60, or at once when APNs says it has expired.

Recall: APNs has no revoke call, but an alert with the same ``apns-collapse-id`` replaces the one
the device shows. Every alert carries a collapse id derived from its delivery, and a recall sends
a replacement under it with the channel's revoked text (channels/overwrite.py). Background and
Live Activity pushes show no alert to replace and cannot be recalled.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from tidings.channels.access_tokens import CachedToken
from tidings.channels.extensions import custom_data, delivery_uuid, whole_number
from tidings.channels.http import NotRecallable, retry_after, tls_context
from tidings.channels.http2 import Headers, Http2Connection, Http2Error, never_indexed
from tidings.channels.overwrite import RECALL_TEXT, replacement_text
from tidings.channels.vendor_channel import Transparent, Vendor
from tidings.channels.vendor_config import (
    CONCURRENCY,
    ChannelConfig,
    ChannelConfigError,
    ConfigSchema,
    Key,
    choice,
    pattern,
    private_key,
    url,
)
from tidings.channels.verdicts import ACCEPTED, Verdict
from tidings.contract import Outbound

NAME = "apns"
TOKEN_LIFETIME = 3000.0
LIVE_ACTIVITY_SUFFIX = ".push-type.liveactivity"

# APNs reasons as MPS status codes: 2001-2024 as MPS documents them; the reasons MPS leaves
# unnamed take the numbers its list skips.
REASON_STATUS = {
    "PayloadEmpty": 2001,
    "PayloadTooLarge": 2002,
    "BadTopic": 2003,
    "TopicDisallowed": 2004,
    "BadMessageId": 2005,
    "BadExpirationDate": 2006,
    "BadPriority": 2007,
    "MissingDeviceToken": 2008,
    "BadDeviceToken": 2009,
    "DeviceTokenNotForTopic": 2010,
    "Unregistered": 2011,
    "ExpiredToken": 2011,
    "BadCollapseId": 2012,
    "BadCertificateEnvironment": 2013,
    "BadCertificate": 2014,
    "ExpiredProviderToken": 2015,
    "InvalidProviderToken": 2015,
    "MissingProviderToken": 2015,
    "Forbidden": 2015,
    "InvalidPushType": 2016,
    "TooManyRequests": 2017,
    "TooManyProviderTokenUpdates": 2018,
    "IdleTimeout": 2019,
    "Shutdown": 2019,
    "InternalServerError": 2020,
    "ServiceUnavailable": 2020,
    "BadPath": 2021,
    "MethodNotAllowed": 2021,
    "DuplicateHeaders": 2021,
    "MissingTopic": 2023,
}
CONN_CLOSED = 2024
UNKNOWN_REASON = 2022
_REAUTH = frozenset({"ExpiredProviderToken", "InvalidProviderToken", "MissingProviderToken"})
_TRANSIENT = frozenset(
    {"TooManyRequests", "TooManyProviderTokenUpdates", "IdleTimeout", "Shutdown"}
)


def provider_token(config: ChannelConfig, now: float) -> str:
    """The ES256 JWT APNs takes in place of a client certificate."""
    import jwt  # imported by the processes that sign, not by every one that knows the vendor

    return jwt.encode(
        {"iss": config["team_id"], "iat": int(now)},
        config["private_key"],
        algorithm="ES256",
        headers={"kid": config["key_id"]},
    )


def notification(out: Outbound, bundle_id: str, now: float) -> tuple[Headers, bytes]:
    """The headers (without authorization, as sent) and JSON payload of one delivery."""
    options = out.options
    topic, alert = bundle_id, False
    # each kind's fixed fields as whole constants, not pairs built anew for every delivery
    if options.live_activity:
        push_type, priority = (b"apns-push-type", b"liveactivity"), (b"apns-priority", b"10")
        topic += LIVE_ACTIVITY_SUFFIX
        aps = _ENCODER.encode(_live_activity(out, now))
    elif options.silent or options.notify_type == "transparent":
        push_type, priority = (b"apns-push-type", b"background"), (b"apns-priority", b"5")
        aps = '{"content-available":1}'
    else:
        push_type, priority = (b"apns-push-type", b"alert"), (b"apns-priority", b"10")
        alert = True
        aps = _alert(out.payload.title, out.payload.content, out.payload.extended_params)
    headers = [
        push_type,
        (b"apns-topic", topic.encode()),
        priority,
        _expiration_header(out),
        never_indexed((b"apns-id", delivery_uuid(out).encode())),
    ]
    if alert:
        headers.append(_collapse_header(out))  # what a recall replaces
    return headers, _payload(aps, custom_data(out))


def _alert(title: str, body: str, extended: dict[str, str]) -> str:
    """An alert's ``aps`` as JSON, written from its strings: the fields of every alert have
    the same few shapes, and json's encoder, set up anew for each call, cost more than all the
    rest of a notification (see ``_payload``)."""
    aps = f'{{"alert":{{"title":{_string(title)},"body":{_string(body)}}}'
    if not extended:  # most messages
        return aps + "}"
    if "sound" in extended:
        aps += f',"sound":{_string(extended["sound"])}'
    badge = whole_number(extended.get("badge"))
    if badge is not None:
        aps += f',"badge":{badge}'
    if extended.get("mutable-content") == "1":
        aps += ',"mutable-content":1'
    return aps + "}"


def _payload(aps: str, data: dict[str, str]) -> bytes:
    """``{"aps": aps, **data}`` as JSON, ``aps`` being JSON already and ``data`` the custom
    data (strings only, as ExtendedParams are read): what ``_ENCODER`` writes for the dict,
    without its cost per call (1.5 of its 3.4 µs here just set it up)."""
    text = '{"aps":' + aps
    for key, value in data.items():  # two or three: a loop, not a comprehension's frame
        text += f",{_string(key)}:{_string(value)}"
    return (text + "}").encode()


def collapse_id(out: Outbound) -> str:
    """The alert's collapse id, one per delivery (APNs takes at most 64 bytes)."""
    return f"d{out.id}"


def _expiration_header(out: Outbound) -> tuple[bytes, bytes]:
    """Sent never indexed, as are the apns-id and collapse id. Indexed, a header that changes
    from one task or delivery to the next takes a new entry in the connection's HPACK table
    each time, pushing out the fields every request repeats (authority, push type, topic,
    priority), which then go as literals again: with a new expiration on every request, ngh2
    spent 29,000 instructions a request against 24,000 never indexed. (The provider token is
    in no table: libnghttp2 never indexes an authorization.)"""
    return never_indexed((b"apns-expiration", b"%d" % (out.payload.expires_at // 1000)))


def _collapse_header(out: Outbound) -> tuple[bytes, bytes]:
    return never_indexed((b"apns-collapse-id", collapse_id(out).encode()))


def replacement(out: Outbound, config: ChannelConfig) -> tuple[Headers, bytes]:
    """The alert that overwrites a delivered one (same collapse id) with the channel's revoked
    text; ``NotRecallable`` for a push that showed no alert."""
    title, body = replacement_text(out, config, "APNs")
    headers = [
        (b"apns-push-type", b"alert"),
        (b"apns-topic", config["bundle_id"].encode()),
        (b"apns-priority", b"10"),
        _expiration_header(out),
        _collapse_header(out),
    ]
    aps = {"alert": {"title": title, "body": body}}
    return headers, _json(
        {"aps": aps, "deliveryId": str(out.id), "taskId": str(out.payload.task_id)}
    )


def _json(body: dict[str, Any]) -> bytes:
    return _ENCODER.encode(body).encode()


# One encoder for every payload: json.dumps builds a new one per call when given options.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# A string as JSON, escaped as _ENCODER escapes it (json's own C function for ensure_ascii=False)
_string = json.encoder.encode_basestring


def _live_activity(out: Outbound, now: float) -> dict[str, Any]:
    """An ActivityKit push: update or end an activity, or (``start``, iOS 17.2+, sent to a
    push-to-start token) start one of the app's ActivityAttributes type, which needs an alert."""
    options = out.options
    event = options.activity_event or "update"
    aps: dict[str, Any] = {"timestamp": int(now), "event": event}
    aps["content-state"] = options.activity_content_state or {}
    if event == "start":
        aps["attributes-type"] = options.activity_attributes_type
        aps["attributes"] = options.activity_attributes or {}
    if options.stale_date is not None:
        aps["stale-date"] = _epoch_seconds(options.stale_date)
    if options.dismissal_date is not None:
        aps["dismissal-date"] = _epoch_seconds(options.dismissal_date)
    if out.payload.title or out.payload.content or event == "start":
        aps["alert"] = {"title": out.payload.title, "body": out.payload.content}
    return aps


def _epoch_seconds(value: int) -> int:
    """A date as APNs wants it (seconds), whether given in seconds or milliseconds."""
    return value // 1000 if value > 100_000_000_000 else value


def read_answer(status: int, headers: dict[str, str], body: bytes) -> Verdict:
    if status == 200:
        return ACCEPTED
    try:
        reason = str(json.loads(body).get("reason", ""))
    except (ValueError, AttributeError):
        reason = ""
    reason = reason or f"HTTP {status}"
    code = REASON_STATUS.get(reason, UNKNOWN_REASON)
    if status == 410:
        return Verdict(code, reason, dead_token=True)
    if reason in _REAUTH:
        return Verdict(code, reason, reauth=True)
    if status == 429 or status >= 500 or reason in _TRANSIENT:
        return Verdict(code, reason, retry=True, retry_after=retry_after(headers))
    return Verdict(code, reason)


class _KeyLink:
    """The connection and provider token of one APNs key, shared by every app using the key."""

    def __init__(self, config: ChannelConfig, clock: Callable[[], float]) -> None:
        self.connection = Http2Connection(config["base_url"], tls_context(alpn=("h2",)))

        async def fetch() -> tuple[str, float]:
            return provider_token(config, clock()), TOKEN_LIFETIME

        self.token = CachedToken(fetch, margin=0.0)
        self._authorization = ("", (b"authorization", b"bearer "))

    def authorization(self, token: str) -> tuple[bytes, bytes]:
        """The authorization header of ``token``, made once for all its requests."""
        held, header = self._authorization
        if token != held:
            header = (b"authorization", b"bearer " + token.encode())
            self._authorization = (token, header)
        return header


class ApnsSender:
    def __init__(
        self,
        config: ChannelConfig,
        links: dict[tuple[str, str, str], _KeyLink],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key = (config["base_url"], config["team_id"], config["key_id"])
        if key not in links:
            links[key] = _KeyLink(config, clock)
        self._link = links[key]
        self._config = config
        # every attempt wants it; config[key] is a Python method call (ChannelConfig.__getitem__)
        self._bundle_id: str = config["bundle_id"]
        self._clock = clock

    def attempt(self, out: Outbound) -> Awaitable[Verdict]:
        """The request made (no coroutine of its own: one less per delivery), to await."""
        return self._post(out, *notification(out, self._bundle_id, self._clock()))

    async def revoke(self, out: Outbound) -> Verdict:
        """Recall by overwriting: the replacement alert goes the way of any push."""
        try:
            headers, body = replacement(out, self._config)
        except NotRecallable as exc:
            return Verdict(UNKNOWN_REASON, str(exc))
        return await self._post(out, headers, body)

    async def _post(self, out: Outbound, headers: Headers, body: bytes) -> Verdict:
        token = out.device.third_token or ""
        link = self._link
        wire = [link.authorization(link.token.current() or await link.token.get()), *headers]
        try:
            response = await link.connection.request(f"/3/device/{token}", wire, body)
        except (Http2Error, TimeoutError) as exc:
            return Verdict(CONN_CLOSED, f"ConnClosed: {exc}", retry=True)
        if response.status == 200:  # nearly every answer: its headers and body are not read
            return ACCEPTED
        return read_answer(response.status, response.headers, bytes(response.body))

    def refresh(self) -> None:
        self._link.token.invalidate()

    async def aclose(self) -> None:
        await self._link.connection.aclose()


def sender_factory(clock: Callable[[], float] = time.time) -> Callable[[ChannelConfig], ApnsSender]:
    """Senders that share connections and tokens per key."""
    links: dict[tuple[str, str, str], _KeyLink] = {}
    return lambda config: ApnsSender(config, links, clock=clock)


HOSTS = {
    "production": "https://api.push.apple.com",
    "sandbox": "https://api.sandbox.push.apple.com",
}
_ID = pattern(r"[A-Z0-9]{10}", "10 upper-case letters or digits")


def _https_url(name: str, value: Any) -> str:
    found = url(name, value)
    if not found.startswith("https://"):
        raise ChannelConfigError(f"{name} must be an https URL (APNs speaks only HTTP/2 over TLS)")
    return found


def _key(name: str, value: Any) -> str:
    key = private_key(name, value)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ChannelConfigError(f"{name} must be the P-256 (ES256) key of an APNs .p8 file")
    return value.strip() + "\n"


def _defaults(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "environment": "production",
        "base_url": HOSTS[values.get("environment", "production")],
    }


CONFIG = ConfigSchema(
    (
        Key("team_id", _ID),
        Key("key_id", _ID),
        Key("private_key", _key, secret=True),
        Key("bundle_id", pattern(r"[A-Za-z0-9.-]{1,155}", "a bundle id such as com.example.app")),
        Key("environment", choice(*HOSTS), required=False),
        Key("base_url", _https_url, required=False),
        *RECALL_TEXT,
        CONCURRENCY,
    ),
    _defaults,
    concurrency=200,
)

VENDOR = Vendor(
    name=NAME,
    third_channel=1,
    manufacturer="ios",
    analytics_channel="IOS",
    platform="ios",
    token_platforms=("ios",),
    transparent=Transparent.BACKGROUND,
    config=CONFIG,
    senders=sender_factory,
    live_activities=True,
    recalls=True,
)
