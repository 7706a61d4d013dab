"""PushMultiple refusals: HTTP 200, ResultCode = the MPS code, a message naming the field, and
nothing stored, as the SDKs see them and as the database shows."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.conftest import Tenant, msg_key, target
from tests.support import stored
from tests.support.clients import old_sdk

HOUR_MS = 3600 * 1000
# The StrategyContent of the seed's Java example: a daily loop from 2021-07-08 to 2021-08-30.
SEED_STRATEGY = (
    '{"fixedTime":1630303126000,"startTime":1625673600000,"endTime":1630303126000,'
    '"circleType":1,"circleValue":[1, 7],"time":"13:45:11"}'
)


def now_ms() -> int:
    return int(time.time() * 1000)


def many_keys(count: int) -> str:
    return json.dumps({f"key{i}": f"value{i}" for i in range(count)})


CASES = {
    "no TaskName": ("3019", {"task_name": None}, ["TaskName"]),
    "empty TaskName": ("3019", {"task_name": ""}, ["TaskName"]),
    "DeliveryType 4": ("3009", {"delivery_type": 4}, ["DeliveryType", "got 4"]),
    "no DeliveryType": ("3009", {"delivery_type": None}, ["DeliveryType"]),
    "no TemplateName": ("3025", {"template_name": None}, ["TemplateName"]),
    "unknown template": ("3022", {"template_name": "No such template"}, ["'No such template'"]),
    "no targets": ("3021", {"target_msg": []}, ["TargetMsg"]),
    "empty Target": ("3021", {"target_msg": [target("")]}, ["TargetMsg.1.Target"]),
    "101 targets": (
        "3029",
        {"target_msg": [target(f"user{i}") for i in range(101)]},
        ["TargetMsg", "101 targets", "at most 100"],
    ),
    "no ExpiredSeconds": ("3020", {"expired_seconds": None}, ["ExpiredSeconds"]),
    "ExpiredSeconds 0": ("3020", {"expired_seconds": 0}, ["ExpiredSeconds", "got 0"]),
    "negative ExpiredSeconds": ("3020", {"expired_seconds": -60}, ["ExpiredSeconds"]),
    "ExpiredSeconds over 7 days": (
        "3026",
        {"expired_seconds": 7 * 24 * 3600 + 1},
        ["ExpiredSeconds", "604801", "604800"],
    ),
    "placeholder missing": (
        "3023",
        {"target_msg": [target("u1"), target("u2", money=None)]},
        ["TargetMsg.2", "'u2'", "'money'", "'Test template'"],
    ),
    "21 ExtendedParams keys": (
        "3035",
        {"extended_params": many_keys(21)},
        ["ExtendedParams", "21 keys", "at most 20"],
    ),
    "ExtendedParams not JSON": ("3044", {"extended_params": "key1=value1"}, ["ExtendedParams"]),
    "reserved ExtendedParams key": (
        "3044",
        {"extended_params": '{"notifyType":"transparent"}'},
        ["ExtendedParams", "notifyType"],
    ),
    "target ExtendedParams not an object": (
        "3044",
        {"target_msg": [target("u1"), target("u2", extended="[1, 2]")]},
        ["TargetMsg.2.ExtendedParams"],
    ),
    "10 target ExtendedParams keys": (
        "3049",
        {"target_msg": [target("u1", extended=many_keys(10))]},
        ["TargetMsg.1.ExtendedParams", "10 keys", "at most 9"],
    ),
    "message too large": (
        "3050",
        {"target_msg": [target("u1"), target("u2", name="x" * 5000)]},
        ["TargetMsg.2", "'u2'", "the limit is 4096"],
    ),
    "seed's loop of 2021": (
        "3028",
        {"strategy_type": 2, "strategy_content": SEED_STRATEGY},
        ["StrategyContent.startTime", "2021-07-08", "before today"],
    ),
    "fixedTime in the past": (
        "3028",
        {"strategy_type": 1, "strategy_content": json.dumps({"fixedTime": now_ms() - HOUR_MS})},
        ["StrategyContent.fixedTime", "in the past"],
    ),
    "StrategyType 1 without content": (
        "3028",
        {"strategy_type": 1},
        ["StrategyContent is required when StrategyType is 1"],
    ),
    "StrategyType 3": ("3028", {"strategy_type": 3}, ["StrategyType", "got 3"]),
    "loop beyond 180 days": (
        "3028",
        {
            "strategy_type": 2,
            "strategy_content": json.dumps(
                {
                    "startTime": now_ms(),
                    "endTime": now_ms() + 200 * 24 * HOUR_MS,
                    "circleType": 1,
                    "time": "10:00:00",
                }
            ),
        },
        ["StrategyContent.endTime", "180 days"],
    ),
    "repeated msgKey": (
        "3028",
        {"target_msg": [target("u1", "same-key"), target("u2", "same-key")]},
        ["TargetMsg.2.MsgKey", "'same-key'", "repeats TargetMsg.1.MsgKey"],
    ),
    "unknown NotifyType": ("3028", {"notify_type": "loud"}, ["NotifyType", "'loud'"]),
    "unknown vendor category": (
        "3028",
        {"third_channel_category": {"nokia": "1"}},
        ["ThirdChannelCategory", "nokia"],
    ),
    "unknown payload channel": (
        "3028",
        {"transparent_message_payload": {"apns": {"a": "b"}}},
        ["TransparentMessagePayload", "apns"],
    ),
}


@pytest.mark.parametrize(("code", "fields", "named"), CASES.values(), ids=CASES.keys())
def test_refused_with_the_code_and_nothing_stored(tenant: Tenant, code, fields, named) -> None:
    before = stored.counts(tenant.server)
    response = tenant.sdk().push_multiple(tenant.multiple(**fields))
    body = response.body
    assert response.status_code == 200
    assert body.result_code == code, body.result_message
    assert body.push_result.success is False
    assert body.push_result.data is None
    assert body.result_message == body.push_result.result_msg
    for text in named:
        assert text in body.result_message
    assert stored.counts(tenant.server) == before


def test_ten_thousand_targets_in_a_raw_request(tenant: Tenant) -> None:
    targets = [{"Target": f"u{i}", "MsgKey": f"k{i}"} for i in range(10_000)]
    before = stored.counts(tenant.server)
    response = tenant.raw().acs3("PushMultiple", tenant.multiple_params(TargetMsg=targets))
    assert response.status_code == 200
    body = response.json()
    assert body["ResultCode"] == "3029"
    assert "10000 targets" in body["ResultMessage"]
    assert body["PushResult"]["Success"] is False
    assert stored.counts(tenant.server) == before


def test_refusals_reach_the_v2_signing_sdk(tenant: Tenant) -> None:
    before = stored.counts(tenant.server)
    body = tenant.sdk("v2").push_multiple(tenant.multiple(delivery_type=5)).body
    assert (body.result_code, body.push_result.success) == ("3009", False)
    assert stored.counts(tenant.server) == before


def test_refusals_reach_the_old_sdk(tenant: Tenant) -> None:
    request = tenant.old_multiple(
        [{"Target": "user1024", "MsgKey": msg_key(), "TemplateKeyValue": {"name": "Zhang San"}}]
    )
    before = stored.counts(tenant.server)
    answer = json.loads(old_sdk(tenant.key).do_action_with_exception(request))
    assert answer["ResultCode"] == "3023"
    assert "'money'" in answer["ResultMessage"]
    assert answer["PushResult"]["Success"] is False
    assert stored.counts(tenant.server) == before
