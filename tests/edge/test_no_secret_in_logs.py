"""No secret reaches the log, whole or in part, even at debug level with a device connected and
pushes sent through the SDK: no AccessKey secret, device secret or DeliveryToken.

The finding (issue 11): at debug level the WebSocket library's frame logging printed the first
half of a device's secret, and its DeliveryToken (it cuts frames short, keeping their first and
last characters, so a test looking for the whole secret passed).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from alibabacloud_mpaas20201028 import models

from tests.support.clients import new_sdk
from tests.support.devices import Listener, bind, push_multiple
from tests.support.servers import running_server

WORKSPACE, APP_ID = "leakws", "ONEXLEAKS0000001"
FRAGMENT = 6  # characters: any run this long of a secret counts as leaked


def fragments(secret: str) -> set[str]:
    return {secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}


def test_debug_logs_hold_no_fragment_of_any_secret(tmp_path: Path) -> None:
    for log_format in ("text", "json"):
        settings = {"TIDINGS_LOG_LEVEL": "debug", "TIDINGS_LOG_FORMAT": log_format}
        data = tmp_path / log_format
        with running_server("sqlite", data / "data", settings) as server:
            server.create_app(WORKSPACE, APP_ID)
            key_id, key_secret = server.create_key(WORKSPACE)
            sdk = new_sdk(server, (key_id, key_secret))
            template = {"TemplateName": "t", "Title": "T", "Content": "#a#"}
            request = models.CreateTemplateRequest().from_map(
                {"AppId": APP_ID, "WorkspaceId": WORKSPACE, **template}
            )
            assert sdk.create_template(request).body.success
            device = Listener(server, APP_ID, WORKSPACE, data / "device.db", "--count", "2")
            token = device.connected()["DeliveryToken"]
            assert bind(sdk, APP_ID, WORKSPACE, token, "u1").result_code == "OK"
            for _ in range(2):
                targets = [("u1", uuid.uuid4().hex, {"a": "hi"})]
                push_multiple(sdk, APP_ID, WORKSPACE, "t", targets, delivery_type=3)
            assert len(device.messages(2)) == 2
            device.stop()
            output = server.stop()
        assert "DEBUG" in output.upper(), "the server did not log at debug level"
        with sqlite3.connect(data / "device.db") as state:
            device_secret = dict(state.execute("SELECT name, value FROM credentials"))["secret"]
        secrets = {
            "AccessKey secret": key_secret,
            "device secret": device_secret,
            "DeliveryToken": token,
        }
        for name, secret in secrets.items():
            leaked = sorted(f for f in fragments(secret) if f in output)
            assert not leaked, f"{log_format}: part of the {name} reached the log: {leaked[:3]}"
