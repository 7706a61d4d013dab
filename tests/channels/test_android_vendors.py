"""The Android vendor adapters against their fakes: authentication as each vendor does it, the
fields MPS options map to (read back from what the fake received), TTLs clamped to each vendor's
maximum, dead tokens, refused and expired access tokens, and transient errors."""

from __future__ import annotations

import json

import pytest

from tests.channels.harness import Harness
from tests.channels.outbound import outbound
from tests.fakes.credentials import fcm_config
from tests.fakes.fcm import FakeFcm
from tests.fakes.hms import FakeHms
from tests.fakes.honor import FakeHonor
from tests.fakes.oppo import FakeOppo
from tests.fakes.vivo import FakeVivo
from tests.fakes.xiaomi import FakeXiaomi
from tidings.channels import fcm, hms, honor, oppo, vivo, xiaomi
from tidings.channels.catalog import STATUS_BLOCKS, check_config
from tidings.channels.overwrite import REVOKED_BODY
from tidings.contract import Status

FAKES = {
    "fcm": FakeFcm,
    "hms": FakeHms,
    "honor": FakeHonor,
    "xiaomi": FakeXiaomi,
    "oppo": FakeOppo,
    "vivo": FakeVivo,
}
MODULES = {"fcm": fcm, "hms": hms, "honor": honor, "xiaomi": xiaomi, "oppo": oppo, "vivo": vivo}


@pytest.fixture(scope="module")
def fakes():
    running = {name: cls().start() for name, cls in FAKES.items()}
    yield running
    for fake in running.values():
        fake.stop()


def config_of(name: str, fake) -> dict:
    if name == "fcm":
        return fcm_config(fake.url, fake.token_url)
    return fake.config()


def harness(name: str, fakes) -> Harness:
    fake = fakes[name]
    fake.reset()
    config = check_config(name, config_of(name, fake))
    return Harness(name, MODULES[name].make_sender, config)


async def send(h: Harness, *outs):
    try:
        return await h.channel.send(list(outs))
    finally:
        await h.channel.aclose()


def received(fakes, name: str):
    (got,) = fakes[name].record.received
    return got.body


@pytest.mark.parametrize("name", list(FAKES))
async def test_notification_reaches_the_fake(fakes, name: str) -> None:
    h = harness(name, fakes)
    out = outbound(name, f"{name}-token-1", extended={"orderId": "42"})
    outcomes = await send(h, out)
    assert [(o.delivery_id, o.status) for o in outcomes] == [(out.id, Status.ACKED)]
    got = fakes[name].record.received
    assert [r.token for r in got] == [f"{name}-token-1"]
    assert "42" in json.dumps(got[0].body, ensure_ascii=False)  # the app's own key travels
    assert "Hello Zhang San" in json.dumps(got[0].body, ensure_ascii=False)


@pytest.mark.parametrize("name", list(FAKES))
async def test_access_token_is_shared(fakes, name: str) -> None:
    h = harness(name, fakes)
    outs = [outbound(name, f"{name}-many-{i}") for i in range(20)]
    outcomes = await send(h, *outs)
    assert {o.status for o in outcomes} == {Status.ACKED}
    assert fakes[name].record.auth_requests <= 1  # Xiaomi has none: the secret is the key


@pytest.mark.parametrize("name", ["fcm", "hms", "honor", "oppo", "vivo"])
async def test_expired_access_token_is_renewed(fakes, name: str) -> None:
    h = harness(name, fakes)
    assert (await h.channel.send([outbound(name, "t-a")]))[0].status == Status.ACKED
    fakes[name].expire_tokens()
    outcomes = await send(h, outbound(name, "t-b"))
    assert outcomes[0].status == Status.ACKED
    assert fakes[name].record.auth_requests == 2


@pytest.mark.parametrize("name", list(FAKES))
async def test_dead_token_falls_back(fakes, name: str) -> None:
    h = harness(name, fakes)
    fakes[name].dead.add("gone")
    dead, alive = outbound(name, "gone"), outbound(name, "alive")
    outcomes = await send(h, dead, alive)
    assert [o.delivery_id for o in outcomes] == [alive.id]
    assert h.fell_back == [(dead, True)]


