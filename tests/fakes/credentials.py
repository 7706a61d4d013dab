"""Test credentials in the vendors' own formats: an APNs .p8 key, an FCM service account.

Made fresh per test run; each fake verifies signatures against the public half.
"""

from __future__ import annotations

import functools
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

TEAM_ID = "TEAM123456"
KEY_ID = "KEY7654321"
BUNDLE_ID = "com.example.tidings"
PROJECT_ID = "tidings-test"


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@functools.cache
def apns_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@functools.cache
def fcm_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def apns_config(base_url: str, **extra) -> dict:
    return {
        "team_id": TEAM_ID,
        "key_id": KEY_ID,
        "private_key": _pem(apns_key()),
        "bundle_id": BUNDLE_ID,
        "environment": "sandbox",
        "base_url": base_url,
        **extra,
    }


def service_account(token_uri: str) -> dict:
    return {
        "type": "service_account",
        "project_id": PROJECT_ID,
        "private_key_id": "abc123",
        "private_key": _pem(fcm_key()),
        "client_email": f"push@{PROJECT_ID}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }


def fcm_config(base_url: str, token_uri: str) -> dict:
    return {"service_account": service_account(token_uri), "base_url": base_url}


def as_json(config: dict) -> str:
    return json.dumps(config)
