"""Checking vendor channel configs: defaults, and refusals that name the key at fault."""

from __future__ import annotations

import re

import pytest

from tests.fakes.credentials import apns_config, fcm_config, fcm_key, service_account
from tidings.channels.catalog import check_config
from tidings.channels.vendor_config import ChannelConfigError

GOOD = {
    "hms": {"app_id": "10086", "client_id": "10086", "client_secret": "s3cret"},
    "honor": {"app_id": "104", "client_id": "cid", "client_secret": "s3cret"},
    "xiaomi": {"app_secret": "s3cret", "package_name": "com.example"},
    "oppo": {"app_key": "ak", "master_secret": "s3cret"},
    "vivo": {"app_id": "12345", "app_key": "ak", "app_secret": "s3cret"},
}


def test_defaults_are_the_vendors_real_hosts() -> None:
    assert check_config("hms", GOOD["hms"])["base_url"] == "https://push-api.cloud.huawei.com"
    assert check_config("hms", GOOD["hms"])["auth_url"].startswith("https://oauth-login.cloud")
    assert check_config("xiaomi", GOOD["xiaomi"])["base_url"] == "https://api.xmpush.xiaomi.com"
    assert check_config("vivo", GOOD["vivo"])["base_url"] == "https://api-push.vivo.com.cn"
    assert check_config("oppo", GOOD["oppo"])["base_url"] == "https://api.push.oppomobile.com"
    honor = check_config("honor", GOOD["honor"])
    assert honor["base_url"] == "https://push-api.cloud.hihonor.com"
    apns = dict(apns_config("https://x"))
    del apns["base_url"], apns["environment"]
    assert check_config("apns", apns)["base_url"] == "https://api.push.apple.com"
    apns["environment"] = "sandbox"
    assert check_config("apns", apns)["base_url"] == "https://api.sandbox.push.apple.com"
    fcm = check_config("fcm", {"service_account": service_account("https://t.example/token")})
    assert fcm["base_url"] == "https://fcm.googleapis.com"
    assert fcm["auth_url"] == "https://t.example/token"  # the service account's token_uri


def test_base_url_and_auth_url_point_elsewhere() -> None:
    config = check_config(
        "hms", {**GOOD["hms"], "base_url": "http://127.0.0.1:9/", "auth_url": "http://a:1/t"}
    )
    assert config["base_url"] == "http://127.0.0.1:9"
    assert config["auth_url"] == "http://a:1/t"


def test_config_may_arrive_as_json_text() -> None:
    assert check_config("oppo", '{"app_key": "ak", "master_secret": "m"}')["app_key"] == "ak"


def test_secrets_are_not_public() -> None:
    assert "client_secret" not in check_config("hms", GOOD["hms"]).public()
    assert "private_key" not in check_config("apns", apns_config("https://x")).public()
    assert (
        "service_account" not in check_config("fcm", fcm_config("https://f", "https://t")).public()
    )
    assert check_config("vivo", GOOD["vivo"]).public()["app_id"] == "12345"


@pytest.mark.parametrize(
    ("channel", "change", "named"),
    [
        ("hms", {"client_secret": None}, "client_secret is missing"),
        ("honor", {"app_id": ""}, "app_id must be a non-empty string"),
        ("xiaomi", {"package_name": 5}, "package_name must be a non-empty string"),
        ("oppo", {"master_secret": None}, "master_secret is missing"),
        ("vivo", {"app_id": "abc"}, "app_id must be the numeric vivo app id"),
        ("hms", {"base_url": "ftp://x"}, "base_url must be an http(s) URL"),
        ("hms", {"auth_url": "nowhere"}, "auth_url must be an http(s) URL"),
        ("oppo", {"concurrency": 0}, "concurrency must be a whole number from 1 to 1000"),
        ("vivo", {"region": "cn"}, "unknown key region"),
    ],
)
def test_refusals_name_the_key(channel: str, change: dict, named: str) -> None:
    raw = {**GOOD[channel], **change}
    with pytest.raises(ChannelConfigError, match=re.escape(named)):
        check_config(channel, {k: v for k, v in raw.items() if v is not None})


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"team_id": "short"}, "team_id must be 10 upper-case letters or digits"),
        ({"key_id": None}, "key_id is missing"),
        ({"private_key": "not a key"}, "private_key is not a PEM private key"),
        ({"environment": "staging"}, "environment must be one of production, sandbox"),
        ({"base_url": "http://127.0.0.1:1"}, "base_url must be an https URL"),
        ({"bundle_id": "a b"}, "bundle_id must be a bundle id"),
    ],
)
def test_apns_refusals(change: dict, named: str) -> None:
    raw = {**apns_config("https://127.0.0.1:1"), **change}
    with pytest.raises(ChannelConfigError, match=re.escape(named)):
        check_config("apns", {k: v for k, v in raw.items() if v is not None})


def test_apns_key_must_be_p256() -> None:
    from cryptography.hazmat.primitives import serialization

    rsa_pem = fcm_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ChannelConfigError, match="private_key must be the P-256"):
        check_config("apns", {**apns_config("https://x"), "private_key": rsa_pem.decode()})


@pytest.mark.parametrize(
    ("account", "named"),
    [
        ("[]", "service_account must be the service account's JSON object"),
        ({"project_id": "p"}, "service_account.client_email must be a non-empty string"),
    ],
)
def test_fcm_refusals(account, named: str) -> None:
    with pytest.raises(ChannelConfigError, match=re.escape(named)):
        check_config("fcm", {"service_account": account})


def test_fcm_key_must_be_rsa() -> None:
    account = service_account("https://t")
    account["private_key"] = apns_config("https://x")["private_key"]
    with pytest.raises(ChannelConfigError, match="private_key must be an RSA key"):
        check_config("fcm", {"service_account": account})


def test_unknown_channel_and_bad_json() -> None:
    with pytest.raises(ChannelConfigError, match="unknown channel 'meizu'"):
        check_config("meizu", {})
    with pytest.raises(ChannelConfigError, match="not valid JSON"):
        check_config("hms", "{")
    with pytest.raises(ChannelConfigError, match="must be a JSON object"):
        check_config("hms", "[1]")
