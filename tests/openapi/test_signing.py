"""Known-answer tests of the signature verifier over the six captured SDK requests.

The requests (tests/data/pop-captured.json, described in tests/openapi/vectors.py) were signed in
2026 with AccessKeyId ``ak`` and secret ``sk``; the clock is pinned to each request's own time, so
these tests do not depend on when they run. Each verifies as captured and fails with the gateway's
code once any signed part, the secret or the clock is changed.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.openapi.vectors import ACS3, V1, VECTORS, Vector
from tests.support import signer
from tidings.openapi import signing
from tidings.openapi.errors import GatewayError
from tidings.openapi.form import decode_params

SKEW = 15 * 60
MISMATCH_PREFIX = (
    "Specified signature is not matched with our calculation. server string to sign is:"
)


def verified(vector: Vector, secret: str = "sk", **changes) -> signing.Claim:
    request = vector.request(**changes)
    claim = signing.read_claim(request)
    signing.check_fresh(claim, vector.epoch, SKEW)
    signing.verify(claim, request, secret)
    return claim


def refused(code: str, vector: Vector, secret: str = "sk", **changes) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        verified(vector, secret, **changes)
    assert caught.value.code == code, caught.value.message
    assert caught.value.status == 400
    return caught.value


def server_string_to_sign(vector: Vector, **changes) -> str:
    request = vector.request(**changes)
    claim = signing.read_claim(request)
    if claim.scheme == signing.V1_METHOD:
        return signing.v1_string_to_sign(request)
    return signing.acs3_string_to_sign(claim, request)


def assert_mismatch(vector: Vector, secret: str = "sk", **changes) -> None:
    error = refused("SignatureDoesNotMatch", vector, secret, **changes)
    assert error.message == MISMATCH_PREFIX + server_string_to_sign(vector, **changes)


def with_headers(vector: Vector, **replaced: str | None) -> dict[str, str]:
    headers = dict(vector.headers)
    for name, value in replaced.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def with_authorization(vector: Vector, old: str, new: str) -> dict[str, str]:
    authorization = vector.headers["authorization"]
    assert old in authorization
    return with_headers(vector, authorization=authorization.replace(old, new))


def without_param(query_string: str, name: str) -> str:
    return "&".join(p for p in query_string.split("&") if p.partition("=")[0] != name)


# --- every capture verifies, at its own time and within the allowed skew ---


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_capture_verifies_at_its_own_time(name: str) -> None:
    vector = VECTORS[name]
    claim = verified(vector)
    assert (claim.access_key_id, claim.action) == ("ak", "PushMultiple")
    assert claim.timestamp == vector.timestamp
    assert claim.version == ("2019-08-21" if name == "old_sdk_v1" else "2020-10-28")
    assert claim.scheme == ("ACS3-HMAC-SHA256" if name in ACS3 else "HMAC-SHA1")


@pytest.mark.parametrize("name", sorted(VECTORS))
@pytest.mark.parametrize("offset", [-SKEW, SKEW])
def test_capture_is_fresh_up_to_fifteen_minutes_either_way(name: str, offset: int) -> None:
    vector = VECTORS[name]
    signing.check_fresh(signing.read_claim(vector.request()), vector.epoch + offset, SKEW)


@pytest.mark.parametrize("name", sorted(VECTORS))
@pytest.mark.parametrize("offset", [-16 * 60, 16 * 60])
def test_capture_expires_after_fifteen_minutes_either_way(name: str, offset: int) -> None:
    vector = VECTORS[name]
    claim = signing.read_claim(vector.request())
    with pytest.raises(GatewayError) as caught:
        signing.check_fresh(claim, vector.epoch + offset, SKEW)
    assert caught.value.code == "InvalidTimeStamp.Expired"
    assert vector.timestamp in caught.value.message


def test_old_sdk_string_to_sign_is_the_sdks_own() -> None:
    vector = VECTORS["old_sdk_v1"]
    assert signing.v1_string_to_sign(vector.request()) == vector.sdk_string_to_sign


def test_acs3_string_to_sign_is_the_documented_one() -> None:
    vector = VECTORS["new_sdk_acs3"]
    assert hashlib.sha256(vector.body).hexdigest() == vector.headers["x-acs-content-sha256"]
    assert server_string_to_sign(vector) == (
        "ACS3-HMAC-SHA256\nf1fc1cf9fd7cb35870ef291d9c4333433e683affd2faa27a71a41b8b93bd906e"
    )


def test_sts_capture_signs_the_token_headers() -> None:
    claim = verified(VECTORS["new_sdk_acs3_sts"])
    assert {"x-acs-accesskey-id", "x-acs-security-token"} <= set(claim.signed_headers)


def test_v1_action_comes_from_the_signed_parameters_not_the_headers() -> None:
    vector = VECTORS["old_sdk_v1"]
    headers = with_headers(vector, x_acs_action="DeleteTemplate", x_acs_version="2020-10-28")
    claim = verified(vector, headers=headers)
    assert (claim.action, claim.version) == ("PushMultiple", "2019-08-21")


def test_sm3_verifies_when_signed_with_sm3() -> None:
    call = signer.sign_acs3(
        "ak", "sk", "127.0.0.1:8080", "PushMultiple", {"AppId": "A"}, algorithm="ACS3-HMAC-SM3"
    )
    request = signing.SignedRequest("POST", {}, {"AppId": "A"}, call.headers, call.body)
    claim = signing.read_claim(request)
    assert claim.scheme == "ACS3-HMAC-SM3"
    signing.verify(claim, request, "sk")
    as_sha256 = dict(call.headers)
    as_sha256["authorization"] = as_sha256["authorization"].replace("SM3", "SHA256", 1)
    forged = signing.SignedRequest("POST", {}, {"AppId": "A"}, as_sha256, call.body)
    with pytest.raises(GatewayError) as caught:
        signing.verify(signing.read_claim(forged), forged, "sk")
    assert caught.value.code == "SignatureDoesNotMatch"


# --- any change to what was signed ---


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_wrong_secret(name: str) -> None:
    assert_mismatch(VECTORS[name], secret="sk2")


def test_wrong_secret_shows_the_old_sdk_its_own_string_to_sign() -> None:
    """The old SDK compares the text after the first colon with its own string to sign."""
    error = refused("SignatureDoesNotMatch", VECTORS["old_sdk_v1"], secret="SK")
    assert error.message.split(":", 1)[1] == VECTORS["old_sdk_v1"].sdk_string_to_sign


@pytest.mark.parametrize("name", sorted(n for n in VECTORS if VECTORS[n].body))
def test_changed_body_byte(name: str) -> None:
    vector = VECTORS[name]
    assert b"mk2" in vector.body
    assert_mismatch(vector, body=vector.body.replace(b"mk2", b"mk3"))


@pytest.mark.parametrize("name", ACS3)
def test_changed_signed_header(name: str) -> None:
    vector = VECTORS[name]
    assert_mismatch(vector, headers=with_headers(vector, user_agent="curl/8.0"))
    assert_mismatch(vector, headers=with_headers(vector, x_acs_action="DeleteTemplate"))


@pytest.mark.parametrize("name", ACS3)
def test_wrong_content_hash(name: str) -> None:
    vector = VECTORS[name]
    other = hashlib.sha256(vector.body + b"&x=1").hexdigest()
    refused(
        "SignatureDoesNotMatch",
        vector,
        headers=with_headers(vector, x_acs_content_sha256=other),
    )


@pytest.mark.parametrize("name", ACS3)
def test_acs3_query_added(name: str) -> None:
    assert_mismatch(VECTORS[name], query_string="Extra=1")


@pytest.mark.parametrize("name", [n for n in V1 if VECTORS[n].query_string])
def test_changed_query_value(name: str) -> None:
    vector = VECTORS[name]
    changed = vector.query_string.replace("Format=JSON", "Format=XML").replace(
        "Format=json", "Format=xml"
    )
    assert changed != vector.query_string
    assert_mismatch(vector, query_string=changed)


def test_v1_body_wins_over_the_query_on_a_clash() -> None:
    """The old SDK's string to sign merges query and body, the body last."""
    vector = VECTORS["old_sdk_v1"]
    refused("SignatureDoesNotMatch", vector, body=vector.body + b"&Format=XML")