@pytest.mark.parametrize("name", ["hms", "honor", "xiaomi", "oppo", "vivo"])
async def test_wrong_credentials_are_refused(fakes, name: str) -> None:
    fake = fakes[name]
    fake.reset()
    secret_key = {
        "hms": "client_secret",
        "honor": "client_secret",
        "xiaomi": "app_secret",
        "oppo": "master_secret",
        "vivo": "app_secret",
    }[name]
    config = check_config(name, {**fake.config(), secret_key: "wrong"})
    h = Harness(name, MODULES[name].make_sender, config)
    (outcome,) = await send(h, outbound(name, "t"))
    assert outcome.status == STATUS_BLOCKS[name] + 2  # the AUTH failure of the vendor's block
    assert fake.record.received == []


@pytest.mark.parametrize(
    ("name", "status", "body"),
    [
        ("fcm", 503, {"error": {"code": 503, "status": "UNAVAILABLE", "details": []}}),
        ("hms", 503, {"code": "81000001", "msg": "System inner error"}),
        ("honor", 500, {"code": 500, "message": "internal"}),
        ("xiaomi", 200, {"result": "error", "code": 10027, "reason": "too often"}),
        ("oppo", 502, {"code": -1, "message": "bad gateway"}),
        ("vivo", 500, {"result": 500, "desc": "internal"}),
    ],
)
async def test_transient_errors_are_retried(fakes, name: str, status: int, body: dict) -> None:
    h = harness(name, fakes)
    fakes[name].fail(status, body, times=2)
    (outcome,) = await send(h, outbound(name, "t"))
    assert outcome.status == Status.ACKED
    assert len(fakes[name].record.received) == 1


async def test_fcm_rate_limit_honours_retry_after(fakes) -> None:
    h = harness("fcm", fakes)
    body = {
        "error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"errorCode": "QUOTA_EXCEEDED"}],
        }
    }
    fakes["fcm"].fail(429, body, times=5, headers={"retry-after": "120"})
    (outcome,) = await send(h, outbound("fcm", "t"))
    assert outcome.status == Status.PENDING and outcome.retry_at is not None
    assert outcome.reason.startswith("QUOTA_EXCEEDED")


@pytest.mark.parametrize(
    ("name", "body", "failure"),
    [
        ("hms", {"code": "80300008", "msg": "too big"}, 4),
        ("xiaomi", {"result": "error", "code": 200001, "reason": "exceed daily quota"}, 5),
        ("vivo", {"result": 10070, "desc": "daily total exceeded"}, 5),
        ("oppo", {"code": 33, "message": "exceeds the daily limit"}, 3),
        ("honor", {"code": 80100001, "message": "parameter error"}, 3),
    ],
)
async def test_refusals_have_status_codes(fakes, name: str, body: dict, failure: int) -> None:
    h = harness(name, fakes)
    fakes[name].fail(200, body)
    (outcome,) = await send(h, outbound(name, "t"))
    assert outcome.status == STATUS_BLOCKS[name] + failure
    assert outcome.reason


# Field mapping: what each vendor received for the MPS options.


async def test_hms_fields(fakes) -> None:
    h = harness("hms", fakes)
    await send(
        h,
        outbound(
            "hms",
            "t",
            uri="https://example.com/x",
            extended={"badge_add_num": "2", "badge_class": "com.example.Main", "big_text": "1"},
            third_channel_category={"hms": "9", "vivo": "IM"},
            notify_level={"hms": "1"},
            channel_id="orders",
            expires_in=30 * 24 * 3600,
        ),
    )
    message = received(fakes, "hms")
    android = message["android"]
    assert android["notification"]["notify_id"] > 0  # what a recall's replacement names
    assert android["category"] == "FINANCE"  # mPaaS numbering: 9
    assert android["ttl"] == f"{15 * 24 * 3600}s"  # clamped to Huawei's 15 days
    notification = android["notification"]
    assert notification["importance"] == "LOW"
    assert notification["channel_id"] == "orders"
    assert notification["badge"] == {"add_num": 2, "class": "com.example.Main"}
    assert notification["style"] == 1 and notification["big_body"].startswith("Hello")
    assert notification["click_action"] == {"type": 2, "url": "https://example.com/x"}
    assert message["token"] == ["t"]


