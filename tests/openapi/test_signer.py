"""The tests' own signer (tests/support/signer.py) reproduces what the official clients sent.

Other tests trust that signer to stand in for the SDKs, so it is held to the captured requests:
given the same parameters, nonce and time, it must produce the same signature byte for byte.
"""

from __future__ import annotations

from tests.openapi.vectors import VECTORS
from tests.support import signer

V1_COMMON = {
    "AccessKeyId",
    "Action",
    "Format",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "Timestamp",
    "Version",
}


def test_acs3_reproduces_the_new_sdk_authorization() -> None:
    vector = VECTORS["new_sdk_acs3"]
    headers = vector.headers
    call = signer.sign_acs3(
        "ak",
        "sk",
        headers["host"],
        "PushMultiple",
        vector.request().form,
        now=vector.epoch,
        nonce=headers["x-acs-signature-nonce"],
        extra_headers={
            "User-Agent": headers["user-agent"],
            "x-acs-credentials-provider": "static_ak",
        },
    )
    assert call.body == vector.body
    assert call.headers["authorization"] == headers["authorization"]
    assert call.headers["x-acs-content-sha256"] == headers["x-acs-content-sha256"]


def test_v1_post_reproduces_the_old_sdk_signature() -> None:
    vector = VECTORS["old_sdk_v1"]
    params = vector.params
    business = {k: v for k, v in params.items() if k not in V1_COMMON}
    assert business["SignatureType"] == "" and business["RegionId"] == "cn-hangzhou"
    call = signer.sign_v1(
        "ak",
        "sk",
        "PushMultiple",
        business,
        "2019-08-21",
        now=vector.epoch,
        nonce=params["SignatureNonce"],
    )
    assert "Signature=GJxnSoG%2FyvDM92LwNkNik4E14Zk%3D" in call.path_and_query
    merged = {k: v for k, v in params.items() if k != "Signature"}
    assert signer.v1_string_to_sign("POST", merged) == vector.sdk_string_to_sign


def test_v1_get_reproduces_the_pop_core_request_line() -> None:
    vector = VECTORS["popcore_v1_get"]
    params = vector.params
    call = signer.sign_v1(
        "ak",
        "sk",
        "PushMultiple",
        {k: v for k, v in params.items() if k not in V1_COMMON},
        params["Version"],
        method="GET",
        now=vector.epoch,
        nonce=params["SignatureNonce"],
    )
    assert (call.method, call.path_and_query, call.body) == ("GET", vector.target, b"")


def test_percent_encoding_is_rfc_3986() -> None:
    assert signer.percent_encode("a b*c~d/e+f=中") == "a%20b%2Ac~d%2Fe%2Bf%3D%E4%B8%AD"
    assert signer.form_encode({"b": "x y", "a": "+"}) == "a=%2B&b=x+y"


def test_flatten_follows_the_new_sdk() -> None:
    flat = signer.flatten(
        {
            "TargetMsg": [{"Target": "u1", "MsgKey": "k"}, {"Target": "u2", "Skipped": None}],
            "TransparentMessagePayload": {"hms": {"x": 1}},
            "Silent": True,
            "Empty": "",
            "Nothing": [],
        }
    )
    assert flat == {
        "TargetMsg.1.Target": "u1",
        "TargetMsg.1.MsgKey": "k",
        "TargetMsg.2.Target": "u2",
        "TransparentMessagePayload.hms.x": "1",
        "Silent": "True",
        "Empty": "",
    }
