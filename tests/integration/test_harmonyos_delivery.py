"""HarmonyOS NEXT end to end: a real ``tidings serve`` with the ``harmonyos`` channel set up
through ``tidings channels set``, the official SDK's PushReport, PushMultiple and PushBroadcast
with DeliveryType 7, and the fake Push Kit v3 checking the JWT and the message schema.

A device reports its Push Kit token through PushReport or over its own connection
(``tidings device listen --platform harmonyos --vendor harmonyos``); a token Push Kit calls dead
is removed and the message reaches the device over the self-built channel.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alibabacloud_mpaas20201028 import models
from alibabacloud_mpaas20201028.client import Client
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.fakes.harmonyos import FakeHarmony
from tests.integration.test_vendor_delivery import (
    create_prize_template,
    statuses,
    unique,
    wait_for_status,
)
from tests.support import vendor_calls
from tests.support.clients import new_sdk
from tests.support.devices import Listener, push_multiple
from tests.support.servers import Server, running_server
from tests.support.stored import connection
from tidings.channels.catalog import THIRD_CHANNELS

WORKSPACE = "harmonyws"
APP_ID = "ONEXHARMONY00001"
TEMPLATE = "Prize"
VALUES = {"name": "Zhang San", "money": "200"}
HARMONYOS = 7  # DeliveryType and OsType


@pytest.fixture(scope="module")
def fake():
    running = FakeHarmony().start()
    yield running
    running.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def tenant(request, fake, tmp_path_factory):
    with serving(request.param, tmp_path_factory.mktemp(f"harmony-{request.param}"), fake) as made:
        yield made


@contextmanager
def serving(kind: str, data_dir: Path, fake: FakeHarmony) -> Iterator[tuple[Server, Client]]:
    """A server (sweeping every second) with an app that pushes through ``fake``, and an SDK
    client of it."""
    settings = {"TIDINGS_DELIVERY_SWEEP_SECONDS": "1"}
    with running_server(kind, data_dir, settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        key = server.create_key(WORKSPACE)
        server.cli(
            "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
            "--channel", "harmonyos", "--config", json.dumps(fake.config()),
        )  # fmt: skip
        client = new_sdk(server, key)
        create_prize_template(client, APP_ID, WORKSPACE)
        yield server, client


def report(client, token: str, push_token: str) -> None:
    answer = client.push_report(
        models.PushReportRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=token, os_type=HARMONYOS,
            third_channel=THIRD_CHANNELS["harmonyos"], third_channel_device_token=push_token,
        )
    ).body  # fmt: skip
    assert answer.result_code == "OK", answer


def arrived(fake: FakeHarmony, push_token: str, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while not fake.record.for_token(push_token):
        assert time.monotonic() < deadline, "the fake Push Kit received nothing"
        time.sleep(0.05)
    (got,) = fake.record.for_token(push_token)
    return got


def test_push_multiple_with_delivery_type_7_reaches_push_kit(tenant, fake) -> None:
    server, client = tenant
    device, push_token = unique("DT"), unique("harmony-")
    report(client, device, push_token)
    key = unique("k")
    task = push_multiple(
        client, APP_ID, WORKSPACE, TEMPLATE, [(device, key, VALUES)],
        delivery_type=HARMONYOS, third_channel_category={"harmonyos": "1"},
        per_target={key: {"orderId": "42"}},
    )  # fmt: skip
    got = arrived(fake, push_token)
    assert got.headers["push-type"] == "0"
    notification = got.body["payload"]["notification"]
    assert notification["body"] == "Hello Zhang San, congratulations on winning 200 yuan"
    assert notification["category"] == "IM"
    data = notification["clickAction"]["data"]
    assert (data["orderId"], data["taskId"]) == ("42", task)
    assert wait_for_status(server, task, 2) == [("harmonyos", 2, None)]


def test_a_harmonyos_device_reports_its_push_token_over_its_connection(tenant, fake, tmp_path):
    server, client = tenant
    push_token = unique("harmony-listen-")
    listener = Listener(
        server, APP_ID, WORKSPACE, tmp_path / "device.json", "--platform", "harmonyos",
        "--vendor", "harmonyos", "--vendor-token", push_token,
    )  # fmt: skip
    try:
        device = listener.connected()["DeliveryToken"]
        assert listener.next() == {"event": "reported", "vendor": "harmonyos"}
        state = client.push_query_device_state(
            models.PushQueryDeviceStateRequest(
                app_id=APP_ID, workspace_id=WORKSPACE, target_type=1, target=device
            )
        ).body.data  # fmt: skip
        assert (state.manufacturer, state.third_token) == ("harmonyos", push_token)
        task = push_multiple(
            client, APP_ID, WORKSPACE, TEMPLATE, [(device, unique("k"), VALUES)],
            delivery_type=HARMONYOS,
        )  # fmt: skip
        assert wait_for_status(server, task, 2) == [("harmonyos", 2, None)]
        assert arrived(fake, push_token).headers["push-type"] == "0"
        listener.quiet(0.5)  # Push Kit carried it; the self-built channel did not
    finally:
        listener.stop()


def test_a_broadcast_to_delivery_type_7_goes_through_push_kit(tenant, fake) -> None:
    server, client = tenant
    device, push_token = unique("DT"), unique("harmony-all-")
    report(client, device, push_token)
    answer = client.push_broadcast(
        models.PushBroadcastRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, task_name="everyone", template_name=TEMPLATE,
            template_key_value=json.dumps(VALUES), delivery_type=HARMONYOS,
            msgkey=unique("b"), expired_seconds=600, push_status=1, un_bind_period=4,
        )
    ).body  # fmt: skip
    assert answer.result_code == "OK", answer
    got = arrived(fake, push_token)
    assert got.body["payload"]["notification"]["title"] == "Prize"
    task = str(answer.push_result.data)
    deadline = time.monotonic() + 15
    while ("harmonyos", 2, None) not in statuses(server, task):
        assert time.monotonic() < deadline, statuses(server, task)
        time.sleep(0.05)


def test_a_dead_push_token_is_removed_and_the_device_gets_it_itself(tenant, fake, tmp_path):
    server, client = tenant
    listener = Listener(
        server, APP_ID, WORKSPACE, tmp_path / "device.json", "--platform", "harmonyos"
    )
    try:
        device = listener.connected()["DeliveryToken"]
        dead = unique("harmony-dead-")
        fake.dead.add(dead)
        report(client, device, dead)
        task = push_multiple(
            client, APP_ID, WORKSPACE, TEMPLATE, [(device, unique("k"), VALUES)],
            delivery_type=HARMONYOS,
        )  # fmt: skip
        (message,) = listener.messages(1)
        assert message["content"] == "Hello Zhang San, congratulations on winning 200 yuan"
        assert wait_for_status(server, task, 2) == [("selfbuilt", 2, None)]
        with connection(server) as conn:
            row = conn.execute(
                text("SELECT third_token, manufacturer FROM devices WHERE token = :t"),
                {"t": device},
            ).one()
        assert tuple(row) == (None, "harmonyos")
    finally:
        listener.stop()


@pytest.mark.parametrize("push_kit_recalls", [True, False])
def test_revoking_a_message_push_kit_delivered(tenant, fake, push_kit_recalls) -> None:
    server, client = tenant
    device, push_token, key = unique("DT"), unique("harmony-revoke-"), unique("k")
    report(client, device, push_token)
    if not push_kit_recalls:
        fake.unrecallable.add(push_token)
    task = push_multiple(
        client, APP_ID, WORKSPACE, TEMPLATE, [(device, key, VALUES)], delivery_type=HARMONYOS
    )
    assert wait_for_status(server, task, 2) == [("harmonyos", 2, None)]
    notify_id = arrived(fake, push_token).body["payload"]["notification"]["notifyId"]
    answer = vendor_calls.revoke_message(client, APP_ID, WORKSPACE, key, device)
    if push_kit_recalls:
        assert (answer["Recalled"], answer["Unrecallable"]) == (1, 0)
        assert (notify_id, push_token) in fake.recalled
        assert statuses(server, task) == [("harmonyos", 4, None)]
    else:  # Push Kit would not take it back: said so, and the delivery stays delivered
        assert (answer["Recalled"], answer["Unrecallable"]) == (0, 1)
        assert statuses(server, task) == [("harmonyos", 2, None)]
