"""Live Activities end to end: PushSimple through the official SDK with DeliveryType 5 (the
activity's APNs push token) and 6 (its id, registered by ``tidings device listen`` over a real
device connection), a real ``tidings serve`` on both databases, the fake APNs checking the
liveactivity push type and topic and recording what it took."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.fakes.apns import FakeApns
from tests.fakes.credentials import apns_config
from tests.integration.test_vendor_delivery import statuses, wait_for_status
from tests.support.clients import new_sdk
from tests.support.devices import Listener
from tests.support.servers import running_server
from tests.support.stored import connection

WORKSPACE = "livews"
APP_ID = "ONEXLIVEACT00001"
BUNDLE_TOPIC = ".push-type.liveactivity"


@pytest.fixture(scope="module")
def apns(tmp_path_factory: pytest.TempPathFactory):
    fake = FakeApns(tmp_path_factory.mktemp("apns-ca")).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def tenant(request, apns, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"live-{request.param}")
    settings = {"SSL_CERT_FILE": str(apns.ca_file), "TIDINGS_DELIVERY_SWEEP_SECONDS": "1"}
    with running_server(request.param, data_dir, settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        key = server.create_key(WORKSPACE)
        server.cli(
            "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
            "--channel", "apns", "--config", json.dumps(apns_config(apns.url)),
        )  # fmt: skip
        yield server, new_sdk(server, key)


def push_activity(client, target: str, delivery_type: int, event: str, state: dict, **more):
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
    push_token = uuid.uuid4().hex * 2  # no device ever reported it
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


def test_a_dead_activity_token_is_reported_not_rerouted(tenant, apns) -> None:
    server, client = tenant
    push_token = uuid.uuid4().hex * 2
    apns.state.dead.add(push_token)
    task = push_activity(client, push_token, 5, "update", {"home": 3})
    assert [row[:2] for row in wait_for_status(server, task, 2011)] == [("apns", 2011)]


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
