"""Two ``tidings serve`` processes on one PostgreSQL database and one Redis: a device held by
one process gets what the other accepts, presence is shared, and a task is dispatched once even
though both processes sweep for due tasks."""

from __future__ import annotations

import collections
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.support.clients import new_sdk
from tests.support.devices import Listener, bind, push_multiple
from tests.support.servers import REDIS_URL, Server, free_port, require_redis, running_server
from tests.support.stored import connection

APP_ID = "ONEX570DA89211721"
WORKSPACE = "test"
TEMPLATE = "Cluster"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    require_redis()
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    settings = {
        "TIDINGS_REDIS_URL": REDIS_URL,
        "TIDINGS_REDIS_PREFIX": prefix,
        "TIDINGS_DELIVERY_SWEEP_SECONDS": "0.5",
    }
    first_dir = tmp_path_factory.mktemp("node-a")
    with running_server("postgresql", first_dir, settings) as first:
        first.create_app(WORKSPACE, APP_ID)
        second_dir = tmp_path_factory.mktemp("node-b")
        shutil.copy(first_dir / "secret.key", second_dir / "secret.key")  # one key for both
        port = free_port()
        second = Server(
            f"http://127.0.0.1:{port}", "127.0.0.1", port, second_dir, first.database_url, settings
        )
        second.start()
        try:
            yield first, second
        finally:
            second.stop()
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"{prefix}:*"):
                client.delete(key)


@pytest.fixture(scope="module")
def sdks(nodes: tuple[Server, Server]):
    first, second = nodes
    key = first.create_key(WORKSPACE)
    new_sdk(first, key).create_template(
        models.CreateTemplateRequest(
            app_id=APP_ID,
            workspace_id=WORKSPACE,
            template_name=TEMPLATE,
            title="Hi",
            content="Hello #name#",
        )
    )
    return new_sdk(first, key), new_sdk(second, key)


def statue(sdk, token: str) -> str:
    return sdk.push_query_device_state(
        models.PushQueryDeviceStateRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, target_type=1, target=token
        )
    ).body.data.statue


def test_a_device_on_one_process_gets_what_the_other_accepts(nodes, sdks, tmp_path: Path) -> None:
    via_first, _ = sdks
    device = Listener(nodes[1], APP_ID, WORKSPACE, tmp_path / "d.json")
    try:
        token = device.connected()["DeliveryToken"]
        assert statue(via_first, token) == "ONLINE"  # presence seen from the other process
        push_multiple(via_first, APP_ID, WORKSPACE, TEMPLATE, [(token, "poked", {"name": "A"})])
        assert device.messages(1)[0]["content"] == "Hello A"
        user = f"user-{uuid.uuid4().hex[:8]}"
        push_multiple(
            via_first,
            APP_ID,
            WORKSPACE,
            TEMPLATE,
            [(user, "waited", {"name": "B"})],
            delivery_type=3,
        )
        bind(via_first, APP_ID, WORKSPACE, token, user)  # adoption on the first process
        assert device.messages(1)[0]["msgKey"] == "waited"
    finally:
        device.stop()
    deadline = time.monotonic() + 10
    while statue(via_first, token) != "OFFLINE":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_each_task_is_dispatched_once_by_one_of_the_processes(nodes, sdks, tmp_path: Path) -> None:
    first, _ = nodes
    device = Listener(nodes[1], APP_ID, WORKSPACE, tmp_path / "e.json")
    try:
        token = device.connected()["DeliveryToken"]
        sent = []
        for call in range(6):
            batch = [(token, f"once-{call}-{i}", {"name": str(i)}) for i in range(100)]
            push_multiple(sdks[call % 2], APP_ID, WORKSPACE, TEMPLATE, batch)
            sent += [k for _, k, _ in batch]
        received = device.messages(len(sent), timeout=60)
        device.quiet(0.5)
    finally:
        device.stop()
    assert collections.Counter(m["msgKey"] for m in received) == collections.Counter(sent)
    with connection(first) as conn:
        per_message = conn.execute(
            text(
                "SELECT m.msg_key, count(*) FROM deliveries d JOIN messages m "
                "ON m.pk = d.message_pk WHERE m.msg_key LIKE 'once-%' GROUP BY m.msg_key"
            )
        ).all()
    assert sorted(k for k, _ in per_message) == sorted(sent)
    assert {n for _, n in per_message} == {1}
