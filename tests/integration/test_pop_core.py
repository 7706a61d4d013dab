"""PushMultiple from Node through ``@alicloud/pop-core`` (RPC v1), by POST and by GET."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Tenant, msg_key
from tests.support import stored
from tests.support.node import install_pop_core, pop_core_calls
from tests.support.raw import V2019, V2020

POST = {"method": "POST"}


@pytest.fixture(scope="session")
def pop_core(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Installed once per session, into pytest's cache where there is one (kept across runs)."""
    cache = getattr(request.config, "cache", None)
    directory = cache.mkdir("pop-core") if cache else tmp_path_factory.mktemp("pop-core")
    return install_pop_core(directory)


def push_multiple(**params) -> dict:
    """The seed's call as a Node caller writes it: lower-camel names, JSON strings for maps."""
    call = {
        "appId": "ONEXPUSH00000001",
        "workspaceId": "pushws",
        "deliveryType": 3,
        "taskName": "node test task",
        "templateName": "Test template",
        "expiredSeconds": 600,
        "targetMsg": [
            {
                "Target": "userid1024",
                "MsgKey": msg_key(),
                "TemplateKeyValue": '{"name":"Zhang San","money":"200"}',
            }
        ],
    }
    call.update(params)
    return call


@pytest.mark.parametrize(
    ("version", "opts"), [(V2020, POST), (V2020, {}), (V2019, POST), (V2019, {})]
)
def test_push_multiple_by_post_and_by_get(tenant: Tenant, pop_core: Path, version, opts) -> None:
    before = stored.counts(tenant.server)
    task_name = f"节日 推送 {version} {opts.get('method', 'GET')} (a+b*c!)"
    targets = [
        {"Target": "u1", "MsgKey": msg_key(), "TemplateKeyValue": '{"name":"李 四","money":"8"}'},
        {"Target": "u2", "MsgKey": msg_key(), "TemplateKeyValue": '{"name":"Bob","money":"9"}'},
    ]
    call = {"action": "PushMultiple", "opts": opts}
    call["params"] = push_multiple(taskName=task_name, targetMsg=targets)
    [result] = pop_core_calls(pop_core, tenant.server, tenant.key, version, [call])
    body = result["body"]
    assert body["ResultCode"] == "OK", body
    task_id = body["PushResult"]["Data"]
    assert task_id.isdigit()
    assert stored.counts(tenant.server) == (before.tasks + 1, before.messages + 2)
    assert stored.task(tenant.server, task_id)["name"] == task_name
    contents = [m["content"] for m in stored.messages(tenant.server, task_id)]
    assert contents == [
        "Hello 李 四, congratulations on winning 8 yuan",
        "Hello Bob, congratulations on winning 9 yuan",
    ]


def test_refusals_and_gateway_errors_reach_node(tenant: Tenant, pop_core: Path) -> None:
    before = stored.counts(tenant.server)
    missing = [{"Target": "u1", "MsgKey": msg_key(), "TemplateKeyValue": '{"name":"a"}'}]
    calls = [
        {"action": "PushMultiple", "params": push_multiple(targetMsg=missing), "opts": POST},
        {"action": "PushMultiple", "params": push_multiple(deliveryType=9)},
        {"action": "NoSuchAction", "params": {}, "opts": POST},
    ]
    refused, get_refused, unknown = pop_core_calls(
        pop_core, tenant.server, tenant.key, V2020, calls
    )
    assert refused["body"]["ResultCode"] == "3023"
    assert "'money'" in refused["body"]["ResultMessage"]
    assert get_refused["body"]["ResultCode"] == "3009"
    assert unknown["error"]["code"] == "InvalidApi.NotFound"
    assert unknown["error"]["name"] == "InvalidApi.NotFoundError"

    [wrong] = pop_core_calls(
        pop_core,
        tenant.server,
        (tenant.key[0], "not-the-secret"),
        V2020,
        [{"action": "PushMultiple", "params": push_multiple(), "opts": POST}],
    )
    assert wrong["error"]["code"] == "SignatureDoesNotMatch"
    assert "server string to sign is:POST&%2F&" in wrong["error"]["message"]
    assert stored.counts(tenant.server) == before
