"""Live Activities end to end: PushSimple through the official SDK with DeliveryType 5 (the
activity's APNs push token, or a push-to-start token) and 6 (its id, registered by ``tidings
device listen`` over a real device connection, or by the RegisterLiveActivity extension action
through the SDK's generic signed call), pushes that start an activity on a device through its
push-to-start token, updates and ends sent to a user (their activities' tokens and HarmonyOS
live views, never a device's own APNs token), a real ``tidings serve`` on both databases, the
fake APNs checking the liveactivity push type, topic, priority and payload keys and recording
what it took."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from alibabacloud_mpaas20201028 import models
from alibabacloud_tea_openapi import utils_models as open_api_models
from darabonba.runtime import RuntimeOptions
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.fakes.apns import FakeApns
from tests.fakes.credentials import BUNDLE_ID, apns_config
from tests.fakes.harmonyos import FakeHarmony
from tests.integration.test_vendor_delivery import statuses, wait_for_status
from tests.support.clients import new_sdk
from tests.support.devices import Listener
from tests.support.servers import running_server
from tests.support.stored import connection
from tidings.channels.catalog import THIRD_CHANNELS

WORKSPACE = "livews"
APP_ID = "ONEXLIVEACT00001"
BUNDLE_TOPIC = ".push-type.liveactivity"


@pytest.fixture(scope="module")
def apns(tmp_path_factory: pytest.TempPathFactory):
    fake = FakeApns(tmp_path_factory.mktemp("apns-ca")).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def harmony():
    fake = FakeHarmony().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def tenant(request, apns, harmony, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"live-{request.param}")
    settings = {"SSL_CERT_FILE": str(apns.ca_file), "TIDINGS_DELIVERY_SWEEP_SECONDS": "1"}
    with running_server(request.param, data_dir, settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        key = server.create_key(WORKSPACE)
        server.cli(
            "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
            "--channel", "apns", "--config", json.dumps(apns_config(apns.url)),
        )  # fmt: skip
        server.cli(
            "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
            "--channel", "harmonyos", "--config", json.dumps(harmony.config()),
        )  # fmt: skip
        yield server, new_sdk(server, key)


def push_activity(client, target: str, delivery_type: int, event: str, state: dict, **more) -> str:
    answer = client.push_simple(
        models.PushSimpleRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_type=delivery_type,
            task_name="score", title="Score", content="Home leads", expired_seconds=300,
            target_msgkey=json.dumps({target: uuid.uuid4().hex}),
            activity_event=event, activity_content_state=json.dumps(state), **more,
        )
    ).body  # fmt: skip
    assert answer.result_code == "OK", answer
    return answer.push_result.data


def test_an_activity_push_token_is_updated_and_ended_through_apns(tenant, apns) -> None:
    server, client = tenant
    push_token = uuid.uuid4().hex * 2  # no device reported it; an app server registered it
    device, activity_id = uuid.uuid4().hex * 2, f"game-{uuid.uuid4().hex[:8]}"
    report_ios_device(client, device)
    registered = register_live_activity(
        client, DeliveryToken=device, ActivityId=activity_id, PushToken=push_token
    )
    assert registered["ResultCode"] == "OK", registered
    update = push_activity(client, push_token, 5, "update", {"home": 1, "away": 0})
    assert wait_for_status(server, update, 2) == [("apns", 2, None)]
    end = push_activity(
        client, push_token, 5, "end", {"home": 2, "away": 0}, dismissal_date=1_900_000_000
    )
    assert wait_for_status(server, end, 2) == [("apns", 2, None)]
    got = apns.record.for_token(push_token)
    assert [r.headers["apns-push-type"] for r in got] == ["liveactivity", "liveactivity"]
    assert all(r.headers["apns-topic"].endswith(BUNDLE_TOPIC) for r in got)
    first, last = sorted(got, key=lambda r: r.body["aps"]["event"] != "update")
    assert first.body["aps"]["event"] == "update"
    assert first.body["aps"]["content-state"] == {"home": 1, "away": 0}
    assert last.body["aps"]["event"] == "end"
    assert last.body["aps"]["content-state"] == {"home": 2, "away": 0}
    assert last.body["aps"]["dismissal-date"] == 1_900_000_000
    # the end, sent by token, ends the registration of the activity that token belongs to
    assert activity_id not in dict(registered_activities(server))


def test_a_dead_activity_token_is_reported_not_rerouted_and_forgotten(tenant, apns) -> None:
    """APNs calls the token dead: the delivery records 2011, and every registration holding
    the token (an activity's, a push-to-start token) is dropped."""
    server, client = tenant
    push_token, device = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    apns.state.dead.add(push_token)
    report_ios_device(client, device)
    for field in ({"ActivityId": f"gone-{push_token[:8]}"}, {"AttributesType": "GoneAttributes"}):
        answer = register_live_activity(client, DeliveryToken=device, PushToken=push_token, **field)
        assert answer["ResultCode"] == "OK", answer
    assert push_token in held_tokens(server)
    task = push_activity(client, push_token, 5, "update", {"home": 3})
    assert [row[:2] for row in wait_for_status(server, task, 2011)] == [("apns", 2011)]
    deadline = time.monotonic() + 5
    while push_token in held_tokens(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert push_token not in held_tokens(server)


def held_tokens(server) -> set[str]:
    """Every push token some activity registration or push-to-start registration holds."""
    with connection(server) as conn:
        rows = conn.execute(
            text(
                "SELECT push_token FROM live_activities"
                " UNION SELECT push_token FROM live_activity_start_tokens"
            )
        )
        return {row[0] for row in rows}


def registered_activities(server) -> list[tuple]:
    with connection(server) as conn:
        rows = conn.execute(text("SELECT activity_id, push_token FROM live_activities"))
        return sorted(tuple(row) for row in rows)


def test_an_activity_registered_by_its_device_is_updated_and_ended_by_id(
    tenant, apns, tmp_path
) -> None:
    server, client = tenant
    activity_id, push_token = f"match-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex * 2
    renewed_from = uuid.uuid4().hex * 2
    # ActivityKit renews the token: the device registers the activity again, and the last counts
    for token in (renewed_from, push_token):
        listener = Listener(
            server, APP_ID, WORKSPACE, tmp_path / "phone.json",
            "--platform", "ios", "--activity", f"{activity_id}={token}",
        )  # fmt: skip
        try:
            listener.connected()
            assert listener.next() == {"event": "activityRegistered", "activityId": activity_id}
        finally:
            listener.stop()
    assert (activity_id, push_token) in registered_activities(server)
    update = push_activity(client, activity_id, 6, "update", {"home": 1})
    assert wait_for_status(server, update, 2) == [("apns", 2, None)]
    end = push_activity(client, activity_id, 6, "end", {"home": 2})
    assert wait_for_status(server, end, 2) == [("apns", 2, None)]
    got = apns.record.for_token(push_token)
    assert sorted(r.body["aps"]["event"] for r in got) == ["end", "update"]
    assert all(r.headers["apns-push-type"] == "liveactivity" for r in got)
    assert {r.body["aps"]["event"]: r.body["aps"]["content-state"] for r in got} == {
        "update": {"home": 1},
        "end": {"home": 2},
    }
    # ended: the token is gone, and a later push to the id has nowhere to go
    assert activity_id not in dict(registered_activities(server))
    late = push_activity(client, activity_id, 6, "update", {"home": 3})
    time.sleep(1.5)
    assert statuses(server, late) == [(None, 0, None)]
    assert len(apns.record.for_token(push_token)) == 2
    assert apns.record.for_token(renewed_from) == []


def test_an_android_device_cannot_register_an_activity(tenant, tmp_path) -> None:
    server, _ = tenant
    listener = Listener(
        server, APP_ID, WORKSPACE, tmp_path / "android.json", "--activity", "a1=" + "ab" * 32
    )
    try:
        listener.connected()
        refused = listener.next()
        assert refused["event"] == "refused" and "iOS" in refused["reason"], refused
    finally:
        listener.stop()


def test_an_activity_update_apns_asks_to_retry_later_is_sent_again(tenant, apns) -> None:
    """APNs wants the update later than the channel waits itself: the retry sweep sends it
    again, addressed by the push token its delivery keeps."""
    server, client = tenant
    push_token = uuid.uuid4().hex * 2
    apns.fail(429, "TooManyRequests", token=push_token, retry_after=6)
    task = push_activity(client, push_token, 5, "update", {"home": 4})
    assert wait_for_status(server, task, 2, timeout=30) == [("apns", 2, None)]
    (got,) = apns.record.for_token(push_token)
    assert got.body["aps"]["content-state"] == {"home": 4}


def register_live_activity(client, **fields: str) -> dict:
    """RegisterLiveActivity (a Tidings extension) through the SDK's generic signed call, as an
    app server would make it: the same signature and envelope as PushReport."""
    params = open_api_models.Params(
        action="RegisterLiveActivity", version="2020-10-28", protocol="HTTPS", pathname="/",
        method="POST", auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
    )  # fmt: skip
    body = {"AppId": APP_ID, "WorkspaceId": WORKSPACE, **fields}
    request = open_api_models.OpenApiRequest(body=body)
    return client.call_api(params, request, RuntimeOptions())["body"]


def report_ios_device(client, delivery_token: str) -> None:
    answer = client.push_report(
        models.PushReportRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=delivery_token, os_type=2
        )
    ).body
    assert answer.result_code == "OK", answer


def test_an_activity_registered_over_http_is_updated_then_ended_with_exact_payloads(
    tenant, apns
) -> None:
    """stale-date (an ExtendedParams key) on the update, DismissalDate on the end; each
    payload exactly; the registration gone once the end is dispatched."""
    server, client = tenant
    device, push_token = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    activity_id = f"order-{uuid.uuid4().hex[:8]}"
    report_ios_device(client, device)
    answer = register_live_activity(
        client, DeliveryToken=device, ActivityId=activity_id, PushToken=push_token
    )
    assert answer["ResultCode"] == "OK", answer
    assert (activity_id, push_token) in registered_activities(server)
    before = int(time.time())
    update = push_activity(
        client, activity_id, 6, "update", {"stage": "cooking", "eta": 12},
        extended_params=json.dumps({"stale-date": 1_900_000_300_000, "orderId": "7"}),
    )  # fmt: skip
    assert wait_for_status(server, update, 2) == [("apns", 2, None)]
    end = push_activity(
        client, activity_id, 6, "end", {"stage": "delivered", "eta": 0},
        dismissal_date=1_900_000_600,
    )  # fmt: skip
    assert wait_for_status(server, end, 2) == [("apns", 2, None)]
    after = int(time.time())
    got = {r.body["aps"]["event"]: r for r in apns.record.for_token(push_token)}
    for sent in got.values():
        assert sent.headers["apns-push-type"] == "liveactivity"
        assert sent.headers["apns-topic"] == BUNDLE_ID + BUNDLE_TOPIC
        assert sent.headers["apns-priority"] == "10"
        assert before <= sent.body["aps"]["timestamp"] <= after
    alert = {"title": "Score", "body": "Home leads"}
    assert without_timestamp(got["update"].body["aps"]) == {
        "event": "update",
        "content-state": {"stage": "cooking", "eta": 12},
        "stale-date": 1_900_000_300,  # given in milliseconds, sent in seconds
        "alert": alert,
    }
    assert got["update"].body["orderId"] == "7"  # the app's own key stays custom data
    assert "stale-date" not in got["update"].body
    assert without_timestamp(got["end"].body["aps"]) == {
        "event": "end",
        "content-state": {"stage": "delivered", "eta": 0},
        "dismissal-date": 1_900_000_600,
        "alert": alert,
    }
    assert activity_id not in dict(registered_activities(server))


def without_timestamp(aps: dict) -> dict:
    return {k: v for k, v in aps.items() if k != "timestamp"}


START = {"attributes-type": "MatchAttributes", "attributes": '{"home": "Lions", "away": "Bears"}'}


def test_a_push_starts_an_activity_through_the_devices_push_to_start_token(
    tenant, apns, tmp_path
) -> None:
    server, client = tenant
    start_token = uuid.uuid4().hex * 2
    listener = Listener(
        server, APP_ID, WORKSPACE, tmp_path / "iphone.json",
        "--platform", "ios", "--activity-start", f"MatchAttributes={start_token}",
    )  # fmt: skip
    try:
        delivery_token = listener.connected()["DeliveryToken"]
        wanted = {"event": "startTokenRegistered", "attributesType": "MatchAttributes"}
        assert listener.next() == wanted
    finally:
        listener.stop()
    task = push_activity(
        client, delivery_token, 2, "start", {"home": 0, "away": 0},
        extended_params=json.dumps(START),
    )  # fmt: skip
    assert wait_for_status(server, task, 2) == [("apns", 2, None)]
    (got,) = apns.record.for_token(start_token)
    assert got.headers["apns-push-type"] == "liveactivity"
    assert without_timestamp(got.body["aps"]) == {
        "event": "start",
        "content-state": {"home": 0, "away": 0},
        "attributes-type": "MatchAttributes",
        "attributes": {"home": "Lions", "away": "Bears"},
        "alert": {"title": "Score", "body": "Home leads"},
    }
    # a type the device has no push-to-start token for has nowhere to go
    other = push_activity(
        client, delivery_token, 2, "start", {},
        extended_params=json.dumps({**START, "attributes-type": "RideAttributes"}),
    )  # fmt: skip
    assert statuses(server, other) in ([], [(None, 0, None)])


def test_a_push_to_start_token_registered_over_http_is_used_by_token_and_by_user(
    tenant, apns
) -> None:
    server, client = tenant
    device, start_token = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    report_ios_device(client, device)
    answer = register_live_activity(
        client, DeliveryToken=device, AttributesType="MatchAttributes", PushToken=start_token
    )
    assert answer["ResultCode"] == "OK", answer
    user = f"fan-{uuid.uuid4().hex[:8]}"
    bound = client.push_bind(
        models.PushBindRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=device, os_type=2, user_id=user
        )
    ).body
    assert bound.result_code == "OK", bound
    by_user = push_activity(
        client, user, 3, "start", {"home": 1}, extended_params=json.dumps(START)
    )
    by_token = push_activity(
        client, start_token, 5, "start", {"home": 2}, extended_params=json.dumps(START)
    )
    for task in (by_user, by_token):
        assert wait_for_status(server, task, 2) == [("apns", 2, None)]
    got = apns.record.for_token(start_token)
    assert sorted(r.body["aps"]["content-state"]["home"] for r in got) == [1, 2]
    assert {r.body["aps"]["event"] for r in got} == {"start"}


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"ActivityId": "a1", "PushToken": "ab"}, "DeliveryToken is required"),
        ({"DeliveryToken": "nobody", "ActivityId": "a1", "PushToken": "ab"}, "no device here"),
        ({"DeliveryToken": "x", "ActivityId": "a1"}, "PushToken is required"),
        ({"DeliveryToken": "x", "PushToken": "ab"}, "ActivityId or AttributesType"),
        (
            {"DeliveryToken": "x", "ActivityId": "a", "AttributesType": "M", "PushToken": "ab"},
            "not both",
        ),
    ],
)
def test_register_live_activity_refusals_name_the_field(tenant, fields, words) -> None:
    _, client = tenant
    answer = register_live_activity(client, **fields)
    assert answer["ResultCode"] != "OK" and words in answer["ResultMessage"], answer


