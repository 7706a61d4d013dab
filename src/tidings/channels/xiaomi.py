"""Xiaomi Push, ``/v3/message/regid``: a form post authorised by the app secret itself.

Xiaomi sorts notifications by the channel they are posted to (private or public, registered in
the Mi console), so its ``extra.channel_id`` takes MiChannelId, else ThirdChannelCategory
``xiaomi``, else the call's ChannelId.
"""

from __future__ import annotations

import json

import httpx

from tidings.channels.extensions import custom_data, ttl_seconds, vendor_field, wants_data_message
from tidings.channels.http import HttpSender, retry_after
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

NAME = "xiaomi"
BLOCK = 2400  # its status codes: BLOCK + a verdicts.Failure

MAX_TTL = 14 * 24 * 3600
_FAILURES = {
    10016: Failure.INVALID,
    10017: Failure.INVALID,
    10027: Failure.THROTTLED,
    26004: Failure.THROTTLED,
    10034: Failure.QUOTA,
    200001: Failure.QUOTA,
    21301: Failure.AUTH,
    21302: Failure.AUTH,
    22022: Failure.AUTH,
    65003: Failure.DEAD_TOKEN,
    65009: Failure.TOO_LARGE,
}
_TRANSIENT = frozenset({10027, 26004})


def form(out: Outbound, package_name: str, now: float) -> dict[str, str]:
    options = out.options
    extended = out.payload.extended_params
    fields = {
        "registration_id": out.device.third_token or "",
        "restricted_package_name": package_name,
        "pass_through": "1" if wants_data_message(out) else "0",
        "title": out.payload.title,
        "description": out.payload.content,
        "payload": json.dumps(custom_data(out), ensure_ascii=False),
        "notify_type": "-1",
        "time_to_live": str(ttl_seconds(out, now, maximum=MAX_TTL) * 1000),
    }
    channel = (
        options.mi_channel_id
        or vendor_field(options.third_channel_category, NAME)
        or options.channel_id
    )
    if channel:
        fields["extra.channel_id"] = channel
    if out.payload.uri and options.push_action == 1:
        fields.update({"extra.notify_effect": "2", "extra.intent_uri": out.payload.uri})
    elif out.payload.uri:
        fields.update({"extra.notify_effect": "3", "extra.web_uri": out.payload.uri})
    else:
        fields["extra.notify_effect"] = "1"
    if "sound" in extended:
        fields["extra.sound_uri"] = extended["sound"]
    if extended.get("big_text") == "1":
        fields["extra.notification_style_type"] = "1"
    return fields


def read_answer(status: int, headers: httpx.Headers, body: bytes) -> Verdict:
    code, reason = coded_answer(body, "code", "reason", status)
    if status >= 500 or status == 429:
        return unavailable(BLOCK, reason, retry_after(headers))
    if status == 200 and code == 0:
        return ACCEPTED
    if code == 20301 and "valid target" in reason.lower():
        return Verdict(vendor_status(BLOCK, Failure.DEAD_TOKEN), reason, dead_token=True)
    failure = _FAILURES.get(code, Failure.INVALID)
    return Verdict(
        vendor_status(BLOCK, failure),
        reason,
        retry=code in _TRANSIENT,
        dead_token=failure == Failure.DEAD_TOKEN,
    )


class XiaomiProtocol:
    block = BLOCK
    needs_token = False

    def __init__(self, config: ChannelConfig) -> None:
        self._url = f"{config['base_url']}/v3/message/regid"
        self._auth = f"key={config['app_secret']}"
        self._package = config["package_name"]

    async def fetch_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        raise NotImplementedError("Xiaomi authorises each request with the app secret")

    def request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._url,
            headers={"authorization": self._auth},
            data=form(out, self._package, now),
        )

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict:
        return read_answer(status, headers, body)


def make_sender(config: ChannelConfig) -> HttpSender:
    return HttpSender(XiaomiProtocol(config), config["concurrency"])


CONFIG = ConfigSchema(
    (Key("app_secret", text, secret=True), Key("package_name", text), *COMMON),
    hosts("https://api.xmpush.xiaomi.com"),
    concurrency=50,
)

VENDOR = Vendor(
    name=NAME,
    third_channel=5,
    manufacturer="miui",
    analytics_channel="MIUI",
    platform="android",
    token_platforms=ANDROID_DEVICES,
    transparent=Transparent.NONE,
    config=CONFIG,
    senders=lambda: make_sender,
    status_block=BLOCK,
    option_keys=("xiaomi", "miui"),
)
