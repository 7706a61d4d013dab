"""The HarmonyOS adapter against the fake Push Kit v3: the service account's PS256 JWT (checked
by the fake with the account's public key, signed once and reused, signed anew when refused),
the push-type of each scenario, the MPS fields in Push Kit's schema, dead tokens, and the
configuration's checks."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.channels.harness import Harness
from tests.channels.outbound import outbound
from tests.fakes.harmonyos import FakeHarmony
from tidings.channels import harmonyos
from tidings.channels.catalog import check_config
from tidings.channels.vendor_config import ChannelConfigError
from tidings.contract import Status
from tidings.delivery.routing import route
from tidings.devices.rules import check_vendor_platform
from tidings.errors import ServiceError


@pytest.fixture(scope="module")
def fake():
    running = FakeHarmony().start()
    yield running
    running.stop()


def harness(fake: FakeHarmony, **config) -> Harness:
    fake.reset()
    return Harness(
        "harmonyos", harmonyos.make_sender, check_config("harmonyos", fake.config(**config))
    )


def harmony_out(token: str = "harmony-token-1", **kwargs):
    return outbound("harmonyos", token, platform="harmonyos", **kwargs)


async def send(h: Harness, *outs):
    try:
        return await h.channel.send(list(outs))
    finally:
        await h.channel.aclose()


async def test_notification_fields(fake) -> None:
    h = harness(fake)
    out = harmony_out(extended={"orderId": "42", "badge_add_num": "3"}, expires_in=3600)
    outcomes = await send(h, out)
    assert [(o.delivery_id, o.status) for o in outcomes] == [(out.id, Status.ACKED)]
    (got,) = fake.record.received
    assert got.headers["push-type"] == "0"
    assert got.body["target"] == {"token": ["harmony-token-1"]}
    assert 3590 <= got.body["pushOptions"]["ttl"] <= 3600
    assert got.body["pushOptions"]["biTag"] == f"d{out.id}"
    notification = got.body["payload"]["notification"]
    assert notification["category"] == "MARKETING"  # none given: needs no right
    assert (notification["title"], notification["body"]) == (out.payload.title, out.payload.content)
    assert notification["clickAction"] == {
        "actionType": 0,
        "data": {"orderId": "42", "deliveryId": str(out.id), "taskId": "77"},
    }
    assert notification["badge"] == {"addNum": 3}
    assert notification["notifyId"] == out.id


@pytest.mark.parametrize(
    ("options", "wanted"),
    [
        ({}, {"actionType": 1, "uri": "https://example.com/p/1"}),
        ({"push_action": 1}, {"actionType": 1, "action": "https://example.com/p/1"}),
    ],
)
async def test_uri_becomes_the_click_action(fake, options, wanted) -> None:
    h = harness(fake)
    await send(h, harmony_out(uri="https://example.com/p/1", **options))
    (got,) = fake.record.received
    action = got.body["payload"]["notification"]["clickAction"]
    assert {k: v for k, v in action.items() if k != "data"} == wanted
    assert action["data"]["uri"] == "https://example.com/p/1"


@pytest.mark.parametrize(
    ("given", "category"), [("1", "IM"), ("work", "WORK"), ("99", "MARKETING")]
)
async def test_third_channel_category_names_the_category(fake, given, category) -> None:
    h = harness(fake)
    await send(h, harmony_out(third_channel_category={"harmonyos": given}))
    (got,) = fake.record.received
    assert got.body["payload"]["notification"]["category"] == category


async def test_transparent_is_a_background_message(fake) -> None:
    h = harness(fake)
    out = harmony_out(
        notify_type="transparent", transparent_payload={"harmonyos": {"k": "v", "n": 1}}
    )
    assert [o.status for o in await send(h, out)] == [Status.ACKED]
    (got,) = fake.record.received
    assert got.headers["push-type"] == "6"
    extra = json.loads(got.body["payload"]["extraData"])
    assert (extra["k"], extra["n"], extra["deliveryId"]) == ("v", "1", str(out.id))


async def test_live_view_update_and_end(fake) -> None:
    h = harness(fake)
    state = {"activityId": 7, "event": "TAXI", "status": "ARRIVED", "version": 2,
             "activityData": {"notificationData": {"type": 3}}}  # fmt: skip
    update = harmony_out(activity_content_state=state)
    end = harmony_out(activity_content_state=state, activity_event="end")
    assert [o.status for o in await send(h, update, end)] == [Status.ACKED] * 2
    got = {r.body["payload"]["operation"]: r for r in fake.record.received}
    assert set(got) == {1, 2}
    assert all(r.headers["push-type"] == "7" for r in got.values())
    assert got[2].body["payload"]["activityData"] == state["activityData"]


async def test_ttl_is_clamped_to_fifteen_days(fake) -> None:
    h = harness(fake)
    await send(h, harmony_out(expires_in=40 * 24 * 3600))
    (got,) = fake.record.received
    assert got.body["pushOptions"]["ttl"] == 15 * 24 * 3600


async def test_the_jwt_is_signed_once_and_renewed_when_refused(fake) -> None:
    h = harness(fake)
    try:
        await h.channel.send([harmony_out("a"), harmony_out("b")])
        assert len(fake.jwts) == 1
        fake.refused.update(fake.jwts)
        assert [o.status for o in await h.channel.send([harmony_out("c")])] == [Status.ACKED]
        assert len(fake.jwts) == 2
        tokens = [r.token for r in fake.record.received]
        # "a" and "b" go out concurrently, so they may arrive in either order; "c" follows them.
        assert (sorted(tokens[:2]), tokens[2:]) == (["a", "b"], ["c"])
    finally:
        await h.channel.aclose()


async def test_a_key_huawei_does_not_know_is_refused(fake) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    h = harness(fake, private_key=pem)
    (outcome,) = await send(h, harmony_out())
    assert outcome.status == harmonyos.BLOCK + 2
    assert fake.record.received == []


async def test_dead_token_falls_back(fake) -> None:
    h = harness(fake)
    fake.dead.add("gone")
    dead = harmony_out("gone")
    assert await send(h, dead) == []
    assert h.fell_back == [(dead, True)]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"project_id": None}, "project_id is missing"),
        ({"sub_account": ""}, "sub_account must be a non-empty string"),
        ({"private_key": "nope"}, "private_key is not a PEM private key"),
        ({"auth_url": "ftp://x"}, "auth_url must be an http(s) URL"),
    ],
)
def test_config_errors_name_the_key(fake, change, named) -> None:
    config = {k: v for k, v in {**fake.config(), **change}.items() if v is not None}
    with pytest.raises(ChannelConfigError, match=named.replace("(", r"\(").replace(")", r"\)")):
        check_config("harmonyos", config)


def test_config_refuses_a_key_that_is_not_rsa_and_hides_the_key(fake) -> None:
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ChannelConfigError, match="private_key must be an RSA key"):
        check_config("harmonyos", {**fake.config(), "private_key": ec_pem})
    checked = check_config("harmonyos", {k: v for k, v in fake.config().items() if k != "base_url"})
    assert "private_key" not in checked.public()
    assert checked["base_url"] == "https://push-api.cloud.huawei.com"


def test_routing_takes_harmonyos_devices_only() -> None:
    def channel(platform: str, notify_type: str = "notify", payload=()) -> str:
        return route(
            platform=platform, vendor="harmonyos", notify_type=notify_type,
            configured={"harmonyos"}, payload_vendors=payload,
        )  # fmt: skip

    assert channel("harmonyos") == "harmonyos"
    assert channel("android") == "selfbuilt"
    assert channel("harmonyos", "transparent") == "selfbuilt"
    assert channel("harmonyos", "transparent", ("harmonyos",)) == "harmonyos"
    check_vendor_platform("harmonyos", "harmonyos")
    with pytest.raises(ServiceError, match="harmonyos push tokens belong to HarmonyOS devices"):
        check_vendor_platform("harmonyos", "android")


async def test_recall_asks_push_kit_by_notify_id_and_token(fake) -> None:
    h = harness(fake)
    kept = harmony_out("kept")
    fake.unrecallable.add("kept")
    taken = harmony_out("taken")
    background = harmony_out(
        "quiet", notify_type="transparent", transparent_payload={"harmonyos": {"k": "v"}}
    )
    try:
        assert await h.channel.send([kept, taken, background]) != []
        refused = await h.channel.recall([1], [kept, taken, background])
        assert sorted(refused) == sorted([kept.id, background.id])
        assert fake.recalled == [(harmonyos.notify_id(taken), "taken")]
    finally:
        await h.channel.aclose()


async def test_a_push_kit_out_of_reach_is_told_apart_from_a_refusal(fake) -> None:
    """A 503 or no connection at all is a vendor not reached (to be asked again later, not
    before its Retry-After), not its refusal."""
    h = harness(fake)
    out = harmony_out("busy")
    nowhere = Harness(
        "harmonyos",
        harmonyos.make_sender,
        check_config("harmonyos", fake.config(base_url="http://127.0.0.1:9")),
    )
    try:
        fake.recalls_unavailable, fake.recall_retry_after = True, "120"
        (busy,) = await h.channel._channel.recall([1], [out])
        (closed,) = await nowhere.channel._channel.recall([1], [out])
        fake.unrecallable.add("busy")
        fake.recalls_unavailable = False
        (refused,) = await h.channel._channel.recall([1], [out])
    finally:
        await h.channel.aclose()
        await nowhere.channel.aclose()
    assert (busy.id, busy.unreached, busy.reason, busy.retry_after) == (
        out.id,
        True,
        "81000001 System internal error",
        120.0,  # its Retry-After: not asked again sooner
    )
    assert (closed.unreached, closed.reason.split(":")[0]) == (True, "ConnectError")
    assert closed.retry_after is None
    assert (refused.unreached, refused.reason) == (False, "80300007 All the tokens are invalid")
    assert fake.recalled == []


async def test_recall_needs_the_client_id(fake) -> None:
    config = {k: v for k, v in fake.config().items() if k != "client_id"}
    fake.reset()
    h = Harness("harmonyos", harmonyos.make_sender, check_config("harmonyos", config))
    out = harmony_out()
    try:
        assert await h.channel.recall([1], [out]) == [out.id]
        assert fake.recalled == []
    finally:
        await h.channel.aclose()
