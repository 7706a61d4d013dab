"""Vendor channels end to end: PushReport and PushMultiple through the official SDK, a real
``tidings serve`` on both databases, and each fake vendor receiving what it should.

A dead vendor token is removed from the device, and the message reaches the device over the
self-built channel instead (``tidings device listen`` is the device).
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.fakes.apns import FakeApns
from tests.fakes.credentials import apns_config, fcm_config
from tests.fakes.fcm import FakeFcm
from tests.fakes.hms import FakeHms
from tests.fakes.honor import FakeHonor
from tests.fakes.oppo import FakeOppo
from tests.fakes.vivo import FakeVivo
from tests.fakes.xiaomi import FakeXiaomi
from tests.support import vendor_calls
from tests.support.clients import new_sdk
from tests.support.devices import Listener, push_multiple
from tests.support.servers import running_server
from tests.support.stored import connection
from tests.support.webhook_receiver import receiving
from tidings.channels.catalog import THIRD_CHANNELS
from tidings.webhooks import signing

WORKSPACE = "vendorws"
APP_ID = "ONEXVENDOR000001"
TEMPLATE = "Prize"
VALUES = {"name": "Zhang San", "money": "200"}
HTTP_FAKES = {"fcm": FakeFcm, "hms": FakeHms, "honor": FakeHonor, "xiaomi": FakeXiaomi,
              "oppo": FakeOppo, "vivo": FakeVivo}  # fmt: skip


@pytest.fixture(scope="module")
def fakes(tmp_path_factory: pytest.TempPathFactory):
    running = {name: cls().start() for name, cls in HTTP_FAKES.items()}
    running["apns"] = FakeApns(tmp_path_factory.mktemp("apns-ca")).start()
    yield running
    for fake in running.values():
        fake.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def tenant(request, fakes, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"vendor-{request.param}")
    settings = {"SSL_CERT_FILE": str(fakes["apns"].ca_file), "TIDINGS_DELIVERY_SWEEP_SECONDS": "1"}
    with running_server(request.param, data_dir, settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        key = server.create_key(WORKSPACE)
        for name, fake in fakes.items():
            if name == "apns":
                config = apns_config(fake.url)
            elif name == "fcm":
                config = fcm_config(fake.url, fake.token_url)
            else:
                config = fake.config()
            server.cli(
                "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
                "--channel", name, "--config", json.dumps(config),
            )  # fmt: skip
        client = new_sdk(server, key)
        create_prize_template(client, APP_ID, WORKSPACE)
        yield server, client


def create_prize_template(client, app_id: str, workspace: str) -> None:
    """The template the vendor tests push: "Hello #name#, congratulations on winning #money#
    yuan"."""
    created = client.create_template(
        models.CreateTemplateRequest(
            app_id=app_id, workspace_id=workspace, template_name=TEMPLATE,
            title="Prize", content="Hello #name#, congratulations on winning #money# yuan",
        )
    ).body  # fmt: skip
    assert created.success, created


def report(client, token: str, vendor: str, vendor_token: str, os_type: int = 1) -> None:
    answer = client.push_report(
        models.PushReportRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=token, os_type=os_type,
            third_channel=THIRD_CHANNELS[vendor], third_channel_device_token=vendor_token,
        )
    ).body  # fmt: skip
    assert answer.result_code == "OK", answer


def statuses(server, task_id: str) -> list[tuple]:
    with connection(server) as conn:
        rows = conn.execute(
            text("SELECT channel, status, reason FROM deliveries WHERE task_id = :t ORDER BY id"),
            {"t": int(task_id)},
        )
        return [tuple(row) for row in rows]


def wait_for_status(server, task_id: str, wanted: int, timeout: float = 15) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = statuses(server, task_id)
        if found and all(row[1] == wanted for row in found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"deliveries of task {task_id}: {statuses(server, task_id)}")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def test_ios_push_reaches_apns(tenant, fakes) -> None:
    server, client = tenant
    apns_token = uuid.uuid4().hex * 2
    report(client, apns_token, "apns", apns_token, os_type=2)
    task = push_multiple(
        client, APP_ID, WORKSPACE, TEMPLATE, [(apns_token, unique("k"), VALUES)],
        delivery_type=2, extended_params=json.dumps({"badge": "5", "sound": "ring.caf"}),
    )  # fmt: skip
    assert wait_for_status(server, task, 2) == [("apns", 2, None)]
    (got,) = fakes["apns"].record.for_token(apns_token)
    assert got.body["aps"]["alert"] == {
        "title": "Prize",
        "body": "Hello Zhang San, congratulations on winning 200 yuan",
    }
    assert got.body["aps"]["badge"] == 5 and got.body["aps"]["sound"] == "ring.caf"


