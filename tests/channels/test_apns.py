"""The APNs adapter against the fake APNs: TLS, HTTP/2, ES256 provider tokens, the payload
fields MPS options map to, and every kind of answer."""

from __future__ import annotations

import json
import re
import time
import uuid

import ngh2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.channels.harness import Harness
from tests.channels.outbound import outbound
from tests.fakes.apns import FakeApns
from tests.fakes.credentials import BUNDLE_ID, apns_config
from tidings.channels import apns
from tidings.channels.catalog import check_config
from tidings.channels.overwrite import REVOKED_BODY
from tidings.contract import Status

TOKEN = "a1" * 32


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory):
    running = FakeApns(tmp_path_factory.mktemp("apns")).start()
    yield running
    running.stop()


@pytest.fixture
def channel(fake: FakeApns, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(fake.ca_file))
    fake.record.clear()
    fake.state.dead.clear()
    fake.state.drawer.clear()
    harness = Harness("apns", apns.sender_factory(), check_config("apns", apns_config(fake.url)))
    return harness


async def test_alert_fields(fake: FakeApns, channel: Harness) -> None:
    out = outbound(
        "apns",
        TOKEN,
        platform="ios",
        uri="https://example.com/prize",
        extended={"sound": "bell.caf", "badge": "3", "mutable-content": "1", "orderId": "42"},
    )
    outcomes = await channel.channel.send([out])
    await channel.channel.aclose()
    assert [(o.delivery_id, o.status) for o in outcomes] == [(out.id, Status.ACKED)]
    (got,) = fake.record.received
    assert got.token == TOKEN
    assert got.headers["apns-topic"] == BUNDLE_ID
    assert got.headers["apns-push-type"] == "alert"
    assert got.headers["apns-priority"] == "10"
    assert got.headers["apns-expiration"] == str(out.payload.expires_at // 1000)
    assert got.headers["apns-collapse-id"] == f"d{out.id}"
    # the apns-id of a delivery is the same on every attempt and in every release
    namespace = uuid.UUID("0b6f1c1e-5a7d-4e0e-9d53-2f4f6f3b8a21")
    key = f"{out.payload.task_id}/{out.payload.msg_key}/{out.id}"
    assert got.headers["apns-id"] == str(uuid.uuid5(namespace, key))
    assert got.body["aps"] == {
        "alert": {"title": "Prize", "body": out.payload.content},
        "sound": "bell.caf",
        "badge": 3,
        "mutable-content": 1,
    }
    assert got.body["orderId"] == "42"
    assert got.body["uri"] == "https://example.com/prize"
    assert got.body["deliveryId"] == str(out.id)
    assert "sound" not in got.body and "badge" not in got.body


def test_headers_that_change_per_delivery_are_never_indexed() -> None:
    """The expiration, apns-id and collapse id reach the server as HPACK never-indexed
    literals: indexed, they would push the headers every request repeats (authority, push
    type, topic, priority) out of the connection's table."""
    out = outbound("apns", TOKEN, platform="ios")
    headers, _ = apns.notification(out, BUNDLE_ID, time.time())
    client, server = (ngh2.Connection(role) for role in (ngh2.Role.CLIENT, ngh2.Role.SERVER))
    client.initiate_connection()
    server.initiate_connection()
    pseudo = [(b":method", b"POST"), (b":scheme", b"https"), (b":authority", b"apns")]
    path = (b":path", f"/3/device/{TOKEN}".encode())  # as sent: libnghttp2 never indexes it
    client.send_request([*pseudo, path, *headers], end_stream=True)
    server.receive_data(client.data_to_send())
    (request,) = [e for e in server.events() if isinstance(e, ngh2.RequestReceived)]
    never = {h[0] for h in request.headers if isinstance(h, ngh2.NeverIndexedHeader)}
    assert never == {b"apns-expiration", b"apns-id", b"apns-collapse-id"}


def test_path_and_provider_token_stay_out_of_the_hpack_table() -> None:
    """http2 sends the unique :path, and apns.py the provider token, as plain fields: libnghttp2
    indexes neither, so the same request sent again still spells both out (indexed, it would
    be a few bytes, and every device's path would take a place in the connection's table)."""
    client = ngh2.Connection(ngh2.Role.CLIENT)
    client.initiate_connection()
    client.data_to_send()
    config = check_config("apns", apns_config("https://apns.test"))
    path = f"/3/device/{TOKEN}".encode()
    bearer = b"bearer " + apns.provider_token(config, time.time()).encode()
    request = [
        (b":method", b"POST"),
        (b":scheme", b"https"),
        (b":authority", b"apns.test"),
        (b":path", path),
        (b"authorization", bearer),
    ]
    sizes = []
    for _ in range(2):
        client.send_request(request, end_stream=True)
        sizes.append(len(client.data_to_send()))
    # Huffman-coded, hex and base64 take at least five of their eight bits; the first request
    # also indexed :authority
    assert sizes[0] > sizes[1] > (len(path) + len(bearer)) * 5 // 8


_texts = st.text(max_size=40)  # any character: quotes, backslashes, controls, non-ASCII


@given(
    title=_texts,
    content=_texts,
    app_keys=st.dictionaries(_texts, _texts, max_size=4),
    sound=st.none() | _texts,
    badge=st.none() | st.integers(-5, 10**6).map(str) | st.text(" -1a", max_size=4),
    mutable=st.none() | st.sampled_from(["1", "0"]),
    uri=st.none() | _texts.filter(bool),
)
def test_alert_payload_is_compact_json_of_its_fields(
    title, content, app_keys, sound, badge, mutable, uri
) -> None:
    """The payload holds what the alert's fields say, as the compact JSON (non-ASCII as is)
    a JSON encoder writes for the same object: it is written field by field."""
    extended = {**app_keys, "sound": sound, "badge": badge, "mutable-content": mutable}
    extended = {k: v for k, v in extended.items() if v is not None}
    out = outbound("apns", TOKEN, title=title, content=content, uri=uri, extended=extended)
    _, body = apns.notification(out, BUNDLE_ID, time.time())
    got = json.loads(body)
    assert body == json.dumps(got, ensure_ascii=False, separators=(",", ":")).encode()
    alert = {"title": title, "body": content}
    assert got.pop("aps") == {
        "alert": alert,
        **({"sound": sound} if sound is not None else {}),
        **({"badge": int(badge)} if badge and re.fullmatch(r"-?[0-9]+", badge.strip()) else {}),
        **({"mutable-content": 1} if mutable == "1" else {}),
    }
    meaningful = {"sound", "badge", "mutable-content"}
    mine = {k: v for k, v in app_keys.items() if k not in meaningful}
    ids = {"deliveryId": str(out.id), "taskId": str(out.payload.task_id)}
    assert got == {**mine, **ids, **({"uri": uri} if uri else {})}


async def test_a_badge_that_is_no_number_is_left_out(fake: FakeApns, channel: Harness) -> None:
    """ExtendedParams badge "²" (a digit, not a number) or "--3": the alert goes without a
    badge, and the batch's other deliveries go too."""
    odd = [
        outbound("apns", TOKEN, platform="ios", extended={"badge": badge})
        for badge in ("²", "--3", "7")
    ]
    outcomes = await channel.channel.send(odd)
    await channel.channel.aclose()
    assert [o.status for o in outcomes] == [Status.ACKED] * 3
    badges = {got.body["deliveryId"]: got.body["aps"].get("badge") for got in fake.record.received}
    assert badges == {str(odd[0].id): None, str(odd[1].id): None, str(odd[2].id): 7}


async def test_silent_is_a_background_push(fake: FakeApns, channel: Harness) -> None:
    await channel.channel.send([outbound("apns", TOKEN, platform="ios", silent=1)])
    await channel.channel.aclose()
    (got,) = fake.record.received
    assert got.headers["apns-push-type"] == "background"
    assert got.headers["apns-priority"] == "5"
    assert "apns-collapse-id" not in got.headers
    assert got.body["aps"] == {"content-available": 1}


async def test_live_activity(fake: FakeApns, channel: Harness) -> None:
    before = int(time.time())
    out = outbound(
        "apns",
        TOKEN,
        platform="ios",
        activity_event="end",
        activity_content_state={"eta": 5, "driver": "Li"},
        dismissal_date=1_900_000_000_000,
    )
    outcomes = await channel.channel.send([out])
    await channel.channel.aclose()
    assert outcomes[0].status == Status.ACKED
    (got,) = fake.record.received
    assert got.headers["apns-topic"] == BUNDLE_ID + ".push-type.liveactivity"
    assert got.headers["apns-push-type"] == "liveactivity"
    aps = got.body["aps"]
    assert aps["event"] == "end"
    assert aps["content-state"] == {"eta": 5, "driver": "Li"}
    assert aps["dismissal-date"] == 1_900_000_000  # milliseconds given, seconds sent
    assert before <= aps["timestamp"] <= int(time.time())


async def test_live_activity_start_with_stale_date(fake: FakeApns, channel: Harness) -> None:
    """A push-to-start: the attributes type and attributes, an alert, and stale-date."""
    out = outbound(
        "apns",
        TOKEN,
        platform="ios",
        title="Kick-off",
        content="Lions v Bears",
        activity_event="start",
        activity_content_state={"home": 0, "away": 0},
        activity_attributes_type="MatchAttributes",
        activity_attributes={"home": "Lions", "away": "Bears"},
        stale_date=1_900_000_600,
    )
    outcomes = await channel.channel.send([out])
    await channel.channel.aclose()
    assert outcomes[0].status == Status.ACKED
    (got,) = fake.record.received
    assert got.headers["apns-push-type"] == "liveactivity"
    aps = dict(got.body["aps"])
    assert isinstance(aps.pop("timestamp"), int)
    assert aps == {
        "event": "start",
        "content-state": {"home": 0, "away": 0},
        "attributes-type": "MatchAttributes",
        "attributes": {"home": "Lions", "away": "Bears"},
        "stale-date": 1_900_000_600,
        "alert": {"title": "Kick-off", "body": "Lions v Bears"},
    }


async def test_recall_overwrites_the_shown_alert(fake: FakeApns, channel: Harness) -> None:
    """Every alert goes under a collapse id from its delivery; a recall replaces what the
    device shows under it with the revoked text (the channel's own title, the default body).
    A background push and a Live Activity update showed no alert and are refused, as is a
    replacement APNs refuses (the token died since)."""
    channel.config = check_config("apns", apns_config(fake.url, recall_title="Withdrawn"))
    taken, kept = (
        outbound("apns", "a1" * 32, platform="ios"),
        outbound("apns", "b2" * 32, platform="ios"),
    )
    quiet = outbound("apns", "c3" * 32, platform="ios", silent=1)
    live = outbound("apns", "d4" * 32, platform="ios", activity_event="update")
    try:
        assert len(await channel.channel.send([taken, kept, quiet, live])) == 4
        assert fake.state.drawer.on_screen(taken.device.third_token, f"d{taken.id}")[0] == {
            "title": "Prize",
            "body": taken.payload.content,
        }
        fake.state.dead.add(kept.device.third_token)
        refused = await channel.channel.recall([1], [taken, kept, quiet, live])
    finally:
        await channel.channel.aclose()
    assert sorted(refused) == sorted([kept.id, quiet.id, live.id])
    shown, replaced = fake.state.drawer.on_screen(taken.device.third_token, f"d{taken.id}")
    assert (shown, replaced) == ({"title": "Withdrawn", "body": REVOKED_BODY}, 1)
    still, untouched = fake.state.drawer.on_screen(kept.device.third_token, f"d{kept.id}")
    assert (still["title"], untouched) == ("Prize", 0)
    assert len(fake.record.received) == 4 + 1  # a replacement for taken: none shown for kept


async def test_a_recall_whose_provider_token_expired_is_signed_anew(fake, channel) -> None:
    out = outbound("apns", TOKEN, platform="ios")
    try:
        await channel.channel.send([out])
        fake.fail(403, "ExpiredProviderToken")
        assert await channel.channel.recall([1], [out]) == []
    finally:
        await channel.channel.aclose()
    assert fake.state.drawer.on_screen(TOKEN, f"d{out.id}")[1] == 1


def test_fake_refuses_what_activitykit_cannot_use() -> None:
    """The fake's liveactivity checks: a start without attributes, a date in milliseconds,
    priority 1."""
    from tests.fakes.apns import ApnsState, _check_live_activity

    def headers(priority: bytes, topic: str = ".push-type.liveactivity") -> dict[bytes, bytes]:
        return {
            b"apns-topic": (BUNDLE_ID + topic).encode(),
            b"apns-push-type": b"liveactivity",
            b"apns-priority": priority,
        }

    check = ApnsState(None)._check_headers
    assert check(headers(b"1")) == (400, {"reason": "BadPriority"})
    assert check(headers(b"5")) is None
    assert check(headers(b"10", topic="")) == (400, {"reason": "DeviceTokenNotForTopic"})
    good = {"aps": {"timestamp": 1, "event": "update", "content-state": {}}}
    assert _check_live_activity(good) is None
    start = {"aps": {**good["aps"], "event": "start", "alert": {}}}
    assert _check_live_activity(start) == (400, {"reason": "BadLiveActivityPayload"})
    late = {"aps": {**good["aps"], "stale-date": 1_900_000_000_000}}
    assert _check_live_activity(late) == (400, {"reason": "BadLiveActivityPayload"})


async def test_one_connection_and_one_token_for_many(fake: FakeApns, channel: Harness) -> None:
    connections = fake.state.connections
    batch = [outbound("apns", f"{i:064x}", platform="ios") for i in range(300)]
    outcomes = await channel.channel.send(batch)
    await channel.channel.aclose()
    assert {o.status for o in outcomes} == {Status.ACKED} and len(outcomes) == 300
    assert fake.state.connections == connections + 1
    assert len({r.headers["authorization"] for r in fake.record.received}) == 1


async def test_dead_token_falls_back_and_is_forgotten(fake: FakeApns, channel: Harness) -> None:
    dead, alive = "de" * 32, "a0" * 32
    fake.state.dead.add(dead)
    first, second = outbound("apns", dead, platform="ios"), outbound("apns", alive, platform="ios")
    outcomes = await channel.channel.send([first, second])
    await channel.channel.aclose()
    assert [o.delivery_id for o in outcomes] == [second.id]
    assert channel.fell_back == [(first, True)]


async def test_unconfigured_app_falls_back_keeping_the_token(
    fake: FakeApns, channel: Harness
) -> None:
    channel.config = None
    out = outbound("apns", TOKEN, platform="ios")
    assert await channel.channel.send([out]) == []
    assert channel.fell_back == [(out, False)]
    assert fake.record.received == []


@pytest.mark.parametrize(
    ("status", "reason", "code"),
    [
        (400, "BadDeviceToken", 2009),
        (400, "DeviceTokenNotForTopic", 2010),
        (413, "PayloadTooLarge", 2002),
        (400, "BadTopic", 2003),
        (403, "BadCertificateEnvironment", 2013),
    ],
)
async def test_refusals_map_to_mps_codes(fake, channel, status, reason, code) -> None:
    fake.fail(status, reason)
    (outcome,) = await channel.channel.send([outbound("apns", TOKEN, platform="ios")])
    await channel.channel.aclose()
    assert (outcome.status, outcome.reason) == (code, reason)


async def test_transient_errors_are_retried(fake: FakeApns, channel: Harness) -> None:
    fake.fail(503, "ServiceUnavailable", times=2)
    (outcome,) = await channel.channel.send([outbound("apns", TOKEN, platform="ios")])
    await channel.channel.aclose()
    assert outcome.status == Status.ACKED
    assert len(fake.record.received) == 1


async def test_still_failing_is_handed_back_with_a_retry_time(fake, channel) -> None:
    fake.fail(429, "TooManyRequests", times=10, retry_after=30)
    before = time.time()
    (outcome,) = await channel.channel.send([outbound("apns", TOKEN, platform="ios")])
    await channel.channel.aclose()
    assert outcome.status == Status.PENDING and outcome.reason == "TooManyRequests"
    assert outcome.retry_at >= (before + 30) * 1000  # the vendor's Retry-After, not our backoff


async def test_failing_past_expiry_expires(fake: FakeApns, channel: Harness) -> None:
    fake.fail(429, "TooManyRequests", times=10, retry_after=30)
    (outcome,) = await channel.channel.send([outbound("apns", TOKEN, platform="ios", expires_in=5)])
    await channel.channel.aclose()
    assert outcome.status == Status.EXPIRED


async def test_expired_provider_token_is_renewed(fake: FakeApns, channel: Harness) -> None:
    fake.fail(403, "ExpiredProviderToken")
    (outcome,) = await channel.channel.send([outbound("apns", TOKEN, platform="ios")])
    await channel.channel.aclose()
    assert outcome.status == Status.ACKED


async def test_wrong_key_is_refused_by_the_fake(fake: FakeApns, channel: Harness) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.fakes.credentials import _pem

    other = apns_config(fake.url, private_key=_pem(ec.generate_private_key(ec.SECP256R1())))
    channel.config = check_config("apns", other)
    (outcome,) = await channel.channel.send([outbound("apns", TOKEN, platform="ios")])
    await channel.channel.aclose()
    assert (outcome.status, outcome.reason) == (2015, "InvalidProviderToken")
    assert fake.record.received == []
