"""The seed document's own examples, through the official SDKs, against ``tidings serve``.

Only the endpoint and protocol differ from the documentation's code; the template is created
through CreateTemplate first, as the documentation's first step asks.
"""

from __future__ import annotations

import json
import time

import pytest
from alibabacloud_mpaas20201028 import models
from aliyunsdkmpaas.request.v20190821 import PushMultipleRequest

from tests.support.clients import new_sdk, old_request, old_sdk
from tests.support.servers import Server

APP_ID = "ONEX570DA89211721"


@pytest.fixture(scope="module")
def key(server: Server) -> tuple[str, str]:
    server.create_app("test", APP_ID)
    return server.create_key("test")


@pytest.mark.parametrize("mode", ["acs3", "v2"])
def test_new_sdk_creates_the_template_and_pushes(server: Server, key, mode: str) -> None:
    client = new_sdk(server, key, mode=mode)
    name = f"Test template {mode}"
    created = client.create_template(
        models.CreateTemplateRequest(
            app_id=APP_ID,
            workspace_id="test",
            template_name=name,
            title="Hello",
            content="Hello #name#, congratulations on winning #money# yuan",
        )
    ).body
    assert created.success and created.code == "100" and created.data

    answer = client.push_multiple(
        models.PushMultipleRequest(
            app_id=APP_ID,
            workspace_id="test",
            delivery_type=3,
            task_name="Multiple test",
            template_name=name,
            expired_seconds=600,
            target_msg=[
                models.PushMultipleRequestTargetMsg(
                    target="userid1024",
                    msg_key=str(int(time.time() * 1000)) + mode,
                    template_key_value=json.dumps({"name": "Zhang San", "money": "200"}),
                )
            ],
        )
    ).body
    assert answer.result_code == "OK"
    assert answer.push_result.success is True
    assert answer.push_result.data.isdigit()


def test_old_sdk_python_example(server: Server, key) -> None:
    new_sdk(server, key).create_template(
        models.CreateTemplateRequest(
            app_id=APP_ID,
            workspace_id="test",
            template_name="template1024",
            title="Prize",
            content="Hello #name#, congratulations on winning #money# yuan",
        )
    )
    client = old_sdk(key)
    request = old_request(PushMultipleRequest.PushMultipleRequest(), server)
    request.set_AppId(APP_ID)
    request.set_WorkspaceId("test")
    request.set_TemplateName("template1024")
    request.set_DeliveryType(3)
    request.set_TaskName("python test task")
    request.set_ExpiredSeconds(600)
    msgkey = str(time.time())
    targets = [
        {
            "Target": "user1024",
            "MsgKey": msgkey,
            "TemplateKeyValue": {"name": "Zhang San", "money": "200"},
        }
    ]
    request.set_TargetMsgs(targets)
    answer = json.loads(client.do_action_with_exception(request))
    assert answer["ResultCode"] == "OK", answer
    assert answer["PushResult"]["Success"] is True
    assert answer["PushResult"]["Data"].isdigit()