def test_an_update_to_a_user_reaches_their_activities_and_live_views_not_device_tokens(
    tenant, apns, harmony
) -> None:
    """DeliveryType 3 with ActivityEvent update, then end: the activity the user's iPhone
    registered gets each at its own push token, their HarmonyOS device as a live view; the
    iPhone's APNs device token and their Android phone (self-built) cannot take a Live Activity
    event and get nothing. The end drops the activity's registration."""
    server, client = tenant
    user, activity_id = f"rider-{uuid.uuid4().hex[:8]}", f"ride-{uuid.uuid4().hex[:8]}"
    iphone, activity_token = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    tablet, live_view_token = uuid.uuid4().hex, f"hmos-{uuid.uuid4().hex}"
    bind_reported(client, iphone, 2, user, "apns", iphone)
    bind_reported(client, tablet, 7, user, "harmonyos", live_view_token)
    bind_reported(client, uuid.uuid4().hex, 1, user)  # an Android phone, self-built only
    registered = register_live_activity(
        client, DeliveryToken=iphone, ActivityId=activity_id, PushToken=activity_token
    )
    assert registered["ResultCode"] == "OK", registered
    state = {"activityId": 42, "event": "TAXI", "status": "DRIVING", "activityData": {"eta": 5}}

    update = push_activity(client, user, 3, "update", state)
    assert sorted(wait_for_status(server, update, 2)) == [("apns", 2, None), ("harmonyos", 2, None)]
    (got,) = apns.record.for_token(activity_token)
    assert got.headers["apns-push-type"] == "liveactivity"
    assert (got.body["aps"]["event"], got.body["aps"]["content-state"]) == ("update", state)
    (live_view,) = harmony.record.for_token(live_view_token)
    assert live_view.headers["push-type"] == "7"
    assert live_view.body["payload"]["operation"] == 1  # update

    end = push_activity(client, user, 3, "end", {**state, "status": "ARRIVED"})
    assert sorted(wait_for_status(server, end, 2)) == [("apns", 2, None), ("harmonyos", 2, None)]
    assert sorted(r.body["aps"]["event"] for r in apns.record.for_token(activity_token)) == [
        "end",
        "update",
    ]
    assert apns.record.for_token(iphone) == []  # the device's own token never took one
    assert activity_id not in dict(registered_activities(server))
    # the activity ended: a later update to the user has only the live view to go to
    late = push_activity(client, user, 3, "update", state)
    assert wait_for_status(server, late, 2) == [("harmonyos", 2, None)]