def test_revoking_an_ios_message_overwrites_the_shown_alert(tenant, fakes) -> None:
    """APNs has no revoke call: RevokePushMessage replaces the alert the device shows under the
    delivery's apns-collapse-id with the revoked text and counts it Recalled; a background
    push shows nothing to replace and is counted Unrecallable, left delivered."""
    server, client = tenant
    apns_token, key, quiet_key = uuid.uuid4().hex * 2, unique("k"), unique("k")
    report(client, apns_token, "apns", apns_token, os_type=2)
    task = push_multiple(
        client, APP_ID, WORKSPACE, TEMPLATE, [(apns_token, key, VALUES)], delivery_type=2
    )
    quiet = push_multiple(
        client, APP_ID, WORKSPACE, TEMPLATE, [(apns_token, quiet_key, VALUES)],
        delivery_type=2, silent=1,
    )  # fmt: skip
    assert wait_for_status(server, task, 2) == wait_for_status(server, quiet, 2)
    by_type = {r.headers["apns-push-type"]: r for r in fakes["apns"].record.for_token(apns_token)}
    alert, background = by_type["alert"], by_type["background"]
    collapse_id = alert.headers["apns-collapse-id"]
    assert alert.body["aps"]["alert"]["title"] == "Prize" and len(collapse_id.encode()) <= 64

    answer = vendor_calls.revoke_message(client, APP_ID, WORKSPACE, key, apns_token)
    assert (answer["Recalled"], answer["Unrecallable"]) == (1, 0)
    shown, replaced = fakes["apns"].state.drawer.on_screen(apns_token, collapse_id)
    assert (shown["title"], shown["body"], replaced) == (
        "Message revoked", "This message was withdrawn by the sender.", 1,
    )  # fmt: skip
    assert statuses(server, task) == [("apns", 4, None)]

    answer = vendor_calls.revoke_message(client, APP_ID, WORKSPACE, quiet_key, apns_token)
    assert (answer["Recalled"], answer["Unrecallable"]) == (0, 1)
    assert statuses(server, quiet) == [("apns", 2, None)]
    assert "apns-collapse-id" not in background.headers


@pytest.mark.parametrize(
    ("vendor", "options", "check"),
    [
        ("hms", {"third_channel_category": {"hms": "1"},
                 "notify_level": {"hms": "2"}, "channel_id": "chat"},
         lambda m: m["android"]["category"] == "IM"
         and m["android"]["notification"]["importance"] == "NORMAL"
         and m["android"]["notification"]["channel_id"] == "chat"),
        ("honor", {"third_channel_category": {"honor": "LOW"}},
         lambda m: m["android"]["notification"]["importance"] == "LOW"),
        ("fcm", {"channel_id": "news"},
         lambda m: m["android"]["notification"]["channel_id"] == "news"),
        ("xiaomi", {"mi_channel_id": "mi-chat"},
         lambda m: m["extra.channel_id"] == "mi-chat"),
        ("oppo", {"third_channel_category": {"oppo": "ACCOUNT"},
                  "notify_level": {"oppo": "2"}},
         lambda m: m["notification"]["category"] == "ACCOUNT"
         and m["notification"]["notify_level"] == 2),
        ("vivo", {"classification": "0", "third_channel_category": {"vivo": "NEWS"}},
         lambda m: m["classification"] == 0 and m["category"] == "NEWS"),
    ],
)  # fmt: skip
def test_android_push_reaches_the_vendor(tenant, fakes, vendor, options, check) -> None:
    server, client = tenant
    device, vendor_token = unique("DT"), unique(f"{vendor}-")
    report(client, device, vendor, vendor_token)
    task = push_multiple(
        client, APP_ID, WORKSPACE, TEMPLATE, [(device, unique("k"), VALUES)], **options
    )
    deadline = time.monotonic() + 15
    while not fakes[vendor].record.for_token(vendor_token):
        assert time.monotonic() < deadline, f"{vendor} received nothing"
        time.sleep(0.05)
    (got,) = fakes[vendor].record.for_token(vendor_token)
    assert "Hello Zhang San, congratulations on winning 200 yuan" in json.dumps(
        got.body, ensure_ascii=False
    )
    assert check(got.body), got.body
    assert wait_for_status(server, task, 2) == [(vendor, 2, None)]


def test_dead_token_is_removed_and_the_device_gets_it_itself(tenant, fakes, tmp_path) -> None:
    server, client = tenant
    listener = Listener(server, APP_ID, WORKSPACE, tmp_path / "device.json")
    try:
        device = listener.connected()["DeliveryToken"]
        dead = unique("hms-dead-")
        fakes["hms"].dead.add(dead)
        report(client, device, "hms", dead)
        task = push_multiple(client, APP_ID, WORKSPACE, TEMPLATE, [(device, unique("k"), VALUES)])
        (message,) = listener.messages(1)
        assert message["content"] == "Hello Zhang San, congratulations on winning 200 yuan"
        assert wait_for_status(server, task, 2) == [("selfbuilt", 2, None)]
        assert fakes["hms"].record.for_token(dead) == []
        with connection(server) as conn:
            row = conn.execute(
                text("SELECT third_token, manufacturer FROM devices WHERE token = :t"),
                {"t": device},
            ).one()
        assert tuple(row) == (None, "android")
    finally:
        listener.stop()


