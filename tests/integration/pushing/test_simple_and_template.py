"""PushSimple and PushTemplate through the official SDKs, to real devices, on both databases:
their fields, their codes, msgKey retries, scheduling, and the old SDK's field sets."""

from __future__ import annotations

import json
import time

import pytest
from aliyunsdkmpaas.request.v20190821 import (
    PushBroadcastRequest,
    PushSimpleRequest,
    PushTemplateRequest,
)

from tests.support.clients import old_request, old_sdk
from tests.support.pushes import WORKSPACE, AppSpace, ok, refused, unique
from tests.support.stored import counts


def test_a_simple_push_reaches_each_target_under_its_msg_key(space: AppSpace) -> None:
    phone, tablet = space.device(), space.device(platform="harmonyos")
    tokens = [phone.connected()["DeliveryToken"], tablet.connected()["DeliveryToken"]]
    keys = {tokens[0]: unique("k"), tokens[1]: unique("k")}
    fields = {
        "uri": "https://example.com/notice",
        "extended_params": json.dumps({"campaign": "spring"}),
        "push_style": 2,
        "image_urls": json.dumps({"defaultUrl": "https://example.com/big.png"}),
    }
    task_id = ok(space.simple(keys, **fields))
    for device, token in ((phone, tokens[0]), (tablet, tokens[1])):
        (message,) = device.messages(1)
        assert (message["msgKey"], message["taskId"]) == (keys[token], task_id)
        assert (message["title"], message["content"]) == ("Notice", "Maintenance tonight")
        assert message["uri"] == "https://example.com/notice"
        assert message["extendedParams"] == {"campaign": "spring"}
        assert message["pushStyle"] == 2
        assert message["imageUrls"] == {"defaultUrl": "https://example.com/big.png"}
    # the same call again is a retry: the same task, nothing sent twice
    assert ok(space.simple(keys, **fields)) == task_id
    phone.quiet(0.5)
    detail = refused(space.simple(keys, content="Other text"), "3028")
    assert f"TargetMsgkey[{tokens[0]!r}] {keys[tokens[0]]!r} was already used by task" in detail


def test_a_template_push_fills_the_template_once_for_users(space: AppSpace) -> None:
    device = space.device()
    space.bind(device.connected()["DeliveryToken"], "user-1")
    keys = {"user-1": unique("k"), "user-without-device": unique("k")}
    task_id = ok(space.template(keys, delivery_type=3))
    (message,) = device.messages(1)
    assert (message["msgKey"], message["taskId"]) == (keys["user-1"], task_id)
    assert message["title"] == "Hello Zhang San"
    assert message["content"] == "Hello Zhang San, you won 200"
    assert message["uri"] == "https://example.com/prize/200"


def test_a_scheduled_simple_push_fires_at_its_time(space: AppSpace) -> None:
    device = space.device()
    token = device.connected()["DeliveryToken"]
    fire_at = (int(time.time()) + 2) * 1000
    key = unique("k")
    ok(
        space.simple(
            {token: key},
            strategy_type=1,
            strategy_content=json.dumps({"fixedTime": fire_at}),
        )
    )
    (message,) = device.messages(1, timeout=15)
    assert message["msgKey"] == key
    assert time.time() * 1000 >= fire_at


ELEVEN = json.dumps({f"t{i}": f"k{i}" for i in range(11)})


