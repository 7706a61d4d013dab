"""The ``sms`` channel's settings: which provider, and that provider's keys.

``aliyun``: ``access_key_id``, ``access_key_secret`` (secret), ``region`` (default cn-hangzhou,
where MPS's supplement runs) and ``endpoint`` (default https://dysmsapi.aliyuncs.com; a test points
it at a fake). ``webhook``: ``url`` (https, or http only to a loopback address) and ``secret``
(secret, at least 16 characters), which signs every request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tidings.channels.sms import PROVIDERS
from tidings.channels.vendor_config import (
    CONCURRENCY,
    ChannelConfig,
    ChannelConfigError,
    ConfigSchema,
    Key,
    choice,
    decoded,
    pattern,
    text,
    url,
)

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com"
ALIYUN_REGION = "cn-hangzhou"
MIN_SECRET = 16
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _webhook_url(name: str, value: Any) -> str:
    found = url(name, value)
    parts = urlsplit(found)
    if parts.scheme != "https" and parts.hostname not in LOOPBACK:
        raise ChannelConfigError(f"{name} must be an https URL (http only to a loopback address)")
    return found


def _signing_secret(name: str, value: Any) -> str:
    found = text(name, value)
    if len(found) < MIN_SECRET:
        raise ChannelConfigError(f"{name} must be at least {MIN_SECRET} characters long")
    return found


PROVIDER = Key("provider", choice(*PROVIDERS))
SCHEMAS = {
    "aliyun": ConfigSchema(
        keys=(
            PROVIDER,
            Key("access_key_id", text),
            Key("access_key_secret", text, secret=True),
            Key("region", pattern(r"[a-z0-9-]{2,32}", "a region id like cn-hangzhou"), False),
            Key("endpoint", url, required=False),
            CONCURRENCY,  # every stored config has it (ConfigSchema fills it in)
        ),
        defaults=lambda _: {"region": ALIYUN_REGION, "endpoint": ALIYUN_ENDPOINT},
        concurrency=10,
    ),
    "webhook": ConfigSchema(
        keys=(
            PROVIDER,
            Key("url", _webhook_url),
            Key("secret", _signing_secret, secret=True),
            CONCURRENCY,
        ),
        defaults=lambda _: {},
        concurrency=10,
    ),
}


def with_provider(channel: str, raw: Any, provider: str) -> dict[str, Any]:
    """The settings with ``provider`` as their ``provider`` key, for the edges that ask for the
    provider apart from the other keys (``--provider``, the console's select)."""
    return {**decoded(channel, raw), "provider": provider}


def check(channel: str, raw: Any) -> ChannelConfig:
    """The settings checked and completed, or the error naming the key at fault."""
    raw = decoded(channel, raw)
    provider = raw.get("provider")
    if provider not in SCHEMAS:
        raise ChannelConfigError(
            f"{channel} config: provider must be one of {', '.join(PROVIDERS)}, got {provider!r}"
        )
    return SCHEMAS[provider].check(channel, raw)
