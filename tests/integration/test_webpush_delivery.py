"""Web Push end to end: a real ``tidings serve`` with the ``webpush`` channel set up through
``tidings channels set``, a browser subscription reported with the official SDK's PushReport
(OsType 8, ThirdChannel 9) and bound to a user with PushBind, and PushMultiple to that user
arriving at the fake push service, which checks the VAPID JWT and decrypts the payload with the
subscription's private key."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from alibabacloud_mpaas20201028 import models

from tests.conftest import BACKENDS
from tests.fakes.webpush import FakeWebPush
from tests.integration.test_harmonyos_delivery import arrived
from tests.integration.test_vendor_delivery import create_prize_template, unique, wait_for_status
from tests.support.clients import new_sdk
from tests.support.devices import bind, push_multiple
from tests.support.servers import running_server
from tidings.channels import webpush
from tidings.channels.catalog import THIRD_CHANNELS

WORKSPACE = "webpushws"
APP_ID = "ONEXWEBPUSH00001"
TEMPLATE = "Prize"
VALUES = {"name": "Zhang San", "money": "200"}
WEB = 8  # OsType of a browser
USER = 3  # DeliveryType: userIds


@pytest.fixture(scope="module")
def fake():
    running = FakeWebPush().start()
    yield running
    running.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def tenant(request, fake, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"webpush-{request.param}")
    settings = {"TIDINGS_DELIVERY_SWEEP_SECONDS": "1"}
    private = webpush.new_private_key()
    with running_server(request.param, data_dir, settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        key = server.create_key(WORKSPACE)
        config = {
            "subject": "mailto:ops@example.com",
            "vapid_private_key": private,
            "allowed_hosts": ["127.0.0.1"],  # the fake push service runs on this machine
        }
        server.cli(
            "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
            "--channel", "webpush", "--config", json.dumps(config),
        )  # fmt: skip
        client = new_sdk(server, key)
        create_prize_template(client, APP_ID, WORKSPACE)
        yield server, client, webpush.public_key(private)


def subscribe_user(client, subscription: str) -> str:
    """Report the browser's subscription and bind it to a new user; the user id."""
    device, user = unique("web-"), unique("user-")
    answer = client.push_report(
        models.PushReportRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=device, os_type=WEB,
            third_channel=THIRD_CHANNELS["webpush"], third_channel_device_token=subscription,
        )
    ).body  # fmt: skip
    assert answer.result_code == "OK", answer
    bound = bind(client, APP_ID, WORKSPACE, device, user, os_type=WEB)
    assert bound.result_code == "OK", bound
    return user


def test_push_multiple_to_a_user_reaches_the_browser_decrypted(tenant, fake) -> None:
    server, client, app_key = tenant
    subscription = fake.subscribe(app_key)
    user, key = subscribe_user(client, subscription), unique("k")
    task = push_multiple(
        client, APP_ID, WORKSPACE, TEMPLATE, [(user, key, VALUES)], delivery_type=USER,
        notify_level={"webpush": "3"}, per_target={key: {"orderId": "42"}},
    )  # fmt: skip
    sid = json.loads(subscription)["endpoint"].rsplit("/", 1)[1]
    got = arrived(fake, sid)
    assert got.body["title"] == "Prize"
    assert got.body["body"] == "Hello Zhang San, congratulations on winning 200 yuan"
    assert (got.body["data"]["orderId"], got.body["data"]["taskId"]) == ("42", task)
    assert got.headers["urgency"] == "high"
    assert 590 <= int(got.headers["ttl"]) <= 600
    assert wait_for_status(server, task, 2) == [("webpush", 2, None)]
    shown_everywhere(server, client, task, key)


def shown_everywhere(server, client, task: str, key: str) -> None:
    """The Web Push delivery in the message trace, the analysis counters and /metrics."""
    trace = json.loads(
        server.cli("trace", key, "--workspace", WORKSPACE, "--app-id", APP_ID, "--json").stdout
    )
    steps = [(s["event"], s["detail"]) for s in trace["timeline"]]
    assert ("sent", "accepted by webpush") in steps, steps
    detail = client.query_push_analysis_task_detail(
        models.QueryPushAnalysisTaskDetailRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, task_id=task
        )
    ).body.result_content.data
    assert (detail.push_num, detail.push_success_num) == (1.0, 1.0), detail.to_map()
    metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    assert re.search(
        r'tidings_deliveries_total\{channel="webpush",status="[a-z_]+"\} [1-9]', metrics
    )


def test_a_subscription_for_another_platform_is_refused(tenant, fake) -> None:
    _, client, app_key = tenant
    answer = client.push_report(
        models.PushReportRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=unique("DT"), os_type=1,
            third_channel=THIRD_CHANNELS["webpush"],
            third_channel_device_token=fake.subscribe(app_key),
        )
    ).body  # fmt: skip
    assert answer.result_code != "OK"
    assert "web devices" in answer.result_message


@pytest.mark.parametrize(
    ("endpoint", "words"),
    [
        ("http://push.example.com/push/1", "must be an https URL"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.7:8080/admin", "private"),
        ("https://localhost/push/1", "loopback"),  # 127.0.0.1 is allowed, its name is not
    ],
)
def test_a_subscription_endpoint_tidings_may_not_reach_is_refused(tenant, fake, endpoint, words):
    _, client, app_key = tenant
    subscription = {**json.loads(fake.subscribe(app_key)), "endpoint": endpoint}
    answer = client.push_report(
        models.PushReportRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=unique("DT"), os_type=WEB,
            third_channel=THIRD_CHANNELS["webpush"],
            third_channel_device_token=json.dumps(subscription),
        )
    ).body  # fmt: skip
    assert answer.result_code != "OK"
    assert "ThirdChannelDeviceToken is refused" in answer.result_message
    assert words in answer.result_message, answer.result_message
