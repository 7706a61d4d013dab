"""Vendor channel configurations: which keys each channel takes, and checking them.

One table describes every channel, so validation, defaults and "which keys are secret" (what
``tidings channels list`` may show) come from one place. Checking is pure: a config either comes
out whole, with defaults filled in, or is refused with a ``ChannelConfigError`` naming the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tidings.channels.vendors import APNS, FCM, HMS, HONOR, OPPO, VENDORS, VIVO, XIAOMI

MAX_CONCURRENCY = 1000


class ChannelConfigError(ValueError):
    """A channel configuration that cannot be used, naming the key at fault."""


Check = Callable[[str, Any], Any]


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    check: Check
    required: bool = True
    secret: bool = False


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """A checked configuration: every key present, defaults filled in."""

    channel: str
    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def public(self) -> dict[str, Any]:
        """The keys that may be shown: everything but secrets."""
        secret = {key.name for key in _SPECS[self.channel].keys if key.secret}
        return {k: v for k, v in self.values.items() if k not in secret}

    def to_json(self) -> str:
        return json.dumps(dict(self.values), separators=(",", ":"), sort_keys=True)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ChannelConfigError(f"{name} must be a non-empty string")
    return value.strip()


def _pattern(regex: str, meaning: str) -> Check:
    compiled = re.compile(regex)

    def check(name: str, value: Any) -> str:
        text = _text(name, value)
        if not compiled.fullmatch(text):
            raise ChannelConfigError(f"{name} must be {meaning}, got {text!r}")
        return text

    return check


def _url(name: str, value: Any) -> str:
    text = _text(name, value)
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ChannelConfigError(f"{name} must be an http(s) URL, got {text!r}")
    return text.rstrip("/")


def _https_url(name: str, value: Any) -> str:
    text = _url(name, value)
    if not text.startswith("https://"):
        raise ChannelConfigError(f"{name} must be an https URL (APNs speaks only HTTP/2 over TLS)")
    return text


def _concurrency(name: str, value: Any) -> int:
    if type(value) is not int or not 1 <= value <= MAX_CONCURRENCY:
        raise ChannelConfigError(f"{name} must be a whole number from 1 to {MAX_CONCURRENCY}")
    return value


def _choice(*choices: str) -> Check:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise ChannelConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    return check


def _apns_key(name: str, value: Any) -> str:
    key = _private_key(name, value)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ChannelConfigError(f"{name} must be the P-256 (ES256) key of an APNs .p8 file")
    return value.strip() + "\n"


def _private_key(name: str, value: Any) -> Any:
    text = _text(name, value)
    try:
        return load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise ChannelConfigError(f"{name} is not a PEM private key without a password") from None


def _service_account(name: str, value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ChannelConfigError(f"{name} must be the service account's JSON object") from None
    if not isinstance(value, dict):
        raise ChannelConfigError(f"{name} must be the service account's JSON object")
    for field in ("project_id", "client_email", "private_key"):
        _text(f"{name}.{field}", value.get(field))
    if not isinstance(_private_key(f"{name}.private_key", value["private_key"]), rsa.RSAPrivateKey):
        raise ChannelConfigError(f"{name}.private_key must be an RSA key (RS256)")
    if "token_uri" in value:
        _url(f"{name}.token_uri", value["token_uri"])
    return {k: v for k, v in value.items() if isinstance(v, str)}


@dataclass(frozen=True, slots=True)
class Spec:
    keys: tuple[Key, ...]
    defaults: Callable[[dict[str, Any]], dict[str, Any]]


_ID = _pattern(r"[A-Z0-9]{10}", "10 upper-case letters or digits")
_CONCURRENCY = Key("concurrency", _concurrency, required=False)
_COMMON = (Key("base_url", _url, required=False), _CONCURRENCY)
_OAUTH = (
    Key("app_id", _text),
    Key("client_id", _text),
    Key("client_secret", _text, secret=True),
    Key("auth_url", _url, required=False),
)

APNS_HOSTS = {
    "production": "https://api.push.apple.com",
    "sandbox": "https://api.sandbox.push.apple.com",
}

# Concurrent requests per channel when the config does not say: APNs multiplexes streams on one
# connection; the HTTP/1.1 vendors get a pool of that many connections.
DEFAULT_CONCURRENCY = {APNS: 200, FCM: 100, HMS: 50, HONOR: 50, XIAOMI: 50, OPPO: 50, VIVO: 20}


def _defaults(base_url: str, auth_url: str | None = None) -> Callable[[dict], dict]:
    def fill(values: dict[str, Any]) -> dict[str, Any]:
        filled = {"base_url": base_url}
        if auth_url is not None:
            filled["auth_url"] = auth_url
        return filled

    return fill


def _apns_defaults(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "environment": "production",
        "base_url": APNS_HOSTS[values.get("environment", "production")],
    }


def _fcm_defaults(values: dict[str, Any]) -> dict[str, Any]:
    account = values["service_account"]
    return {
        "base_url": "https://fcm.googleapis.com",
        "auth_url": account.get("token_uri", "https://oauth2.googleapis.com/token"),
    }


_SPECS: dict[str, Spec] = {
    APNS: Spec(
        (
            Key("team_id", _ID),
            Key("key_id", _ID),
            Key("private_key", _apns_key, secret=True),
            Key(
                "bundle_id",
                _pattern(r"[A-Za-z0-9.-]{1,155}", "a bundle id such as com.example.app"),
            ),
            Key("environment", _choice(*APNS_HOSTS), required=False),
            Key("base_url", _https_url, required=False),
            _CONCURRENCY,
        ),
        _apns_defaults,
    ),
    FCM: Spec(
        (
            Key("service_account", _service_account, secret=True),
            Key("auth_url", _url, required=False),
            *_COMMON,
        ),
        _fcm_defaults,
    ),
    HMS: Spec(
        (*_OAUTH, *_COMMON),
        _defaults(
            "https://push-api.cloud.huawei.com",
            "https://oauth-login.cloud.huawei.com/oauth2/v3/token",
        ),
    ),
    HONOR: Spec(
        (*_OAUTH, *_COMMON),
        _defaults(
            "https://push-api.cloud.hihonor.com",
            "https://iam.developer.hihonor.com/auth/realms/developer/protocol/openid-connect/token",
        ),
    ),
    XIAOMI: Spec(
        (Key("app_secret", _text, secret=True), Key("package_name", _text), *_COMMON),
        _defaults("https://api.xmpush.xiaomi.com"),
    ),
    OPPO: Spec(
        (Key("app_key", _text), Key("master_secret", _text, secret=True), *_COMMON),
        _defaults("https://api.push.oppomobile.com"),
    ),
    VIVO: Spec(
        (
            Key("app_id", _pattern(r"[0-9]{1,18}", "the numeric vivo app id")),
            Key("app_key", _text),
            Key("app_secret", _text, secret=True),
            *_COMMON,
        ),
        _defaults("https://api-push.vivo.com.cn"),
    ),
}
assert set(_SPECS) == set(VENDORS)


def check_config(channel: str, raw: Any) -> ChannelConfig:
    """The config for ``channel`` checked and completed, or the error naming what is wrong."""
    spec = _SPECS.get(channel)
    if spec is None:
        raise ChannelConfigError(f"unknown channel {channel!r}; one of {', '.join(VENDORS)}")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ChannelConfigError(f"the {channel} config is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ChannelConfigError(f"the {channel} config must be a JSON object")
    known = {key.name: key for key in spec.keys}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ChannelConfigError(
            f"{channel} config has unknown key {', '.join(unknown)}; it takes {', '.join(known)}"
        )
    values: dict[str, Any] = {}
    for key in spec.keys:
        if key.name in raw and raw[key.name] is not None:
            try:
                values[key.name] = key.check(key.name, raw[key.name])
            except ChannelConfigError as exc:
                raise ChannelConfigError(f"{channel} config: {exc}") from None
        elif key.required:
            raise ChannelConfigError(f"{channel} config: {key.name} is missing")
    for name, value in spec.defaults(values).items():
        values.setdefault(name, value)
    values.setdefault("concurrency", DEFAULT_CONCURRENCY[channel])
    return ChannelConfig(channel, values)
