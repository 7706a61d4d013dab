"""What was answered OK survives ``kill -9``: the server is killed at several moments after
PushMultiple answered (before dispatch, during it, while deliveries are on the wire, while acks
are being recorded), restarted on the same data, and the device, which stays up and reconnects
on its own, shows every message exactly once; messages that outlive their validity meanwhile
expire instead."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest
from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.support.clients import new_sdk
from tests.support.devices import Listener, bind, push_multiple
from tests.support.servers import Server, running_server
from tests.support.stored import connection

APP_ID = "ONEX570DA89211721"
WORKSPACE = "test"
TEMPLATE = "Durable"
# Seconds between the last answer and the kill: 0 lands before or during dispatch, the longer
# ones while frames are on the wire and acks are being written.
KILL_DELAYS = (0.0, 0.01, 0.05, 0.15, 0.4)
CALLS_PER_ROUND = 3


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp(f"durable-{request.param}")
    with running_server(
        request.param, data_dir, {"TIDINGS_DELIVERY_SWEEP_SECONDS": "0.5"}
    ) as running:
        running.create_app(WORKSPACE, APP_ID)
        yield running


@pytest.fixture(scope="module")
def key(server: Server) -> tuple[str, str]:
    return server.create_key(WORKSPACE)


def sdk_for(server: Server, key: tuple[str, str]):
    client = new_sdk(server, key)
    client.create_template(
        models.CreateTemplateRequest(
            app_id=APP_ID,
            workspace_id=WORKSPACE,
            template_name=TEMPLATE,
            title="Order",
            content="Order #n# for #name#",
        )
    )
    return client


def kill_and_restart(server: Server, delay: float) -> None:
    time.sleep(delay)
    assert server.process is not None
    server.process.kill()  # SIGKILL: no shutdown, no flush
    server.process.wait()
    server.process = None
    server.start()


def stored_statuses(server: Server, msg_keys: list[str]) -> collections.Counter:
    with connection(server) as conn:
        rows = conn.execute(
            text(
                "SELECT m.msg_key, d.status FROM deliveries d JOIN messages m "
                "ON m.pk = d.message_pk WHERE m.app_pk = (SELECT pk FROM apps WHERE app_id = :a)"
            ),
            {"a": APP_ID},
        )
        wanted = set(msg_keys)
        return collections.Counter((k, s) for k, s in rows if k in wanted)


def test_kill_9_after_answers_loses_and_repeats_nothing(
    server: Server, key, tmp_path: Path
) -> None:
    sdk = sdk_for(server, key)
    device = Listener(server, APP_ID, WORKSPACE, tmp_path / "device.json")
    try:
        token = device.connected()["DeliveryToken"]
        bind(sdk, APP_ID, WORKSPACE, token, "durable-user")
        sent: list[str] = []
        for round_no, delay in enumerate(KILL_DELAYS):
            for call in range(CALLS_PER_ROUND):
                by_user = call % 2 == 1
                batch = [
                    (
                        "durable-user" if by_user else token,
                        f"r{round_no}-c{call}-{i}",
                        {"n": str(i), "name": "Wang Wu"},
                    )
                    for i in range(100)
                ]
                push_multiple(
                    sdk, APP_ID, WORKSPACE, TEMPLATE, batch, delivery_type=3 if by_user else 1
                )
                sent.extend(k for _, k, _ in batch)
            kill_and_restart(server, delay)
            sdk = new_sdk(server, key)
        received = device.messages(len(sent), timeout=60)
        device.quiet(1.0)  # and nothing more: no message twice
    finally:
        device.stop()
    counts = collections.Counter(m["msgKey"] for m in received)
    assert set(counts) == set(sent)
    assert max(counts.values()) == 1
    # One delivery per message (dispatch never ran twice), each acknowledged in the end.
    deadline = time.monotonic() + 10
    while (stored := stored_statuses(server, sent)) != collections.Counter(
        {(k, 2): 1 for k in sent}
    ):
        assert time.monotonic() < deadline, stored.most_common(3)
        time.sleep(0.1)


def test_what_outlives_its_validity_during_an_outage_expires(
    server: Server, key, tmp_path: Path
) -> None:
    sdk = sdk_for_existing(server, key)
    state = tmp_path / "away.json"
    first = Listener(server, APP_ID, WORKSPACE, state)
    token = first.connected()["DeliveryToken"]
    first.stop()
    short = [(token, f"short-{i}", {"n": str(i), "name": "Zhao"}) for i in range(50)]
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, short, expired_seconds=1)
    server.process.kill()
    server.process.wait()
    server.process = None
    time.sleep(1.1)  # the outage outlasts the messages' validity
    server.start()
    device = Listener(server, APP_ID, WORKSPACE, state)
    try:
        assert device.connected()["event"] == "resumed"
        device.quiet(1.0)
    finally:
        device.stop()
    keys = [k for _, k, _ in short]
    deadline = time.monotonic() + 10
    while stored_statuses(server, keys) != collections.Counter({(k, 3): 1 for k in keys}):
        assert time.monotonic() < deadline, stored_statuses(server, keys).most_common(3)
        time.sleep(0.1)


def sdk_for_existing(server: Server, key: tuple[str, str]):
    """The SDK for a module whose template may exist already."""
    client = new_sdk(server, key)
    client.create_template(
        models.CreateTemplateRequest(
            app_id=APP_ID,
            workspace_id=WORKSPACE,
            template_name=TEMPLATE,
            title="Order",
            content="Order #n# for #name#",
        )
    )  # answers TEMPLATE_ALREADY_EXIST after the first test, which is fine
    return client
