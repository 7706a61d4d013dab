"""Accepted PushMultiple calls: the task id answered, and what the database then holds."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.conftest import Tenant, msg_key, target
from tests.support import stored
from tests.support.clients import old_sdk

DAY_MS = 24 * 3600 * 1000


def accepted(body) -> str:
    """The task id of an accepted call, checked to be a decimal number."""
    assert body.result_code == "OK", body.result_message
    assert body.push_result.success is True
    task_id = body.push_result.data
    assert task_id.isdigit(), task_id
    return task_id


def options(tenant: Tenant, task_id: str) -> dict:
    return json.loads(stored.task(tenant.server, task_id)["options"])


@pytest.mark.parametrize("mode", ["acs3", "v2"])
def test_a_hundred_targets_each_get_their_own_message(tenant: Tenant, mode: str) -> None:
    before = stored.counts(tenant.server)
    targets = [target(f"user{i}", name=f"Name {i}", money=str(i)) for i in range(100)]
    task_id = accepted(tenant.sdk(mode).push_multiple(tenant.multiple(target_msg=targets)).body)
    assert stored.counts(tenant.server) == (before.tasks + 1, before.messages + 100)
    task = stored.task(tenant.server, task_id)
    # Accepted for delivery at once (delivery may have taken it up already).
    assert task["state"] in ("accepted", "dispatched")
    assert (task["strategy_type"], task["message_count"]) == (0, 100)
    rows = stored.messages(tenant.server, task_id)
    assert [(r["target"], r["msg_key"]) for r in rows] == [(t.target, t.msg_key) for t in targets]
    assert rows[42]["content"] == "Hello Name 42, congratulations on winning 42 yuan"


def test_values_are_inserted_literally(tenant: Tenant) -> None:
    body = tenant.sdk().push_multiple(
        tenant.multiple(target_msg=[target("u1", name="#money#", money="#name#")])
    )
    [row] = stored.messages(tenant.server, accepted(body.body))
    assert row["content"] == "Hello #money#, congratulations on winning #name# yuan"


def test_scheduled_push_with_a_fixed_time_ahead(tenant: Tenant) -> None:
    fixed = int(time.time() * 1000) + 3600 * 1000
    body = (
        tenant.sdk()
        .push_multiple(
            tenant.multiple(strategy_type=1, strategy_content=json.dumps({"fixedTime": fixed}))
        )
        .body
    )
    task = stored.task(tenant.server, accepted(body))
    assert (task["state"], task["strategy_type"]) == ("scheduled", 1)
    assert task["due_at"] == fixed - fixed % 1000  # accurate to the second


def test_loop_push_ahead(tenant: Tenant) -> None:
    now = int(time.time() * 1000)
    content = {
        "startTime": now + DAY_MS,
        "endTime": now + 30 * DAY_MS,
        "circleType": 2,
        "circleValue": [1, 7],
        "time": "13:45:11",
    }
    body = (
        tenant.sdk()
        .push_multiple(tenant.multiple(strategy_type=2, strategy_content=json.dumps(content)))
        .body
    )
    task = stored.task(tenant.server, accepted(body))
    assert (task["state"], task["strategy_type"]) == ("scheduled", 2)
    assert task["due_at"] > now + 12 * 3600 * 1000
    assert json.loads(task["strategy"])["circleValue"] == [1, 7]


def test_vendor_maps_with_numbers_and_strings(tenant: Tenant) -> None:
    """The SDK types ThirdChannelCategory and NotifyLevel as dicts and sends them as JSON."""
    body = (
        tenant.sdk()
        .push_multiple(
            tenant.multiple(
                third_channel_category={"hms": 9, "vivo": "1"},
                notify_level={"hms": 2, "harmonyos": "LEVEL"},
                channel_id="channelIdTest",
            )
        )
        .body
    )
    stored_options = options(tenant, accepted(body))
    assert stored_options["third_channel_category"] == {"hms": "9", "vivo": "1"}
    assert stored_options["notify_level"] == {"hms": "2", "harmonyos": "LEVEL"}
    assert stored_options["channel_id"] == "channelIdTest"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        # A dict: the SDK flattens it into TransparentMessagePayload.hms.data=... sub-keys.
        ({"hms": {"data": "x", "n": 1}}, {"hms": {"data": "x", "n": "1"}}),
        # A string: sent verbatim, so JSON numbers survive.
        ('{"fcm":{"data":{"k":1}}}', {"fcm": {"data": {"k": 1}}}),
    ],
    ids=["dotted", "json"],
)
def test_transparent_message_payload(tenant: Tenant, payload, expected) -> None:
    body = (
        tenant.sdk()
        .push_multiple(
            tenant.multiple(notify_type="transparent", transparent_message_payload=payload)
        )
        .body
    )
    stored_options = options(tenant, accepted(body))
    assert stored_options["transparent_payload"] == expected
    assert stored_options["notify_type"] == "transparent"


def test_old_sdk_sends_template_values_as_a_dict_literal(tenant: Tenant) -> None:
    request = tenant.old_multiple(
        [
            {
                "Target": "user1024",
                "MsgKey": msg_key(),
                "TemplateKeyValue": {"name": "Zhang San", "money": "200"},
            }
        ]
    )
    request.set_ExtendedParams({"key1": "value1"})
    answer = json.loads(old_sdk(tenant.key).do_action_with_exception(request))
    assert answer["ResultCode"] == "OK", answer
    task_id = answer["PushResult"]["Data"]
    [row] = stored.messages(tenant.server, task_id)
    assert row["content"] == "Hello Zhang San, congratulations on winning 200 yuan"
    assert options(tenant, task_id)["extended_params"] == {"key1": "value1"}


def test_python_dict_literals_in_a_raw_request(tenant: Tenant) -> None:
    params = tenant.multiple_params(
        ExtendedParams="{'key1': 'value1', 'badge': 3}",
        TargetMsg=[
            {
                "Target": "u1",
                "MsgKey": msg_key(),
                "TemplateKeyValue": "{'name': 'Zhang San', 'money': 200}",
                "ExtendedParams": "{'orderId': 'A-1'}",
            }
        ],
    )
    response = tenant.raw().acs3("PushMultiple", params)
    assert response.status_code == 200
    body = response.json()
    assert body["ResultCode"] == "OK", body
    task_id = body["PushResult"]["Data"]
    assert options(tenant, task_id)["extended_params"] == {"key1": "value1", "badge": "3"}
    [row] = stored.messages(tenant.server, task_id)
    assert row["content"] == "Hello Zhang San, congratulations on winning 200 yuan"
    assert json.loads(row["extended_params"]) == {"orderId": "A-1"}
