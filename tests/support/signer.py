"""A client-side signer for tests: ACS3-HMAC-SHA256/SM3 and RPC v1 HMAC-SHA1.

This is an independent implementation, written from the published algorithm (the canonical
request, the RFC 3986 encoding, the HMAC keys) and deliberately sharing no code with
``tidings.openapi.signing``: a test that signs with this module and verifies with the server's
code checks two implementations against each other, not one against itself. It builds requests
the way the SDKs lay them out, so tests can send them with any HTTP client:

    call = sign_acs3("TID...", secret, "127.0.0.1:8080", "PushMultiple", {"AppId": "A", ...})
    httpx.post(base_url + call.path_and_query, headers=call.headers, content=call.body)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class SignedCall:
    """A signed request, ready to send: ``path_and_query`` goes after the host."""

    method: str
    path_and_query: str
    headers: dict[str, str]
    body: bytes


def percent_encode(text: str) -> str:
    """RFC 3986: unreserved ASCII kept, every other UTF-8 byte as upper-case %XX."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in str(text).encode("utf-8"))


def form_encode(params: Mapping[str, str]) -> str:
    """A form body as the Python SDKs write one: keys sorted, spaces as ``+``."""
    return "&".join(
        f"{_plus(k)}={_plus(v)}" for k, v in sorted(params.items(), key=lambda kv: kv[0])
    )


def flatten(value: Mapping[str, Any]) -> dict[str, str]:
    """Structured parameters flattened like the new SDK does: ``TargetMsg.1.Target``.

    Lists count from 1, dicts add their keys, None is dropped, other scalars become ``str()``
    (so booleans read ``True`` / ``False``, as the SDK sends them).
    """
    flat: dict[str, str] = {}
    _flatten_into(flat, "", value)
    return flat


def sign_acs3(
    key_id: str,
    secret: str,
    host: str,
    action: str,
    params: Mapping[str, str],
    version: str = "2020-10-28",
    now: float | None = None,
    nonce: str | None = None,
    algorithm: str = "ACS3-HMAC-SHA256",
    extra_headers: Mapping[str, str] | None = None,
) -> SignedCall:
    """A POST to ``/`` with the parameters in a form body and every header signed.

    ``extra_headers`` (``user-agent``, ``x-acs-credentials-provider``, ...) are sent and signed
    too, as the SDK signs every header it sets itself.
    """
    digest = {"ACS3-HMAC-SHA256": "sha256", "ACS3-HMAC-SM3": "sm3"}[algorithm]
    body = form_encode(params).encode("utf-8")
    body_hash = hashlib.new(digest, body).hexdigest()
    headers = {
        "accept": "application/json",
        "host": host,
        "x-acs-action": action,
        "x-acs-content-sha256": body_hash,
        "x-acs-date": _timestamp(now),
        "x-acs-signature-nonce": nonce or secrets.token_hex(16),
        "x-acs-version": version,
    }
    if body:
        headers["content-type"] = _FORM_TYPE
    headers.update({name.lower(): value for name, value in (extra_headers or {}).items()})
    names = sorted(headers)
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",  # no query string
            "".join(f"{name}:{headers[name].strip()}\n" for name in names),
            ";".join(names),
            body_hash,
        ]
    )
    request_hash = hashlib.new(digest, canonical_request.encode("utf-8")).hexdigest()
    string_to_sign = f"{algorithm}\n{request_hash}"
    signature = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), digest)
    headers["authorization"] = (
        f"{algorithm} Credential={key_id},SignedHeaders={';'.join(names)},"
        f"Signature={signature.hexdigest()}"
    )
    return SignedCall("POST", "/", headers, body)


def sign_v1(
    key_id: str,
    secret: str,
    action: str,
    params: Mapping[str, str],
    version: str,
    method: str = "POST",
    now: float | None = None,
    nonce: str | None = None,
) -> SignedCall:
    """RPC v1 as the old Python SDK sends it: common parameters and ``Signature`` in the query.

    With POST the business parameters go in a form body; with GET everything is in the query,
    sorted, as ``@alicloud/pop-core`` sends it.
    """
    common = {
        "AccessKeyId": key_id,
        "Action": action,
        "Format": "JSON",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": nonce or secrets.token_hex(16),
        "SignatureVersion": "1.0",
        "Timestamp": _timestamp(now),
        "Version": version,
    }
    signed = {**common, **params}
    string_to_sign = v1_string_to_sign(method, signed)
    mac = hmac.new(f"{secret}&".encode(), string_to_sign.encode("utf-8"), hashlib.sha1)
    signature = base64.b64encode(mac.digest()).decode("ascii")
    in_query = dict(sorted(signed.items())) if method == "GET" else dict(common)
    in_query["Signature"] = signature
    path = "/?" + "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in in_query.items())
    headers: dict[str, str] = {}
    body = b""
    if method != "GET":
        body = form_encode(params).encode("utf-8")
        headers["content-type"] = _FORM_TYPE
    return SignedCall(method, path, headers, body)


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """``METHOD&%2F&`` and the parameters, sorted by name and encoded, encoded once more.

    The SDKs sort the names before encoding them (Python's string order), which differs from
    sorting the encoded names only for names with reserved or non-ASCII characters.
    """
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
    )
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def _plus(text: str) -> str:
    return percent_encode(text).replace("%20", "+")


def _timestamp(now: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))


def _flatten_into(flat: dict[str, str], prefix: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten_into(flat, f"{prefix}.{key}" if prefix else str(key), item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value, start=1):
            _flatten_into(flat, f"{prefix}.{index}", item)
    elif isinstance(value, bytes):
        flat[prefix] = value.decode("utf-8")
    else:
        flat[prefix] = str(value)