# --- malformed signatures ---


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("SignedHeaders=accept;content-type", "SignedHeaders=content-type;accept"),
        ("content-type;host;user-agent", "content-type;user-agent"),
        ("SignedHeaders=accept", "SignedHeaders=Accept"),
        ("Credential=ak,", ""),
        (",Signature=", ",Sig="),
        ("Credential=ak,", "Credential ak,"),
    ],
    ids=["unsorted", "host-unsigned", "upper-case", "no-credential", "no-signature", "no-equals"],
)
def test_malformed_authorization_is_incomplete(old: str, new: str) -> None:
    vector = VECTORS["new_sdk_acs3"]
    refused("IncompleteSignature", vector, headers=with_authorization(vector, old, new))


def test_unsigned_acs_header_is_incomplete() -> None:
    vector = VECTORS["new_sdk_acs3"]
    headers = with_headers(vector, x_acs_security_token="tok")
    error = refused("IncompleteSignature", vector, headers=headers)
    assert "x-acs-security-token" in error.message


def test_signed_header_not_sent_is_incomplete() -> None:
    vector = VECTORS["new_sdk_acs3"]
    error = refused("IncompleteSignature", vector, headers=with_headers(vector, user_agent=None))
    assert "user-agent" in error.message


@pytest.mark.parametrize("header", sorted(signing.ACS3_MUST_SIGN))
def test_required_header_left_out_is_incomplete(header: str) -> None:
    vector = VECTORS["new_sdk_acs3"]
    signed = vector.headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
    fewer = ";".join(n for n in signed.split(";") if n != header)
    headers = with_authorization(vector, signed, fewer)
    headers.pop(header)
    refused("IncompleteSignature", vector, headers=headers)


