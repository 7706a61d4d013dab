"""PushBroadcast through the official SDK, to real devices, on both databases: which devices a
broadcast reaches (platform, bound or not, since when), offline devices on connect, scheduling,
idempotency and the codes."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text

from tests.support.pushes import (
    AppSpace,
    eventually,
    ok,
    refused,
    unique,
)
from tests.support.stored import connection, counts


def test_bound_unbound_or_all_devices_of_one_platform(space: AppSpace) -> None:
    bound, loose, tablet = (
        space.device(),
        space.device(),
        space.device(platform="harmonyos"),
    )
    space.bind(bound.connected()["DeliveryToken"], "user-1")
    loose.connected()
    space.bind(tablet.connected()["DeliveryToken"], "user-2", os_type=7)

    def received(*devices, quiet=()) -> set[str]:
        keys = {device.messages(1)[0]["msgKey"] for device in devices}
        for device in quiet:
            device.quiet(0.3)
        return keys

    first = unique("b")
    ok(space.broadcast(msgkey=first))  # PushStatus 0 (bound), any time
    assert received(bound, quiet=(loose, tablet)) == {first}
    second = unique("b")
    ok(space.broadcast(msgkey=second, push_status=2, un_bind_period=1))
    assert received(loose, quiet=(bound, tablet)) == {second}
    third = unique("b")
    ok(space.broadcast(msgkey=third, push_status=1, un_bind_period=4, bind_period=1))
    assert received(bound, loose, quiet=(tablet,)) == {third}
    fourth = unique("b")
    ok(space.broadcast(msgkey=fourth, delivery_type=7, android_channel=1))
    assert received(tablet, quiet=(bound, loose)) == {fourth}
    (message,) = [m for m in bound.seen if m.get("msgKey") == first]
    assert message["content"] == "Hello everyone, you won 5"


def test_offline_devices_get_it_when_they_connect(space: AppSpace) -> None:
    device = space.device()
    token = device.connected()["DeliveryToken"]
    device.stop()
    key = unique("b")
    task_id = ok(space.broadcast(msgkey=key, push_status=2, un_bind_period=4))

    def stored() -> list[int]:
        with connection(space.server) as conn:
            rows = conn.execute(
                text(
                    "SELECT d.status FROM deliveries d JOIN devices v ON v.pk = d.device_pk "
                    "WHERE d.task_id = :task AND v.token = :token"
                ),
                {"task": int(task_id), "token": token},
            )
            return [r[0] for r in rows]

    assert eventually(stored) == [0]  # resolved, waiting for the device
    (message,) = space.again(device).messages(1)
    assert (message["msgKey"], message["taskId"]) == (key, task_id)


def test_a_broadcast_before_a_bound_window_leaves_older_bindings_out(space: AppSpace) -> None:
    device = space.device()
    space.bind(device.connected()["DeliveryToken"], "user-1")
    now = int(time.time() * 1000)
    ok(space.broadcast(time_mode=1, bind_start_time=now + 60_000, bind_end_time=now + 120_000))
    device.quiet(0.5)
    key = unique("b")
    window = {"bind_start_time": now - 60_000, "bind_end_time": now + 60_000}
    ok(space.broadcast(msgkey=key, time_mode=1, **window))
    assert device.messages(1)[0]["msgKey"] == key


def test_a_scheduled_broadcast_fires_at_its_time(space: AppSpace) -> None:
    device = space.device()
    device.connected()
    fire_at = (int(time.time()) + 2) * 1000
    key = unique("b")
    ok(
        space.broadcast(
            msgkey=key,
            push_status=2,
            un_bind_period=4,
            strategy_type=1,
            strategy_content=json.dumps({"fixedTime": fire_at}),
        )
    )
    (message,) = device.messages(1, timeout=15)
    assert message["msgKey"] == key and time.time() * 1000 >= fire_at


def test_a_retried_broadcast_is_the_same_task(space: AppSpace) -> None:
    key = unique("b")
    task_id = ok(space.broadcast(msgkey=key))
    assert ok(space.broadcast(msgkey=key)) == task_id
    detail = refused(space.broadcast(msgkey=key, task_name="another"), "3028")
    assert f"Msgkey {key!r} was already used by task {task_id}" in detail


@pytest.mark.parametrize(
    ("fields", "code", "said"),
    [
        ({"delivery_type": 3}, "3030", "DeliveryType 3"),
        ({"delivery_type": 5}, "3009", "DeliveryType 5"),
        ({"task_name": None}, "3019", "TaskName"),
        ({"template_name": None}, "3025", "TemplateName"),
        ({"template_name": "Nope"}, "3022", "Nope"),
        ({"msgkey": ""}, "3028", "Msgkey is required"),
        ({"template_key_value": "{}"}, "3023", "placeholder 'name', 'money'"),
        ({"push_status": 2}, "3028", "UnBindPeriod is required"),
        ({"push_status": 4}, "3028", "PushStatus"),
        ({"bind_period": 9}, "3028", "BindPeriod"),
        ({"android_channel": 3}, "3028", "AndroidChannel"),
        ({"time_mode": 1}, "3028", "BindStartTime"),
        ({"expired_seconds": None}, "3020", "ExpiredSeconds"),
    ],
)
def test_refusals_name_the_field_and_store_nothing(
    space: AppSpace, fields: dict, code: str, said: str
) -> None:
    before = counts(space.server)
    assert said in refused(space.broadcast(**fields), code)
    assert counts(space.server) == before