@pytest.mark.parametrize(
    ("action", "fields", "code", "said"),
    [
        ("simple", {"task_name": ""}, "3019", "TaskName"),
        ("simple", {"delivery_type": 4}, "3009", "DeliveryType"),
        ("simple", {"title": ""}, "3024", "Title"),
        ("simple", {"content": None}, "3024", "Content"),
        ("simple", {"target_msgkey": "{}"}, "3021", "TargetMsgkey"),
        ("simple", {"target_msgkey": ELEVEN}, "3029", "TargetMsgkey has 11 targets"),
        ("simple", {"expired_seconds": 0}, "3020", "ExpiredSeconds"),
        ("simple", {"expired_seconds": 604801}, "3026", "ExpiredSeconds"),
        ("simple", {"content": "x" * 5000}, "3043", "Content is 5000 bytes"),
        ("simple", {"content": "x" * 4000, "title": "y" * 150}, "3050", "renders to"),
        ("simple", {"extended_params": json.dumps({"taskId": "1"})}, "3044", "reserved key"),
        ("simple", {"sms_strategy": 3}, "3028", "SmsStrategy"),
        ("simple", {"sms_strategy": 1}, "3028", "SmsTemplateCode is required"),
        ("simple", {"push_style": 3}, "3028", "PushStyle"),
        ("simple", {"image_urls": '{"x": "y"}'}, "3028", "ImageUrls.x"),
        ("simple", {"uri": "a b"}, "3028", "Uri"),
        ("simple", {"strategy_type": 1}, "3028", "StrategyContent"),
        ("simple", {"target_msgkey": '{"a": "k", "b": "k"}'}, "3028", "repeats"),
        ("simple", {"app_id": "NOAPP"}, "8012", "NOAPP"),
        ("template", {"template_name": ""}, "3025", "TemplateName"),
        ("template", {"template_name": "Missing"}, "3022", "Missing"),
        ("template", {"template_key_value": '{"name": "Z"}'}, "3023", "'money'"),
        ("template", {"target_msgkey": ELEVEN}, "3029", "TargetMsgkey"),
        ("template", {"delivery_type": 8}, "3009", "DeliveryType"),
        ("template", {"notify_type": "loud"}, "3028", "NotifyType"),
    ],
)
def test_refusals_name_the_field_and_store_nothing(
    space: AppSpace, action: str, fields: dict, code: str, said: str
) -> None:
    before = counts(space.server)
    push = space.simple if action == "simple" else space.template
    assert said in refused(push({"tok": unique("k")}, **fields), code)
    assert counts(space.server) == before


def old_call(request, space: AppSpace, **fields):
    """An old-SDK (2019-08-21) request to the app, its fields set by their wire names."""
    for name, value in {"AppId": space.app_id, "WorkspaceId": WORKSPACE, **fields}.items():
        getattr(request, f"set_{name}")(value)
    return old_request(request, space.server)


def test_the_old_sdk_sends_all_three_with_its_own_fields(space: AppSpace) -> None:
    device = space.device()
    token = device.connected()["DeliveryToken"]
    keys = [unique("old") for _ in range(3)]
    common = {"DeliveryType": 1, "ExpiredSeconds": 600, "TemplateName": "Prize"}
    calls = [
        old_call(
            PushSimpleRequest.PushSimpleRequest(),
            space,
            TaskName="old simple",
            Title="Old",
            Content="From the 2019 SDK",
            DeliveryType=1,
            ExpiredSeconds=600,
            TargetMsgkey=json.dumps({token: keys[0]}),
            Uri="https://example.com/old",
        ),
        old_call(
            PushTemplateRequest.PushTemplateRequest(),
            space,
            **common,
            TaskName="old template",
            TemplateKeyValue=json.dumps({"name": "Li Si", "money": "7"}),
            TargetMsgkey=json.dumps({token: keys[1]}),
        ),
        old_call(
            PushBroadcastRequest.PushBroadcastRequest(),
            space,
            **common,
            TaskName="old broadcast",
            TemplateKeyValue=json.dumps({"name": "all", "money": "1"}),
            Msgkey=keys[2],
            PushStatus=2,
            UnBindPeriod=1,
        ),
    ]
    client = old_sdk(space.key)
    for request in calls:
        answer = json.loads(client.do_action_with_exception(request))
        assert answer["ResultCode"] == "OK", answer
    found = {m["msgKey"]: m for m in device.messages(3)}
    assert found[keys[0]]["content"] == "From the 2019 SDK"
    assert found[keys[1]]["content"] == "Hello Li Si, you won 7"
    assert found[keys[2]]["content"] == "Hello all, you won 1"