def test_transparent_goes_over_the_self_built_channel(tenant, fakes, tmp_path) -> None:
    server, client = tenant
    listener = Listener(server, APP_ID, WORKSPACE, tmp_path / "device.json")
    try:
        device = listener.connected()["DeliveryToken"]
        vendor_token = unique("xm-")
        report(client, device, "xiaomi", vendor_token)
        task = push_multiple(
            client, APP_ID, WORKSPACE, TEMPLATE, [(device, unique("k"), VALUES)],
            notify_type="transparent",
        )  # fmt: skip
        (message,) = listener.messages(1)
        assert message["notifyType"] == "transparent"
        assert wait_for_status(server, task, 2) == [("selfbuilt", 2, None)]
        assert fakes["xiaomi"].record.for_token(vendor_token) == []
    finally:
        listener.stop()


def test_a_device_reports_its_vendor_token_over_its_own_connection(tenant, fakes, tmp_path) -> None:
    server, client = tenant
    vendor_token = unique("hms-listen-")
    listener = Listener(
        server, APP_ID, WORKSPACE, tmp_path / "device.json",
        "--vendor", "hms", "--vendor-token", vendor_token,
    )  # fmt: skip
    try:
        device = listener.connected()["DeliveryToken"]
        assert listener.next() == {"event": "reported", "vendor": "hms"}
        state = client.push_query_device_state(
            models.PushQueryDeviceStateRequest(
                app_id=APP_ID, workspace_id=WORKSPACE, target_type=1, target=device
            )
        ).body.data  # fmt: skip
        assert (state.manufacturer, state.third_token) == ("hms", vendor_token)
        task = push_multiple(client, APP_ID, WORKSPACE, TEMPLATE, [(device, unique("k"), VALUES)])
        assert wait_for_status(server, task, 2) == [("hms", 2, None)]
        (got,) = fakes["hms"].record.for_token(vendor_token)
        assert "Hello Zhang San" in json.dumps(got.body, ensure_ascii=False)
        listener.quiet(0.5)  # the vendor carried it; the self-built channel did not
    finally:
        listener.stop()


def test_a_vendor_token_that_does_not_fit_the_device_closes_its_connection(tenant, tmp_path):
    server, _ = tenant
    listener = Listener(
        server, APP_ID, WORKSPACE, tmp_path / "device.json",
        "--vendor", "apns", "--vendor-token", "ab" * 32,
    )  # fmt: skip
    try:
        listener.connected()
        refused = listener.next()
        assert refused["event"] == "refused" and refused["code"] == 1008, refused
        assert "apns push tokens belong to iOS devices" in refused["reason"]
    finally:
        listener.stop()


def test_vendor_outcomes_reach_a_webhook(tenant, fakes, tmp_path) -> None:
    """A vendor's acceptance, its refusal (with its code) and a dead token dropped, each as a
    signed webhook event."""
    server, client = tenant
    with receiving() as receiver:
        secret = signing.new_secret()
        receiver.secrets.append(secret)
        added = server.cli(
            "webhooks", "add", "--workspace", WORKSPACE, "--app-id", APP_ID, "--url", receiver.url,
            "--events", "delivery.sent,delivery.failed,device.token_invalid", "--secret", secret,
        ).stdout  # fmt: skip
        endpoint = added.split("Added endpoint ")[1].split(".")[0]
        listener = Listener(server, APP_ID, WORKSPACE, tmp_path / "device.json")
        try:
            taken, refused = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
            for token in (taken, refused):
                report(client, token, "apns", token, os_type=2)
            fakes["apns"].fail(413, "PayloadTooLarge", token=refused)
            keys = {token: unique("k") for token in (taken, refused)}
            push_multiple(
                client, APP_ID, WORKSPACE, TEMPLATE,
                [(token, key, VALUES) for token, key in keys.items()], delivery_type=2,
            )  # fmt: skip
            (sent,) = receiver.wait_for(1, kind="delivery.sent")
            assert sent["data"]["msgKey"] == keys[taken] and sent["data"]["channel"] == "apns"
            (failed,) = receiver.wait_for(1, kind="delivery.failed")
            assert failed["data"]["msgKey"] == keys[refused]
            assert failed["data"]["code"] == failed["data"]["status"] == 2002
            assert "PayloadTooLarge" in failed["data"]["reason"]

            device = listener.connected()["DeliveryToken"]
            dead = unique("hms-dead-")
            fakes["hms"].dead.add(dead)
            report(client, device, "hms", dead)
            push_multiple(client, APP_ID, WORKSPACE, TEMPLATE, [(device, unique("k"), VALUES)])
            (dropped,) = receiver.wait_for(1, kind="device.token_invalid")
            assert dropped["data"]["device"] == device and dropped["data"]["vendorToken"] == dead
            assert dropped["data"]["channel"] == "hms"
            assert receiver.unverified == 0
        finally:
            listener.stop()
            server.cli("webhooks", "remove", endpoint, "--workspace", WORKSPACE, "--app-id", APP_ID)
