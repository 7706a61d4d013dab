"""What a vendor channel's configuration is made of, and checking one.

Each vendor module declares its own ``ConfigSchema``: its keys, how each is checked, which are
secret, the defaults filled in and its default concurrency. The checks and the key groups several
vendors share are here. Checking is pure: a config either comes out whole, with defaults filled
in, or is refused with a ``ChannelConfigError`` naming the key. Secret keys are what ``tidings
channels list`` and the console never show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.serialization import load_pem_private_key

MAX_CONCURRENCY = 1000


class ChannelConfigError(ValueError):
    """A channel configuration that cannot be used, naming the key at fault."""


Check = Callable[[str, Any], Any]  # (key name, raw value) -> the value to keep


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    check: Check
    required: bool = True
    secret: bool = False
    # Generated when left out, and from then on kept when the channel is set again without it
    # (a key pair others were given the public half of, such as Web Push's VAPID key).
    kept: bool = False


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """A checked configuration: every key present, defaults filled in."""

    channel: str
    values: Mapping[str, Any]
    secrets: frozenset[str] = frozenset()  # the keys never shown

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def public(self) -> dict[str, Any]:
        """The keys that may be shown: everything but secrets."""
        return {k: v for k, v in self.values.items() if k not in self.secrets}

    def to_json(self) -> str:
        return json.dumps(dict(self.values), separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True, slots=True)
class ConfigSchema:
    """One vendor's configuration: its keys, the defaults they leave to fill in (computed from
    the values given), and the concurrent requests it makes when ``concurrency`` is not set
    (APNs multiplexes streams on one connection; the HTTP/1.1 vendors get a pool of that many
    connections)."""

    keys: tuple[Key, ...]
    defaults: Callable[[dict[str, Any]], dict[str, Any]]
    concurrency: int

    def check(
        self, channel: str, raw: Any, previous: Mapping[str, Any] | None = None
    ) -> ChannelConfig:
        """The config for ``channel`` checked and completed, or the error naming what is wrong.
        ``previous``: the configuration it replaces, whose ``kept`` keys it takes when not
        given."""
        raw = decoded(channel, raw)
        for key in self.keys:
            if key.kept and raw.get(key.name) is None and previous and key.name in previous:
                raw = {**raw, key.name: previous[key.name]}
        known = {key.name: key for key in self.keys}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ChannelConfigError(
                f"{channel} config has unknown key {', '.join(unknown)}; "
                f"it takes {', '.join(known)}"
            )
        values: dict[str, Any] = {}
        for key in self.keys:
            if key.name in raw and raw[key.name] is not None:
                try:
                    values[key.name] = key.check(key.name, raw[key.name])
                except ChannelConfigError as exc:
                    raise ChannelConfigError(f"{channel} config: {exc}") from None
            elif key.required:
                raise ChannelConfigError(f"{channel} config: {key.name} is missing")
        for name, value in self.defaults(values).items():
            values.setdefault(name, value)
        values.setdefault("concurrency", self.concurrency)
        secrets = frozenset(key.name for key in self.keys if key.secret)
        return ChannelConfig(channel, values, secrets)


def decoded(channel: str, raw: Any) -> dict[str, Any]:
    """A config as given (a JSON object, or its text), or the error saying it is neither."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ChannelConfigError(f"the {channel} config is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ChannelConfigError(f"the {channel} config must be a JSON object")
    return raw


def text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ChannelConfigError(f"{name} must be a non-empty string")
    return value.strip()


def pattern(regex: str, meaning: str) -> Check:
    compiled = re.compile(regex)

    def check(name: str, value: Any) -> str:
        found = text(name, value)
        if not compiled.fullmatch(found):
            raise ChannelConfigError(f"{name} must be {meaning}, got {found!r}")
        return found

    return check


def url(name: str, value: Any) -> str:
    found = text(name, value)
    parts = urlsplit(found)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ChannelConfigError(f"{name} must be an http(s) URL, got {found!r}")
    return found.rstrip("/")


def choice(*choices: str) -> Check:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise ChannelConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    return check


def private_key(name: str, value: Any) -> Any:
    """The PEM private key ``value`` holds, loaded (the caller checks its kind)."""
    found = text(name, value)
    try:
        return load_pem_private_key(found.encode(), password=None)
    except (ValueError, TypeError):
        raise ChannelConfigError(f"{name} is not a PEM private key without a password") from None


def _concurrency(name: str, value: Any) -> int:
    if type(value) is not int or not 1 <= value <= MAX_CONCURRENCY:
        raise ChannelConfigError(f"{name} must be a whole number from 1 to {MAX_CONCURRENCY}")
    return value


CONCURRENCY = Key("concurrency", _concurrency, required=False)
# A base URL to point the vendor elsewhere (a test's fake, a proxy), and the concurrency.
COMMON = (Key("base_url", url, required=False), CONCURRENCY)
# An OAuth 2.0 client-credentials login (Huawei, Honor).
OAUTH = (
    Key("app_id", text),
    Key("client_id", text),
    Key("client_secret", text, secret=True),
    Key("auth_url", url, required=False),
)


def hosts(base_url: str, auth_url: str | None = None) -> Callable[[dict], dict]:
    """Defaults naming the vendor's real hosts."""

    def fill(values: dict[str, Any]) -> dict[str, Any]:
        filled = {"base_url": base_url}
        if auth_url is not None:
            filled["auth_url"] = auth_url
        return filled

    return fill
