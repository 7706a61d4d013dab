"""A device given two servers of one cluster moves to the other when its server stops."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest
from alibabacloud_mpaas20201028 import models
from cryptography.fernet import Fernet

from tests.support.clients import new_sdk
from tests.support.devices import Listener, bind, push_multiple
from tests.support.servers import REDIS_URL, Server, free_port, postgres_schema, require_redis

WORKSPACE, APP_ID = "failws", "ONEXFAIL00000001"


SECRET_KEY = Fernet.generate_key().decode()


def node(tmp_path: Path, name: str, url: str, prefix: str) -> Server:
    port = free_port()
    settings = {
        "TIDINGS_REDIS_URL": REDIS_URL,
        "TIDINGS_REDIS_PREFIX": prefix,
        "TIDINGS_SECRET_KEY": SECRET_KEY,
    }
    server = Server(f"http://127.0.0.1:{port}", "127.0.0.1", port, tmp_path / name, url, settings)
    server.start()
    return server


def test_a_device_moves_to_the_next_server_when_its_own_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_redis()
    monkeypatch.setenv("TIDINGS_SECRET_KEY", SECRET_KEY)  # for the admin commands run here
    prefix = "t" + uuid.uuid4().hex[:8]
    with postgres_schema() as url:
        first, second = node(tmp_path, "a", url, prefix), node(tmp_path, "b", url, prefix)
        device: Listener | None = None
        try:
            first.create_app(WORKSPACE, APP_ID)
            key = first.create_key(WORKSPACE)
            sdk_first, sdk_second = new_sdk(first, key), new_sdk(second, key)
            sdk_first.create_template(
                models.CreateTemplateRequest(
                    app_id=APP_ID,
                    workspace_id=WORKSPACE,
                    template_name="t",
                    title="T",
                    content="#a#",
                )
            )
            device = Listener(
                first, APP_ID, WORKSPACE, tmp_path / "device.db", "--server", second.url
            )
            token = device.connected()["DeliveryToken"]
            assert bind(sdk_first, APP_ID, WORKSPACE, token, "u1").result_code == "OK"

            first.process.send_signal(signal.SIGTERM)
            assert first.process.wait(30) == 0
            first.process = None
            assert device.connected(timeout=10)["event"] == "resumed"

            keys = [uuid.uuid4().hex for _ in range(5)]
            targets = [("u1", k, {"a": k}) for k in keys]
            push_multiple(sdk_second, APP_ID, WORKSPACE, "t", targets, delivery_type=3)
            assert {m["msgKey"] for m in device.messages(5)} == set(keys)
            device.quiet(1.0)
        finally:
            if device is not None:
                device.stop()
            first.stop()
            second.stop()
