"""The Web Push adapter against the fake push service: the VAPID JWT (checked with the app's
public key, for the endpoint's origin), the aes128gcm payload decrypted with the browser's own
private key, TTL/Urgency/Topic, gone subscriptions, Retry-After, and the configuration."""

from __future__ import annotations

import json

import pytest

from tests.channels.harness import Harness
from tests.channels.outbound import outbound
from tests.fakes.webpush import FakeWebPush
from tidings.channels import webpush
from tidings.channels.catalog import check_config
from tidings.channels.vendor_config import ChannelConfigError
from tidings.contract import Status
from tidings.delivery.routing import route
from tidings.devices.rules import check_vendor_platform
from tidings.errors import ServiceError

SUBJECT = "mailto:ops@example.com"
LOCAL = {"subject": SUBJECT, "allowed_hosts": ["127.0.0.1"]}  # the fake is on this machine


@pytest.fixture(scope="module")
def fake():
    running = FakeWebPush().start()
    yield running
    running.stop()


def harness(fake: FakeWebPush, config_values: dict = LOCAL) -> tuple[Harness, str]:
    """A channel with a freshly generated VAPID key, and a browser subscribed for it."""
    fake.reset()
    config = check_config("webpush", config_values)
    subscription = fake.subscribe(config["vapid_public_key"])
    return Harness("webpush", webpush.make_sender, config), subscription


def web_out(subscription: str, **kwargs):
    return outbound("webpush", subscription, platform="web", **kwargs)


async def send(h: Harness, *outs):
    try:
        return await h.channel.send(list(outs))
    finally:
        await h.channel.aclose()


async def test_a_private_endpoint_is_refused_at_send_time_unless_allowed(fake) -> None:
    h, sub = harness(fake, {"subject": SUBJECT})  # 127.0.0.1 not among the allowed hosts
    out = web_out(sub)
    assert await send(h, out) == []
    assert h.fell_back == [(out, True)]  # a dead subscription: dropped from the device
    assert fake.record.received == []


async def test_payload_arrives_decrypted_with_vapid_checked(fake) -> None:
    h, sub = harness(fake)
    out = web_out(sub, uri="https://example.com/p/1", extended={"orderId": "42"}, expires_in=3600)
    outcomes = await send(h, out)
    assert [(o.delivery_id, o.status) for o in outcomes] == [(out.id, Status.ACKED)]
    (got,) = fake.record.received
    assert got.body == {
        "title": out.payload.title,
        "body": out.payload.content,
        "uri": "https://example.com/p/1",
        "data": {
            "orderId": "42",
            "deliveryId": str(out.id),
            "taskId": "77",
            "uri": "https://example.com/p/1",
        },
    }
    assert 3590 <= int(got.headers["ttl"]) <= 3600
    assert got.headers["urgency"] == "normal"
    assert "topic" not in got.headers


async def test_another_apps_key_is_refused(fake) -> None:
    """The fake really checks the JWT: a subscription made for another key refuses the push."""
    h, sub = harness(fake)
    fake.app_key = check_config("webpush", {"subject": SUBJECT})["vapid_public_key"]
    (outcome,) = await send(h, web_out(sub))
    assert outcome.status == webpush.BLOCK + 2  # AUTH
    assert fake.record.received == []


@pytest.mark.parametrize(
    ("level", "wanted"), [("1", "low"), ("3", "high"), ("very-low", "very-low"), ("x", "normal")]
)
async def test_urgency_from_notify_level(fake, level, wanted) -> None:
    h, sub = harness(fake)
    await send(h, web_out(sub, notify_level={"webpush": level}))
    assert fake.record.received[0].headers["urgency"] == wanted


@pytest.mark.parametrize(("topic", "sent"), [("score-7", True), ("has space", False)])
async def test_topic_from_extended_params(fake, topic, sent) -> None:
    h, sub = harness(fake)
    await send(h, web_out(sub, extended={"webpush_topic": topic}))
    assert fake.record.received[0].headers.get("topic") == (topic if sent else None)


async def test_gone_subscription_is_dead(fake) -> None:
    h, sub = harness(fake)
    fake.unsubscribe(sub)
    out = web_out(sub)
    assert await send(h, out) == []
    assert h.fell_back == [(out, True)]


async def test_404_is_dead_too(fake) -> None:
    h, sub = harness(fake)
    fake.fail(404, "no such subscription")
    out = web_out(sub)
    assert await send(h, out) == []
    assert h.fell_back == [(out, True)]


async def test_malformed_subscription_is_dead_not_a_crash(fake) -> None:
    h, _ = harness(fake)
    out = web_out('{"endpoint": "https://push.example.com/x"}')
    assert await send(h, out) == []
    assert h.fell_back == [(out, True)]


async def test_429_retry_after_is_honoured(fake) -> None:
    h, sub = harness(fake)
    fake.fail(429, "slow down", headers={"retry-after": "120"})
    out = web_out(sub, expires_in=3600)
    (outcome,) = await send(h, out)
    assert outcome.status == Status.PENDING
    assert (
        outcome.retry_at is not None
        and outcome.retry_at / 1000 > out.payload.expires_at / 1000 - 3600 + 100
    )
    assert fake.record.received == []


def test_config_generates_and_keeps_the_vapid_pair() -> None:
    made = check_config("webpush", {"subject": SUBJECT})
    assert "vapid_private_key" not in made.public()
    assert made.public()["vapid_public_key"] == webpush.public_key(made["vapid_private_key"])
    again = check_config("webpush", json.loads(made.to_json()))  # as read back from the store
    assert again.values == made.values
    with pytest.raises(ChannelConfigError, match="subject"):
        check_config("webpush", {"subject": "ops@example.com"})
    with pytest.raises(ChannelConfigError, match="vapid_private_key"):
        check_config("webpush", {"subject": SUBJECT, "vapid_private_key": "short"})
    other = check_config("webpush", {"subject": SUBJECT})["vapid_public_key"]
    with pytest.raises(ChannelConfigError, match="vapid_public_key"):
        check_config("webpush", {**json.loads(made.to_json()), "vapid_public_key": other})


def test_routing_and_platform() -> None:
    assert (
        route(platform="web", vendor="webpush", notify_type="notify", configured={"webpush"})
        == "webpush"
    )
    check_vendor_platform("webpush", "web")
    with pytest.raises(ServiceError, match="web devices"):
        check_vendor_platform("webpush", "android")
