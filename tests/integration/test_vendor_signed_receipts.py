"""Receipts and recall of the vendors that sign nothing themselves (Honor, Xiaomi, OPPO, vivo),
end to end: a real ``tidings serve``, pushes through the official SDK into the fake vendors, which
post their receipts in the vendor's own format to the callback the message named (Honor: to the
URL its console holds for the message's receipt id). The signed tag Tidings gave the message
names the delivery: "arrived" shows in QueryPushAnalysisTaskDetail once however often the vendor
repeats it, a click marks the delivery opened, and a receipt whose tag Tidings did not sign
changes nothing. RevokePushMessage of a message Xiaomi took is recalled through Xiaomi, one Honor
took is overwritten with the revoked text, and OPPO and vivo ones are counted Unrecallable."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.fakes.base import Received
from tests.fakes.honor import FakeHonor
from tests.fakes.oppo import FakeOppo, post_oppo_receipt
from tests.fakes.vivo import FakeVivo
from tests.fakes.xiaomi import FakeXiaomi, post_xiaomi_receipt
from tests.integration.test_vendor_delivery import create_prize_template, unique, wait_for_status
from tests.support import vendor_calls
from tests.support.clients import new_sdk
from tests.support.devices import push_multiple
from tests.support.servers import running_server
from tests.support.stored import connection
from tidings.channels.catalog import THIRD_CHANNELS

WORKSPACE = "signedrcpt"
APP_ID = "ONEXSIGNEDRCPT01"
TEMPLATE = "Prize"
VALUES = {"name": "Zhang San", "money": "200"}
RECEIPT_SECRET = "receipt-secret-0123456789"
HONOR_RECEIPT_ID = "honor-receipt-7"
VENDORS = ("honor", "xiaomi", "oppo", "vivo")


@pytest.fixture(scope="module")
def fakes():
    running = {
        "honor": FakeHonor().start(),
        "xiaomi": FakeXiaomi().start(),
        "oppo": FakeOppo().start(),
        "vivo": FakeVivo().start(),
    }
    yield running
    for fake in running.values():
        fake.stop()


def receipt_url(server, vendor: str) -> str:
    return f"{server.url}/receipts/{vendor}/{WORKSPACE}/{APP_ID}"


@pytest.fixture(scope="module", params=BACKENDS)
def tenant(request, fakes, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"signed-receipts-{request.param}")
    with running_server(request.param, data_dir, {}) as server:
        server.create_app(WORKSPACE, APP_ID)
        key = server.create_key(WORKSPACE)
        fakes["honor"].receipt_urls[HONOR_RECEIPT_ID] = receipt_url(server, "honor")
        for name, fake in fakes.items():
            config = {**fake.config(), "receipt_secret": RECEIPT_SECRET}
            if name == "honor":  # Honor's console holds the URL; the message names its id
                config["receipt_id"] = HONOR_RECEIPT_ID
            else:
                config["receipt_url"] = receipt_url(server, name)
            server.cli(
                "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
                "--channel", name, "--config", json.dumps(config),
            )  # fmt: skip
        client = new_sdk(server, key)
        create_prize_template(client, APP_ID, WORKSPACE)
        yield server, client


def pushed(client, server, fakes, vendor: str) -> tuple[str, str, str, Received]:
    """A push to a new device with a ``vendor`` token: the task id, the device, the message
    key, and what the fake took."""
    device, token, key = unique("DT"), unique(f"{vendor}-"), unique("k")
    answer = client.push_report(
        models.PushReportRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=device, os_type=1,
            third_channel=THIRD_CHANNELS[vendor], third_channel_device_token=token,
        )
    ).body  # fmt: skip
    assert answer.result_code == "OK", answer
    task = push_multiple(client, APP_ID, WORKSPACE, TEMPLATE, [(device, key, VALUES)])
    assert wait_for_status(server, task, 2) == [(vendor, 2, None)]
    (got,) = fakes[vendor].record.for_token(token)
    return task, device, key, got


def post_receipt(fakes, vendor: str, got: Received, tag: str | None = None) -> httpx.Response:
    """The fake vendor posts its arrival receipt of ``got`` (with ``tag`` in place of the
    signed tag the message carried, to forge one)."""
    if vendor == "honor":
        return fakes["honor"].post_receipt(got, bi_tag=tag)
    if vendor == "xiaomi":
        return post_xiaomi_receipt(got, param=tag)
    if vendor == "oppo":
        return post_oppo_receipt(got, param=tag)
    return fakes["vivo"].post_receipt(got, param=tag)


def arrivals(client, task: str) -> float:
    return vendor_calls.arrivals(client, APP_ID, WORKSPACE, task)


def delivery(server, task: str):
    with connection(server) as conn:
        return conn.execute(
            text("SELECT id, status, acked_at, opened_at FROM deliveries WHERE task_id = :t"),
            {"t": int(task)},
        ).one()


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_receipt_counts_the_message_as_arrived_once(tenant, fakes, vendor) -> None:
    server, client = tenant
    task, _, _, got = pushed(client, server, fakes, vendor)
    assert arrivals(client, task) == 0.0
    for _ in range(2):  # vendors repeat receipts: it counts once
        answer = post_receipt(fakes, vendor, got)
        assert answer.status_code == 200, answer.text
    assert arrivals(client, task) == 1.0
    assert delivery(server, task).acked_at is not None


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_receipt_without_a_tag_tidings_signed_is_refused(tenant, fakes, vendor) -> None:
    server, client = tenant
    task, _, _, got = pushed(client, server, fakes, vendor)
    delivery_id = delivery(server, task).id
    for forged in (f"{delivery_id}.{'0' * 24}", str(delivery_id), ""):
        answer = post_receipt(fakes, vendor, got, tag=forged)
        assert answer.status_code == 401, (forged, answer.text)
        assert "not one Tidings signed" in answer.json()["error"]
    time.sleep(0.2)
    assert arrivals(client, task) == 0.0
    assert delivery(server, task).acked_at is None


def test_xiaomi_receipts_show_in_the_trace_and_a_click_opens(tenant, fakes) -> None:
    server, client = tenant
    task, _, key, got = pushed(client, server, fakes, "xiaomi")
    for kind in (2, 128):  # clicked; then (out of order) over the daily quota
        answer = post_xiaomi_receipt(got, kind=kind)
        assert answer.status_code == 200, answer.text
    found = delivery(server, task)
    assert found.opened_at is not None and found.acked_at is not None
    assert arrivals(client, task) == 1.0
    printed = server.cli("trace", "--workspace", WORKSPACE, "--app-id", APP_ID, key, "--json")
    steps = {step["event"]: step["detail"] for step in json.loads(printed.stdout)["timeline"]}
    assert steps["acked"] == "arrived: acknowledged by xiaomi's receipt"
    assert steps["opened"] == "opened on the device"
    assert "xiaomi receipt type 128" in steps["receipt"]


def test_a_malformed_vendor_receipt_is_a_clear_400(tenant) -> None:
    server, _ = tenant
    for vendor, body in (("xiaomi", b"data=%5B1"), ("oppo", b"{}"), ("vivo", b"[1]")):
        answer = httpx.post(receipt_url(server, vendor), content=body, timeout=10)
        assert answer.status_code == 400, (vendor, answer.text)
        assert vendor.lower() in answer.json()["error"].lower()


@pytest.mark.parametrize("xiaomi_recalls", [True, False])
def test_revoking_a_message_xiaomi_delivered(tenant, fakes, xiaomi_recalls) -> None:
    server, client = tenant
    fake = fakes["xiaomi"]
    task, device, key, got = pushed(client, server, fakes, "xiaomi")
    if not xiaomi_recalls:
        fake.unrecallable.add(got.token)
    answer = vendor_calls.revoke_message(client, APP_ID, WORKSPACE, key, device)
    if xiaomi_recalls:
        assert (answer["Recalled"], answer["Unrecallable"]) == (1, 0)
        assert (got.body["notify_id"], got.token) in fake.recalled
        assert delivery(server, task).status == 4
    else:  # Xiaomi would not take it back: said so, and the delivery stays delivered
        assert (answer["Recalled"], answer["Unrecallable"]) == (0, 1)
        assert delivery(server, task).status == 2


def test_revoking_a_message_honor_delivered_overwrites_it(tenant, fakes) -> None:
    """Honor has no revoke call: RevokePushMessage replaces the notification the device shows
    under the delivery's notifyId with the revoked text, and counts it Recalled; OPPO and vivo
    recall nothing (Unrecallable, left delivered)."""
    server, client = tenant
    task, device, key, got = pushed(client, server, fakes, "honor")
    notify_id = got.body["android"]["notification"]["notifyId"]
    answer = vendor_calls.revoke_message(client, APP_ID, WORKSPACE, key, device)
    assert (answer["Recalled"], answer["Unrecallable"]) == (1, 0)
    shown, replaced = fakes["honor"].drawer.on_screen(got.token, notify_id)
    assert (shown["title"], replaced) == ("Message revoked", 1)
    assert delivery(server, task).status == 4
    for vendor in ("oppo", "vivo"):
        task, device, key, _ = pushed(client, server, fakes, vendor)
        answer = vendor_calls.revoke_message(client, APP_ID, WORKSPACE, key, device)
        assert (answer["Recalled"], answer["Unrecallable"]) == (0, 1), vendor
        assert delivery(server, task).status == 2