def test_unknown_acs3_algorithm() -> None:
    vector = VECTORS["new_sdk_acs3"]
    headers = with_authorization(vector, "ACS3-HMAC-SHA256 ", "ACS3-HMAC-MD5 ")
    error = refused("InvalidSignatureMethod", vector, headers=headers)
    assert "ACS3-HMAC-MD5" in error.message


@pytest.mark.parametrize("method", ["HMAC-SHA256", "hmac-sha1", "RSA"])
def test_v1_signature_method_other_than_hmac_sha1(method: str) -> None:
    vector = VECTORS["old_sdk_v1"]
    query = vector.query_string.replace("SignatureMethod=HMAC-SHA1", f"SignatureMethod={method}")
    refused("InvalidSignatureMethod", vector, query_string=query)


@pytest.mark.parametrize("param", signing.V1_REQUIRED)
def test_v1_missing_parameter(param: str) -> None:
    vector = VECTORS["old_sdk_v1"]
    error = refused(
        f"Missing{param}", vector, query_string=without_param(vector.query_string, param)
    )
    assert error.message == f"{param} is mandatory for this action."


def test_v1_empty_parameter_counts_as_missing() -> None:
    vector = VECTORS["old_sdk_v1"]
    query = vector.query_string.replace("AccessKeyId=ak", "AccessKeyId=")
    refused("MissingAccessKeyId", vector, query_string=query)


def test_v1_signature_version_other_than_1_0() -> None:
    vector = VECTORS["old_sdk_v1"]
    query = vector.query_string.replace("SignatureVersion=1.0", "SignatureVersion=2.0")
    refused("InvalidParameter", vector, query_string=query)


