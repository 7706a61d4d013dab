"""The verifier against the tests' independent signer, over arbitrary parameters.

Whatever parameters a client signs (any text, any names), the verifier accepts them as sent and
refuses them after any single change: a value, a parameter added or dropped, the action, the
nonce, the time or the secret.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import signer
from tidings.openapi import signing
from tidings.openapi.errors import GatewayError
from tidings.openapi.form import decode_pairs

NOW = 1_800_000_000
STAMP = "%Y-%m-%dT%H:%M:%SZ"
SCHEMES = ("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", "v1-POST", "v1-GET")
V1_NAMES = {*signing.V1_REQUIRED, "Format", "SignatureVersion"}
CHANGES = ("value", "add", "drop", "action", "nonce", "time", "secret")

names = st.text(min_size=1, max_size=12).filter(lambda k: k not in V1_NAMES)
param_sets = st.dictionaries(names, st.text(max_size=12), max_size=6)


def sign(scheme: str, params: dict[str, str]) -> signer.SignedCall:
    if scheme.startswith("ACS3"):
        return signer.sign_acs3(
            "ak", "sk", "h:1", "PushMultiple", params, now=NOW, algorithm=scheme
        )
    method = scheme.partition("-")[2]
    return signer.sign_v1("ak", "sk", "PushMultiple", params, "2020-10-28", method, now=NOW)


def as_received(call: signer.SignedCall) -> signing.SignedRequest:
    query = call.path_and_query.partition("?")[2]
    return signing.SignedRequest(
        method=call.method,
        query=dict(decode_pairs(query, "query")),  # NUL kept: the signature covers it too
        form=dict(decode_pairs(call.body, "body")),
        headers={name.lower(): value for name, value in call.headers.items()},
        body=call.body,
        raw_query=query.encode(),
    )


def with_query(request: signing.SignedRequest, query: dict[str, str]) -> signing.SignedRequest:
    """The request with another query: the decoded parameters and the bytes that carry them."""
    encode = signer.percent_encode
    raw = "&".join(f"{encode(k)}={encode(v)}" for k, v in query.items())
    return replace(request, query=query, raw_query=raw.encode())


def verify(request: signing.SignedRequest, secret: str = "sk") -> signing.Claim:
    claim = signing.read_claim(request)
    signing.check_fresh(claim, NOW, 900)
    signing.verify(claim, request, secret)
    return claim


def with_params(request: signing.SignedRequest, params: dict[str, str]) -> signing.SignedRequest:
    """The same request carrying other business parameters, wherever the scheme puts them."""
    if request.method == "GET":
        common = {k: v for k, v in request.query.items() if k in {*V1_NAMES, "Signature"}}
        return with_query(request, {**common, **params})
    body = signer.form_encode(params).encode()
    return replace(request, form=params, body=body)


def with_header(request: signing.SignedRequest, name: str, value: str) -> signing.SignedRequest:
    return replace(request, headers={**request.headers, name: value})


def with_common(request: signing.SignedRequest, name: str, value: str) -> signing.SignedRequest:
    if "authorization" in request.headers:
        header = {"Action": "x-acs-action", "Nonce": "x-acs-signature-nonce", "Time": "x-acs-date"}
        return with_header(request, header[name], value)
    param = {"Action": "Action", "Nonce": "SignatureNonce", "Time": "Timestamp"}[name]
    return with_query(request, {**request.query, param: value})


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SCHEMES), param_sets)
def test_signed_parameters_verify(scheme: str, params: dict[str, str]) -> None:
    request = as_received(sign(scheme, params))
    claim = verify(request)
    assert (claim.access_key_id, claim.action) == ("ak", "PushMultiple")
    business = {k: v for k, v in signing.params_of(request).items() if k not in V1_NAMES}
    business.pop("Signature", None)
    assert business == params
    if scheme.startswith("v1"):  # read from the request's own escapes, as encoding anew would
        as_sent = signing._v1_string_as_sent(request)
        assert as_sent is not None
        assert as_sent.decode() == signing.v1_string_to_sign(request)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SCHEMES), param_sets, st.sampled_from(CHANGES), st.data())
def test_any_single_change_is_refused(
    scheme: str, params: dict[str, str], change: str, data: st.DataObject
) -> None:
    request = as_received(sign(scheme, params))
    secret = "sk"
    if change == "value" and params:
        key = data.draw(st.sampled_from(sorted(params)))
        value = data.draw(st.text(max_size=12).filter(lambda v: v != params[key]))
        request = with_params(request, {**params, key: value})
    elif change == "add" or (change in ("value", "drop") and not params):
        key = data.draw(names.filter(lambda k: k not in params))
        request = with_params(request, {**params, key: data.draw(st.text(max_size=12))})
    elif change == "drop":
        key = data.draw(st.sampled_from(sorted(params)))
        request = with_params(request, {k: v for k, v in params.items() if k != key})
    elif change == "action":
        request = with_common(request, "Action", "DeleteTemplate")
    elif change == "nonce":
        request = with_common(request, "Nonce", "0" * 32)
    elif change == "time":
        request = with_common(request, "Time", time.strftime(STAMP, time.gmtime(NOW + 1)))
    else:
        secret = data.draw(st.text(min_size=1, max_size=12).filter(lambda s: s != "sk"))
    if "authorization" in request.headers and data.draw(st.booleans()):
        # a forger who also fixes the body hash still cannot match the signature
        digest = "sm3" if scheme.endswith("SM3") else "sha256"
        fixed = hashlib.new(digest, request.body).hexdigest()
        request = with_header(request, "x-acs-content-sha256", fixed)
    with pytest.raises(GatewayError) as caught:
        verify(request, secret)
    if scheme.startswith("ACS3") and not params and request.body:
        # a body added to a call signed without one: its content-type was never signed
        assert caught.value.code == "IncompleteSignature"
    else:
        assert caught.value.code == "SignatureDoesNotMatch"


def reference_v1_string_to_sign(method: str, params: dict[str, str]) -> str:
    """RPC v1's string to sign as the SDKs write it, with ``urllib.parse.quote`` twice."""

    def pct(text: str) -> str:
        return quote(text, safe="~")

    canonical = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(params.items()))
    return f"{method}&%2F&{pct(canonical)}"


# Any text a decoded form can hold: every plane, no lone surrogates (not UTF-8), no NUL (refused).
any_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@settings(max_examples=2000, deadline=None)
@given(any_text)
def test_percent_encoding_is_urllib_quote(text: str) -> None:
    assert signing._pct(text) == quote(text, safe="~")


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(("GET", "POST")),
    st.dictionaries(any_text.filter(bool), any_text, max_size=8),
    st.dictionaries(any_text.filter(bool), any_text, max_size=8),
)
def test_v1_string_to_sign_is_the_reference_one(
    method: str, query: dict[str, str], form: dict[str, str]
) -> None:
    request = signing.SignedRequest(method, query, form, {}, b"")
    signed = {**query, **form}
    signed.pop("Signature", None)
    assert signing.v1_string_to_sign(request) == reference_v1_string_to_sign(method, signed)
