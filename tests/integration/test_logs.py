"""The server's logs as a log pipeline reads them: ``--log-format json`` at debug level gives one
JSON object a line, each request's lines carry its request id, and no secret is ever printed."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from alibabacloud_mpaas20201028 import models
from alibabacloud_tea_openapi.exceptions import ClientException
from sqlalchemy import text

from tests.fakes.apns import FakeApns
from tests.fakes.credentials import apns_config
from tests.support.clients import new_sdk
from tests.support.devices import Listener, bind, push_multiple
from tests.support.pushes import eventually
from tests.support.servers import running_server
from tests.support.stored import connection
from tidings.channels.catalog import THIRD_CHANNELS

WORKSPACE, APP_ID = "logws", "ONEXLOGS00000001"


def test_json_lines_with_request_ids_and_no_secret(tmp_path: Path) -> None:
    settings = {"TIDINGS_LOG_FORMAT": "json", "TIDINGS_LOG_LEVEL": "debug"}
    with running_server("sqlite", tmp_path / "data", settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        key_id, key_secret = server.create_key(WORKSPACE)
        sdk = new_sdk(server, (key_id, key_secret))
        created = sdk.create_template(
            models.CreateTemplateRequest(
                app_id=APP_ID, workspace_id=WORKSPACE, template_name="t", title="T", content="#a#"
            )
        )
        device = Listener(server, APP_ID, WORKSPACE, tmp_path / "device.db", "--count", "1")
        token = device.connected()["DeliveryToken"]
        assert bind(sdk, APP_ID, WORKSPACE, token, "u1").result_code == "OK"
        task_id = push_multiple(
            sdk, APP_ID, WORKSPACE, "t", [("u1", uuid.uuid4().hex, {"a": "hi"})], delivery_type=3
        )
        assert device.messages(1)[0]["event"] == "message"
        device.stop()
        with pytest.raises(ClientException) as refused:
            new_sdk(server, (key_id, "not-the-secret")).list_template_page(
                models.ListTemplatePageRequest(app_id=APP_ID, workspace_id=WORKSPACE)
            )
        output = server.stop()

    with sqlite3.connect(tmp_path / "device.db") as state:
        device_secret = dict(state.execute("SELECT name, value FROM credentials"))["secret"]
    for secret in (key_secret, device_secret):
        assert secret not in output, "a secret reached the log"

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert lines, output
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    by_request = {
        line.get("requestId"): line for line in lines if line["logger"] == "tidings.openapi"
    }
    made = by_request[created.body.request_id]
    assert (made["level"], made["workspace"], made["app"]) == ("debug", WORKSPACE, APP_ID)
    assert "CreateTemplate answered 200" in made["message"]
    [pushed] = [line for line in lines if line.get("task") == task_id]
    assert pushed["requestId"] and "PushMultiple answered 200 OK" in pushed["message"]
    denied = by_request[refused.value.request_id]
    assert denied["level"] == "info" and "SignatureDoesNotMatch" in denied["message"]


def test_a_delivery_failure_names_the_request_that_was_answered(tmp_path: Path) -> None:
    """A vendor refuses a delivery after the PushSimple call was answered: the refusal's line
    carries the RequestId the SDK was given, with the task and the msgKey."""
    apns = FakeApns(tmp_path).start()
    settings = {
        "TIDINGS_LOG_FORMAT": "json",
        "TIDINGS_LOG_LEVEL": "debug",  # an answered request's line is at debug
        "SSL_CERT_FILE": str(apns.ca_file),
    }
    try:
        with running_server("sqlite", tmp_path / "data", settings) as server:
            server.create_app(WORKSPACE, APP_ID)
            server.cli(
                "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID,
                "--channel", "apns", "--config", json.dumps(apns_config(apns.url)),
            )  # fmt: skip
            sdk = new_sdk(server, server.create_key(WORKSPACE))
            token, msg_key = uuid.uuid4().hex * 2, uuid.uuid4().hex
            reported = sdk.push_report(
                models.PushReportRequest(
                    app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=token, os_type=2,
                    third_channel=THIRD_CHANNELS["apns"], third_channel_device_token=token,
                )
            ).body  # fmt: skip
            assert reported.result_code == "OK", reported
            apns.fail(413, "PayloadTooLarge", token=token)
            answer = sdk.push_simple(
                models.PushSimpleRequest(
                    app_id=APP_ID, workspace_id=WORKSPACE, task_name="refused", title="T",
                    content="C", delivery_type=2, expired_seconds=600,
                    target_msgkey=json.dumps({token: msg_key}),
                )
            ).body  # fmt: skip
            assert answer.result_code == "OK", answer
            task_id = int(answer.push_result.data)
            eventually(lambda: _refused(server, task_id))  # recorded after the line is logged
            output = server.stop()
    finally:
        apns.stop()

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    [failure] = [line for line in lines if "refused delivery" in line["message"]]
    assert "PayloadTooLarge" in failure["message"]
    assert failure["requestId"] == answer.request_id
    assert (failure["task"], failure["msgKey"]) == (task_id, msg_key)
    [request] = [line for line in lines if line["logger"] == "tidings.openapi" and
                 line.get("task") == answer.push_result.data]  # fmt: skip
    assert request["requestId"] == answer.request_id


def _refused(server, task_id: int) -> bool:
    with connection(server) as conn:
        query = text("SELECT status FROM deliveries WHERE task_id = :t")
        return [row.status for row in conn.execute(query, {"t": task_id})] == [2002]