async def test_hms_data_message(fakes) -> None:
    h = harness("hms", fakes)
    await send(
        h,
        outbound(
            "hms",
            "t",
            notify_type="transparent",
            transparent_payload={"hms": {"orderId": "7", "n": 3}},
            transparent_urgency="HIGH",
        ),
    )
    message = received(fakes, "hms")
    assert "notification" not in message["android"]
    assert message["android"]["urgency"] == "HIGH"
    data = json.loads(message["data"])
    assert data["orderId"] == "7" and data["n"] == "3"


async def test_fcm_fields(fakes) -> None:
    h = harness("fcm", fakes)
    out = outbound(
        "fcm", "t", channel_id="news", extended={"sound": "ding"}, expires_in=60 * 24 * 3600
    )
    await send(h, out)
    message = received(fakes, "fcm")
    assert message["notification"]["title"] == "Prize"
    notification = {"channel_id": "news", "sound": "ding", "tag": f"d{out.id}"}
    assert message["android"]["notification"] == notification
    assert message["android"]["ttl"] == f"{28 * 24 * 3600}s"
    assert all(isinstance(v, str) for v in message["data"].values())


async def test_fcm_data_message(fakes) -> None:
    h = harness("fcm", fakes)
    await send(
        h,
        outbound(
            "fcm",
            "t",
            notify_type="transparent",
            transparent_payload={"fcm": {"k": "v"}},
            transparent_urgency="HIGH",
        ),
    )
    message = received(fakes, "fcm")
    assert "notification" not in message
    assert message["data"]["k"] == "v" and message["android"]["priority"] == "HIGH"


async def test_honor_fields(fakes) -> None:
    h = harness("honor", fakes)
    await send(
        h,
        outbound(
            "honor",
            "t",
            third_channel_category={"honor": "LOW"},
            extended={"badge_add_num": "1", "badge_class": "com.example.Main"},
        ),
    )
    notification = received(fakes, "honor")["android"]["notification"]
    assert notification["importance"] == "LOW"
    assert notification["badge"] == {"addNum": 1, "badgeClass": "com.example.Main"}
    assert notification["clickAction"] == {"type": 3}


async def test_honor_data_message(fakes) -> None:
    h = harness("honor", fakes)
    await send(
        h,
        outbound(
            "honor", "t", notify_type="transparent", transparent_payload={"honor": {"a": "b"}}
        ),
    )
    message = received(fakes, "honor")
    assert "notification" not in message["android"]
    assert json.loads(message["data"])["a"] == "b"


async def test_xiaomi_fields(fakes) -> None:
    h = harness("xiaomi", fakes)
    await send(
        h,
        outbound(
            "xiaomi",
            "t",
            mi_channel_id="mi-private",
            channel_id="generic",
            extended={"sound": "android.resource://x/raw/ding", "big_text": "1"},
            uri="https://example.com",
            expires_in=30 * 24 * 3600,
        ),
    )
    form = received(fakes, "xiaomi")
    assert form["extra.channel_id"] == "mi-private"  # MiChannelId over ChannelId
    assert form["extra.sound_uri"] == "android.resource://x/raw/ding"
    assert form["extra.notification_style_type"] == "1"
    assert form["extra.notify_effect"] == "3" and form["extra.web_uri"] == "https://example.com"
    assert form["time_to_live"] == str(14 * 24 * 3600 * 1000)
    assert form["pass_through"] == "0"
    assert json.loads(form["payload"])["deliveryId"]


