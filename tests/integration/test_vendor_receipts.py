"""Vendor receipts end to end: a real ``tidings serve``, pushes through the official SDK into the
fake vendors, and the fakes posting their receipts in the vendor's own format and signature to
``/receipts/{channel}/{workspace}/{app_id}``; the arrival shows in QueryPushAnalysisTaskDetail
and on the delivery, once however often the vendor repeats it, and a receipt that is not signed
with the app's callback key changes nothing. A taken receipt raises ``delivery.arrived`` at the
app's webhook endpoint, signed, once."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.fakes.harmonyos import FakeHarmony, harmony_receipt
from tests.fakes.hms import FakeHms, hms_receipt, huawei_callback_id, post_huawei_receipts
from tests.integration.test_vendor_delivery import create_prize_template, unique, wait_for_status
from tests.support.clients import new_sdk
from tests.support.devices import push_multiple
from tests.support.servers import running_server
from tests.support.stored import connection
from tests.support.webhook_receiver import add_endpoint, receiving
from tidings.channels.catalog import THIRD_CHANNELS

WORKSPACE = "receiptws"
APP_ID = "ONEXRECEIPT00001"
TEMPLATE = "Prize"
VALUES = {"name": "Zhang San", "money": "200"}
RECEIPT_USER = "tidings-receipts"
RECEIPT_SECRET = "callback-key-0123456789"
RECEIPT_KEYS = {"receipt_username": RECEIPT_USER, "receipt_secret": RECEIPT_SECRET}
OS_TYPES = {"hms": 1, "harmonyos": 7}


@pytest.fixture(scope="module")
def fakes():
    running = {"hms": FakeHms().start(), "harmonyos": FakeHarmony().start()}
    yield running
    for fake in running.values():
        fake.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def tenant(request, fakes, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"receipts-{request.param}")
    settings = {"TIDINGS_WEBHOOK_POLL_SECONDS": "0.1"}
    with running_server(request.param, data_dir, settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        key = server.create_key(WORKSPACE)
        for name, fake in fakes.items():
            server.cli(
                "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
                "--channel", name, "--config", json.dumps({**fake.config(), **RECEIPT_KEYS}),
            )  # fmt: skip
        client = new_sdk(server, key)
        create_prize_template(client, APP_ID, WORKSPACE)
        yield server, client


def pushed(client, server, fakes, vendor: str) -> tuple[str, dict]:
    """A push to a new device with a ``vendor`` token: the task id and what the fake got."""
    device, token = unique("DT"), unique(f"{vendor}-")
    answer = client.push_report(
        models.PushReportRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=device,
            os_type=OS_TYPES[vendor], third_channel=THIRD_CHANNELS[vendor],
            third_channel_device_token=token,
        )
    ).body  # fmt: skip
    assert answer.result_code == "OK", answer
    task = push_multiple(
        client, APP_ID, WORKSPACE, TEMPLATE, [(device, unique("k"), VALUES)],
        delivery_type=OS_TYPES[vendor],
    )  # fmt: skip
    assert wait_for_status(server, task, 2) == [(vendor, 2, None)]
    (got,) = fakes[vendor].record.for_token(token)
    return task, got


def receipt_of(vendor: str, got) -> dict:
    if vendor == "hms":
        return hms_receipt(got.body)
    return harmony_receipt(got.body, int(got.headers["push-type"]))


def arrivals(client, task: str) -> float:
    return client.query_push_analysis_task_detail(
        models.QueryPushAnalysisTaskDetailRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, task_id=task
        )
    ).body.result_content.data.push_arrival_num  # fmt: skip


def acked_at(server, task: str):
    with connection(server) as conn:
        return conn.execute(
            text("SELECT acked_at FROM deliveries WHERE task_id = :t"), {"t": int(task)}
        ).scalar_one()


@pytest.mark.parametrize("vendor", ["hms", "harmonyos"])
def test_a_signed_receipt_counts_the_message_as_arrived(tenant, fakes, vendor) -> None:
    server, client = tenant
    task, got = pushed(client, server, fakes, vendor)
    url = f"{server.url}/receipts/{vendor}/{WORKSPACE}/{APP_ID}"
    assert arrivals(client, task) == 0.0
    for _ in range(2):  # Huawei may repeat a receipt: it counts once
        answer = post_huawei_receipts(url, RECEIPT_USER, RECEIPT_SECRET, [receipt_of(vendor, got)])
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"errno": "0", "errmsg": "success"}
    assert arrivals(client, task) == 1.0
    assert acked_at(server, task) is not None


def test_a_receipt_raises_one_signed_arrival_event(tenant, fakes) -> None:
    server, client = tenant
    with receiving() as receiver:
        endpoint = add_endpoint(server, WORKSPACE, APP_ID, receiver, "delivery.arrived")
        try:
            task, got = pushed(client, server, fakes, "hms")
            url = f"{server.url}/receipts/hms/{WORKSPACE}/{APP_ID}"
            for _ in range(2):  # repeated by the vendor: still one event
                receipt = [hms_receipt(got.body)]
                answer = post_huawei_receipts(url, RECEIPT_USER, RECEIPT_SECRET, receipt)
                assert answer.status_code == 200, answer.text
            (event,) = receiver.wait_for(1, kind="delivery.arrived")
            assert (event["data"]["taskId"], event["data"]["channel"]) == (task, "hms")
            assert event["data"]["status"] == 2
            time.sleep(0.5)  # a second event would have come by now
            assert len(receiver.events()) == 1 and receiver.unverified == 0
        finally:
            server.cli(
                "webhooks", "remove", str(endpoint), "--workspace", WORKSPACE, "--app-id", APP_ID
            )


@pytest.mark.parametrize("vendor", ["hms", "harmonyos"])
def test_an_unsigned_or_wrongly_signed_receipt_is_refused(tenant, fakes, vendor) -> None:
    server, client = tenant
    task, got = pushed(client, server, fakes, vendor)
    url = f"{server.url}/receipts/{vendor}/{WORKSPACE}/{APP_ID}"
    receipt = [receipt_of(vendor, got)]
    wrong = post_huawei_receipts(url, RECEIPT_USER, "not-the-key", receipt)
    assert wrong.status_code == 401, wrong.text
    assert "signature" in wrong.json()["error"]
    unsigned = httpx.post(url, json={"statuses": receipt}, timeout=10)
    assert unsigned.status_code == 401
    time.sleep(0.2)
    assert arrivals(client, task) == 0.0
    assert acked_at(server, task) is None


def test_receipts_for_another_app_or_a_channel_without_them_are_not_taken(tenant) -> None:
    server, _ = tenant
    for path in (f"hms/{WORKSPACE}/NOSUCHAPP", f"xiaomi/{WORKSPACE}/{APP_ID}", "nope/w/a"):
        answer = post_huawei_receipts(
            f"{server.url}/receipts/{path}", RECEIPT_USER, RECEIPT_SECRET, []
        )
        assert answer.status_code == 404, (path, answer.text)


def test_a_malformed_receipt_is_a_clear_400(tenant) -> None:
    server, _ = tenant
    url = f"{server.url}/receipts/hms/{WORKSPACE}/{APP_ID}"
    answer = post_huawei_receipts(url, RECEIPT_USER, RECEIPT_SECRET, [])
    assert answer.status_code == 200  # an empty batch is fine
    bad = httpx.post(
        url, content=b"[1,2", headers=huawei_callback_id(RECEIPT_USER, RECEIPT_SECRET), timeout=10
    )
    assert bad.status_code == 400
    assert "statuses" in bad.json()["error"]
