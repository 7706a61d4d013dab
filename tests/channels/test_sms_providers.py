"""The SMS providers against fakes that speak their protocol: Alibaba Cloud SMS through the
official SDK into a fake SendSms that checks the SDK's signature, and the signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from tests.fakes.aliyun_sms import FakeAliyunSms
from tidings.channels.sms import Sms
from tidings.channels.sms.config import check
from tidings.channels.sms.providers import SmsProviders
from tidings.channels.vendor_config import ChannelConfigError

SMS = Sms("+8613800000001", "Tidings", "SMS_1000", {"code": "1234"}, "tidings-sms-7")


def aliyun(aliyun_sms: FakeAliyunSms, **changes: str):
    return check("sms", {"provider": "aliyun", **aliyun_sms.config(), **changes})


async def test_aliyun_sends_through_the_sdk_signed_with_the_app_key(aliyun_sms) -> None:
    providers = SmsProviders()
    try:
        result = await providers.send(aliyun(aliyun_sms), SMS)
    finally:
        await providers.aclose()
    assert result.sent and result.detail.startswith("aliyun BizId ")
    (got,) = aliyun_sms.record.for_token("+8613800000001")
    assert got.body == {
        "PhoneNumbers": "+8613800000001",
        "SignName": "Tidings",
        "TemplateCode": "SMS_1000",
        "TemplateParam": {"code": "1234"},
        "OutId": "tidings-sms-7",
    }
    assert (
        aliyun_sms.schemes[-1] == "ACS3-HMAC-SHA256"
    )  # what the SDK sends (RPC style, v3 signature)


async def test_a_wrong_secret_or_a_refusal_is_a_failure_in_the_providers_words(aliyun_sms) -> None:
    aliyun_sms.reset()
    providers = SmsProviders()
    try:
        wrong = await providers.send(aliyun(aliyun_sms, access_key_secret="not-the-secret"), SMS)
        aliyun_sms.refuse(SMS.phone, "isv.MOBILE_NUMBER_ILLEGAL", "invalid mobile number")
        refused = await providers.send(aliyun(aliyun_sms), SMS)
    finally:
        await providers.aclose()
    assert not wrong.sent and "SignatureDoesNotMatch" in wrong.detail
    assert not refused.sent
    assert refused.detail == "aliyun isv.MOBILE_NUMBER_ILLEGAL: invalid mobile number"
    assert aliyun_sms.record.received == []


async def test_the_webhook_provider_posts_a_signed_json_body() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="queued-1")

    secret = "webhook-secret-0123456789"
    config = check(
        "sms", {"provider": "webhook", "url": "https://sms.example.com/send", "secret": secret}
    )
    providers = SmsProviders(transport=httpx.MockTransport(answer))
    try:
        result = await providers.send(config, SMS)
    finally:
        await providers.aclose()
    assert result == (True, "webhook: queued-1")
    (request,) = seen
    timestamp = request.headers["x-tidings-timestamp"]
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.content, hashlib.sha256)
    assert request.headers["x-tidings-signature"] == f"v1={mac.hexdigest()}"
    assert json.loads(request.content) == {
        "id": "tidings-sms-7",
        "phoneNumber": "+8613800000001",
        "signName": "Tidings",
        "templateCode": "SMS_1000",
        "templateParam": {"code": "1234"},
    }


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ({"provider": "twilio"}, "provider must be one of aliyun, webhook"),
        ({"provider": "aliyun", "access_key_id": "a"}, "access_key_secret is missing"),
        ({"provider": "webhook", "url": "http://sms.example.com", "secret": "x" * 16}, "https"),
        ({"provider": "webhook", "url": "https://a.example", "secret": "short"}, "16 characters"),
        ("[1]", "must be a JSON object"),
    ],
)
def test_sms_configs_are_checked(config, said: str) -> None:
    with pytest.raises(ChannelConfigError) as caught:
        check("sms", config)
    assert said in str(caught.value)


def test_secrets_are_not_shown() -> None:
    config = check("sms", {"provider": "aliyun", "access_key_id": "a", "access_key_secret": "s"})
    assert config.public() == {
        "provider": "aliyun",
        "access_key_id": "a",
        "region": "cn-hangzhou",
        "endpoint": "https://dysmsapi.aliyuncs.com",
        "concurrency": 10,
    }


def test_a_stored_config_reads_back() -> None:
    """What is stored (defaults filled in) is checked again each time it is read."""
    for raw in (
        {"provider": "aliyun", "access_key_id": "a", "access_key_secret": "s"},
        {"provider": "webhook", "url": "https://a.example", "secret": "x" * 16},
    ):
        stored = check("sms", raw)
        assert check("sms", stored.to_json()) == stored