async def test_xiaomi_category_and_channel_id_fall_back(fakes) -> None:
    h = harness("xiaomi", fakes)
    await send(
        h,
        outbound(
            "xiaomi",
            "t",
            third_channel_category={"xiaomi": "131"},
            channel_id="generic",
            notify_type="transparent",
        ),
    )
    form = received(fakes, "xiaomi")
    assert form["extra.channel_id"] == "131" and form["pass_through"] == "1"


async def test_oppo_fields(fakes) -> None:
    h = harness("oppo", fakes)
    out = outbound(
        "oppo",
        "t",
        third_channel_category={"oppo": "IM"},
        notify_level={"oppo": "16"},
        channel_id="chat",
        expires_in=30 * 24 * 3600,
    )
    await send(h, out)
    notification = received(fakes, "oppo")["notification"]
    assert notification["category"] == "IM"
    assert notification["notify_level"] == 16
    assert notification["channel_id"] == "chat"
    assert notification["off_line_ttl"] == 10 * 24 * 3600
    assert len(notification["app_message_id"]) == 32  # derived from the delivery


async def test_oppo_repeated_send_is_dropped_by_app_message_id(fakes) -> None:
    h = harness("oppo", fakes)
    out = outbound("oppo", "t")
    await h.channel.send([out])
    await send(h, out)
    assert len(fakes["oppo"].record.received) == 1


async def test_vivo_fields(fakes) -> None:
    h = harness("vivo", fakes)
    await send(
        h,
        outbound(
            "vivo",
            "t",
            classification="0",
            third_channel_category={"vivo": "MARKETING"},
            expires_in=10,
        ),
    )
    body = received(fakes, "vivo")
    assert body["classification"] == 0 and body["category"] == "MARKETING"
    assert body["timeToLive"] == 60  # vivo's minimum
    assert body["appId"] == 12345 and len(body["requestId"]) <= 64


async def test_vivo_defaults_to_system_and_dedups_by_request_id(fakes) -> None:
    h = harness("vivo", fakes)
    out = outbound("vivo", "t", expires_in=30 * 24 * 3600)
    await h.channel.send([out])
    await send(h, out)
    (got,) = fakes["vivo"].record.received
    assert got.body["classification"] == 1  # MPS's default: system message
    assert got.body["timeToLive"] == 7 * 24 * 3600
    other = outbound("vivo", "t")
    h2 = harness("vivo", fakes)
    await send(h2, other)
    assert fakes["vivo"].record.received[0].body["requestId"] != got.body["requestId"]


SHOWN_UNDER = {"hms": hms.notify_id, "honor": hms.notify_id, "fcm": fcm.tag}  # what it names


@pytest.mark.parametrize("name", list(SHOWN_UNDER))
async def test_recall_overwrites_the_shown_notification(fakes, name: str) -> None:
    """Every notification carries an id from its delivery (HMS notify_id, FCM tag); a recall
    replaces what the device shows under it with the revoked text (the channel's own, or the
    default); a data message has nothing shown and is refused, as is a refused replacement."""
    fake, shown_under = fakes[name], SHOWN_UNDER[name]
    fake.reset()
    config = check_config(name, {**config_of(name, fake), "recall_title": "Withdrawn"})
    h = Harness(name, MODULES[name].make_sender, config)
    taken, kept = outbound(name, "taken"), outbound(name, "kept")
    quiet = outbound(name, "quiet", notify_type="transparent")
    try:
        await h.channel.send([taken, kept, quiet])
        assert fake.drawer.on_screen("taken", shown_under(taken))[0]["title"] == "Prize"
        fake.dead.add("kept")  # the token went stale after the send
        refused = await h.channel.recall([1], [taken, kept, quiet])
    finally:
        await h.channel.aclose()
    assert sorted(refused) == sorted([kept.id, quiet.id])
    shown, replaced = fake.drawer.on_screen("taken", shown_under(taken))
    assert (shown["title"], shown["body"], replaced) == ("Withdrawn", REVOKED_BODY, 1)
    still, untouched = fake.drawer.on_screen("kept", shown_under(kept))
    assert (still["title"], untouched) == ("Prize", 0)
