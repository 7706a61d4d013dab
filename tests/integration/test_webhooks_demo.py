"""Issue 14's demonstration: one PushMultiple through the official SDK to three users, one on
the self-built channel (a real ``tidings device listen`` that reports opens), one on Xiaomi (the
fake posts its click receipt: arrived and opened), one browser on the fake Web Push service;
a local receiver checks every request's signature with ``standardwebhooks``.

Web Push has no arrival or open receipt that push services implement (RFC 8030's receipts,
section 5.1, are not offered by the browsers' push services), so the browser's message is
reported as ``delivery.sent`` (the push service took it) and nothing more; docs/webhooks.md says
so. Killing the server between accept and delivery, and an endpoint failing for a while, are
shown by tests/integration/test_webhooks_durability.py and
tests/integration/pushing/test_webhooks.py. SQLite only: each part runs on PostgreSQL there."""

from __future__ import annotations

import json

import pytest
from alibabacloud_mpaas20201028 import models

from tests.fakes.webpush import FakeWebPush
from tests.fakes.xiaomi import FakeXiaomi, post_xiaomi_receipt
from tests.integration.test_harmonyos_delivery import arrived
from tests.integration.test_vendor_delivery import create_prize_template, unique
from tests.support.clients import new_sdk
from tests.support.devices import Listener, bind, push_multiple
from tests.support.servers import running_server
from tests.support.webhook_receiver import add_endpoint, receiving
from tidings.channels import webpush
from tidings.channels.catalog import THIRD_CHANNELS
from tidings.channels.xiaomi import CLICKED

WORKSPACE = "demows"
APP_ID = "ONEXDEMO00000001"
VALUES = {"name": "Zhang San", "money": "200"}
SETTINGS = {"TIDINGS_WEBHOOK_POLL_SECONDS": "0.1", "TIDINGS_DELIVERY_SWEEP_SECONDS": "0.5"}


@pytest.fixture
def fakes():
    running = FakeXiaomi().start(), FakeWebPush().start()
    yield running
    for fake in running:
        fake.stop()


def report(client, device: str, os_type: int, vendor: str, token: str, user: str) -> None:
    answer = client.push_report(
        models.PushReportRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=device, os_type=os_type,
            third_channel=THIRD_CHANNELS[vendor], third_channel_device_token=token,
        )
    ).body  # fmt: skip
    assert answer.result_code == "OK", answer
    assert bind(client, APP_ID, WORKSPACE, device, user, os_type=os_type).result_code == "OK"


def test_three_channels_report_to_one_signed_receiver(fakes, tmp_path) -> None:
    xiaomi, web = fakes
    private = webpush.new_private_key()
    with running_server("sqlite", tmp_path / "data", SETTINGS) as server, receiving() as hooks:
        server.create_app(WORKSPACE, APP_ID)
        client = new_sdk(server, server.create_key(WORKSPACE))
        create_prize_template(client, APP_ID, WORKSPACE)
        receipt_url = f"{server.url}/receipts/xiaomi/{WORKSPACE}/{APP_ID}"
        configs = {
            "xiaomi": {**xiaomi.config(), "receipt_secret": "s" * 24, "receipt_url": receipt_url},
            "webpush": {
                "subject": "mailto:ops@example.com",
                "vapid_private_key": private,
                "allowed_hosts": ["127.0.0.1"],
            },
        }
        for name, config in configs.items():
            server.cli(
                "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
                "--channel", name, "--config", json.dumps(config),
            )  # fmt: skip
        add_endpoint(
            server, WORKSPACE, APP_ID, hooks, "delivery.sent,delivery.arrived,delivery.opened"
        )
        users = {name: unique(f"{name}-user") for name in ("selfbuilt", "xiaomi", "webpush")}
        phone = Listener(server, APP_ID, WORKSPACE, tmp_path / "phone.json", "--open")
        try:
            bind(client, APP_ID, WORKSPACE, phone.connected()["DeliveryToken"], users["selfbuilt"])
            mi_token = unique("mi-")
            report(client, unique("DT"), 1, "xiaomi", mi_token, users["xiaomi"])
            subscription = web.subscribe(webpush.public_key(private))
            report(client, unique("web-"), 8, "webpush", subscription, users["webpush"])
            keys = {name: unique("k") for name in users}
            push_multiple(
                client, APP_ID, WORKSPACE, "Prize",
                [(users[name], keys[name], VALUES) for name in users], delivery_type=3,
            )  # fmt: skip
            phone.messages(1)
            got = arrived(xiaomi, mi_token)
            assert post_xiaomi_receipt(got, CLICKED).status_code == 200
            arrived(web, json.loads(subscription)["endpoint"].rsplit("/", 1)[1])
            for kind, names in (
                ("delivery.arrived", ("selfbuilt", "xiaomi")),
                ("delivery.opened", ("selfbuilt", "xiaomi")),
                ("delivery.sent", ("xiaomi", "webpush")),
            ):
                wanted = {(name, keys[name]) for name in names}
                seen = hooks.wait_until(lambda events, k=kind, w=wanted: of_kind(events, k) >= w)
                assert of_kind(seen, kind) == wanted, (kind, of_kind(seen, kind))
            assert hooks.unverified == 0
            # At least once, with a stable id: a receiver keeps one event per id.
            by_id = {e["id"]: e for e in hooks.events()}
            assert len(by_id) == 6
            assert all(e == by_id[e["id"]] for e in hooks.events()), "one id, two events"
        finally:
            phone.stop()


def of_kind(events: list[dict], kind: str) -> set[tuple[str, str]]:
    return {(e["data"]["channel"], e["data"]["msgKey"]) for e in events if e["type"] == kind}