def test_an_update_waiting_for_a_user_is_not_handed_to_a_device_token_it_cannot_reach(
    tenant, apns, harmony
) -> None:
    """An update to a user with no device waits (NoBindInfo); an iPhone bound later cannot
    take it on its APNs token, so it keeps waiting, while a HarmonyOS device bound later gets
    it as a live view."""
    server, client = tenant
    user = f"late-{uuid.uuid4().hex[:8]}"
    state = {"activityId": 7, "event": "TAXI", "status": "WAITING", "activityData": {}}
    task = push_activity(client, user, 3, "update", state)
    assert wait_for_status(server, task, 1) == [(None, 1, None)]
    iphone = uuid.uuid4().hex * 2
    bind_reported(client, iphone, 2, user, "apns", iphone)
    time.sleep(1.5)
    assert statuses(server, task) == [(None, 1, None)]
    assert apns.record.for_token(iphone) == []
    live_view_token = f"hmos-{uuid.uuid4().hex}"
    bind_reported(client, uuid.uuid4().hex, 7, user, "harmonyos", live_view_token)
    assert wait_for_status(server, task, 2) == [("harmonyos", 2, None)]
    (got,) = harmony.record.for_token(live_view_token)
    assert got.headers["push-type"] == "7"


def bind_reported(
    client, token: str, os_type: int, user: str, vendor: str | None = None,
    vendor_token: str | None = None,
) -> None:  # fmt: skip
    """PushReport a device (with its vendor token, if any), then PushBind it to ``user``."""
    reported = client.push_report(
        models.PushReportRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=token, os_type=os_type,
            third_channel=THIRD_CHANNELS[vendor] if vendor else None,
            third_channel_device_token=vendor_token,
        )
    ).body  # fmt: skip
    assert reported.result_code == "OK", reported
    bound = client.push_bind(
        models.PushBindRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=token, os_type=os_type,
            user_id=user,
        )
    ).body  # fmt: skip
    assert bound.result_code == "OK", bound
