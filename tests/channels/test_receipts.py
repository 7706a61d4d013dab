"""Huawei's receipts (HMS v1 and Push Kit for HarmonyOS v2) read and checked without a server:
the X-HUAWEI-CALLBACK-ID signature with the app's callback user name and key, its age, and the
statuses read into receipts for Tidings' own deliveries."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.fakes.harmonyos import FakeHarmony
from tests.fakes.hms import huawei_callback_id as signed
from tidings.channels import hms
from tidings.channels.catalog import check_config
from tidings.channels.receipt_formats import Event, Receipt, ReceiptMalformed, ReceiptRefused


def huawei_callback_id(username: str, secret: str) -> httpx.Headers:
    """The header as the server reads it (names case-insensitive)."""
    return httpx.Headers(signed(username, secret))


KEYS = {"receipt_username": "user", "receipt_secret": "key"}
BASE = {"app_id": "1", "client_id": "1", "client_secret": "s"}


def config(**keys):
    return check_config("hms", {**BASE, **keys})


def body(*statuses) -> bytes:
    return json.dumps({"statuses": list(statuses)}).encode()


def test_statuses_of_both_versions_become_receipts() -> None:
    got = hms.read_receipts(
        config(**KEYS),
        huawei_callback_id("user", "key"),
        body(
            {"biTag": "d5", "status": 0, "token": "t"},
            {"biTag": "d6", "status": 2, "token": "t"},
            {"biTag": "d7", "deliveryStatus": {"result": 0, "timestamp": 1}},
            {"biTag": "someone-else", "status": 0},
        ),
    )
    assert got == [
        Receipt(5, Event.ARRIVED, "receipt status 0"),
        Receipt(6, Event.FAILED, "receipt status 2"),
        Receipt(7, Event.ARRIVED, "receipt status 0"),
    ]


@pytest.mark.parametrize(
    ("keys", "signer", "words"),
    [
        ({}, ("user", "key"), "once receipt_username and receipt_secret"),
        (KEYS, None, "missing or incomplete"),
        (KEYS, ("other", "key"), "signature does not match"),
        (KEYS, ("user", "other"), "signature does not match"),
    ],
)
def test_receipts_must_be_signed_with_the_apps_callback_key(keys, signer, words) -> None:
    # Signed as the test runs, not as it is collected: a long run reaches a test later than
    # the ten minutes a receipt's timestamp may be off.
    headers = huawei_callback_id(*signer) if signer else httpx.Headers()
    with pytest.raises(ReceiptRefused, match=words):
        hms.read_receipts(config(**keys), headers, body())


def test_an_old_signature_is_refused() -> None:
    stamp, nonce = str(int((time.time() - 3600) * 1000)), "n"
    value = hms.hmac_sha256_b64("key", stamp + nonce + "user")
    header = {"x-huawei-callback-id": f"timestamp={stamp};nonce={nonce};value={value}"}
    with pytest.raises(ReceiptRefused, match="too old"):
        hms.check_signature(config(**KEYS), header, time.time())


def test_a_body_not_in_huaweis_format_is_malformed() -> None:
    for raw in (b"nope", b"{}", b'{"statuses": {}}', b'{"statuses": [1]}'):
        with pytest.raises(ReceiptMalformed):
            hms.read_statuses(raw)


def test_the_receipt_secret_is_never_shown() -> None:
    fake = FakeHarmony.__new__(FakeHarmony)
    fake.url = "http://127.0.0.1:1"
    checked = check_config("harmonyos", {**fake.config(), **KEYS})
    assert checked.public()["receipt_username"] == "user"
    assert "receipt_secret" not in checked.public()