BAD_TIMESTAMPS = [
    "",
    "1795741652",
    "2026-11-27 01:07:32",
    "2026-11-27T01:07:32",
    "2026-11-27T01:07:32.000Z",
    "2026-11-27T01:07:32+08:00",
    "2026-11-27t01:07:32z",
    "2026-13-27T01:07:32Z",
    "2026-02-30T01:07:32Z",
    "2026-11-27T24:07:32Z",
    "2026-11-27T01:07:60Z",  # a leap second: no datetime holds it
    "Fri, 27 Nov 2026 01:07:32 GMT",
    "２０２６-11-27T01:07:32Z",  # full-width digits
    " 2026-11-27T01:07:32Z",
]


@pytest.mark.parametrize("value", BAD_TIMESTAMPS)
def test_bad_acs3_date_format(value: str) -> None:
    vector = VECTORS["new_sdk_acs3"]
    refused("InvalidTimeStamp.Format", vector, headers=with_headers(vector, x_acs_date=value))


@pytest.mark.parametrize("value", [v for v in BAD_TIMESTAMPS if v])
def test_bad_v1_timestamp_format(value: str) -> None:
    vector = VECTORS["old_sdk_v1"]
    query = (
        without_param(vector.query_string, "Timestamp")
        + "&Timestamp="
        + signer.percent_encode(value)
    )
    refused("InvalidTimeStamp.Format", vector, query_string=query)


# --- v1 read from the request's own escapes, and the other encodings a client may choose ---


@pytest.mark.parametrize("name", V1)
def test_v1_string_as_the_sdks_send_it_is_read_from_their_escapes(name: str) -> None:
    """Each SDK's query and body (sorted or not, ``+`` or ``%20``) give the string to sign as
    they are, without encoding a parameter again."""
    request = VECTORS[name].request()
    as_sent = signing._v1_string_as_sent(request)
    assert as_sent is not None
    assert as_sent.decode() == signing.v1_string_to_sign(request)


def reencoded(body: bytes, old: bytes, new: bytes) -> bytes:
    assert old in body
    return body.replace(old, new)


# The same parameters as the signer writes them, encoded as a lax client might: lower-case
# escapes, an unreserved character escaped, reserved ones left bare, the pairs in another order.
OTHER_ENCODINGS = {
    "lower-case escape": lambda body: reencoded(body, b"%7B", b"%7b"),
    "needless escape": lambda body: reencoded(body, b"AppId=A", b"%41ppId=%41"),
    "bare reserved": lambda body: reencoded(body, b"%3A", b":").replace(b"%2C", b","),
    "space as %20": lambda body: reencoded(body, b"+", b"%20"),
    "unsorted": lambda body: b"&".join(reversed(body.split(b"&"))),
}


@pytest.mark.parametrize("encoding", sorted(OTHER_ENCODINGS))
def test_v1_body_encoded_otherwise_verifies_and_stays_bound(encoding: str) -> None:
    params = {"AppId": "A", "TemplateKeyValue": '{"name": "Bob", "n": 1}', "TaskName": "a b"}
    call = signer.sign_v1("ak", "sk", "PushMultiple", params, "2020-10-28", now=1_800_000_000)
    query = call.path_and_query.partition("?")[2]
    body = OTHER_ENCODINGS[encoding](call.body)

    def received(body: bytes) -> signing.SignedRequest:
        return signing.SignedRequest(
            "POST",
            decode_params(query, "query"),
            decode_params(body, "body"),
            {},
            body,
            query.encode(),
        )

    request = received(body)
    assert dict(request.form) == params
    signing.verify(signing.read_claim(request), request, "sk")
    changed = received(body.replace(b"Bob", b"Bot"))
    with pytest.raises(GatewayError) as caught:
        signing.verify(signing.read_claim(changed), changed, "sk")
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.message == MISMATCH_PREFIX + signing.v1_string_to_sign(changed)
