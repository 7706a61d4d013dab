"""RevokePushMessage and RevokePushTask through the official SDK on both databases: delivered
messages recalled from a real device (the revoke frame, the device's confirmation), waiting ones
withdrawn and never sent, scheduled occurrences cancelled, and the codes."""

from __future__ import annotations

import json
import time

from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.support.pushes import (
    AppSpace,
    eventually,
    ok,
    refused,
    unique,
)
from tests.support.servers import Server
from tests.support.stored import connection


def revoke_message(space: AppSpace, message_id: str | None, target_id: str | None):
    return space.sdk.revoke_push_message(
        models.RevokePushMessageRequest(**space.ids(), message_id=message_id, target_id=target_id)
    ).body


def revoke_task(space: AppSpace, task_id: str | None):
    return space.sdk.revoke_push_task(
        models.RevokePushTaskRequest(**space.ids(), task_id=task_id)
    ).body


def result(body) -> dict[str, int]:
    return json.loads(ok(body))


def deliveries(server: Server, msg_key: str) -> list[tuple]:
    with connection(server) as conn:
        rows = conn.execute(
            text(
                "SELECT d.status, d.revoked_at IS NOT NULL, d.revoke_confirmed_at IS NOT NULL "
                "FROM deliveries d JOIN messages m ON m.pk = d.message_pk "
                "WHERE m.msg_key = :key ORDER BY d.id"
            ),
            {"key": msg_key},
        )
        return [tuple(r) for r in rows]


def test_a_delivered_message_is_recalled_from_the_device(space: AppSpace) -> None:
    device = space.device()
    token = device.connected()["DeliveryToken"]
    key = unique("k")
    task_id = ok(space.simple({token: key}))
    (message,) = device.messages(1)
    eventually(lambda: deliveries(space.server, key) == [(2, False, False)])
    assert result(revoke_message(space, key, token)) == {
        "Withdrawn": 0,
        "Recalled": 1,
        "Unrecallable": 0,
        "Cancelled": 0,
    }
    revoked = device.next()
    assert revoked == {"event": "revoked", "id": message["id"], "taskId": task_id, "msgKey": key}
    eventually(lambda: deliveries(space.server, key) == [(4, True, True)])
    # revoking again changes nothing
    assert set(result(revoke_message(space, key, token)).values()) == {0}


def test_a_waiting_message_is_withdrawn_and_never_sent(space: AppSpace) -> None:
    device = space.device()
    token = device.connected()["DeliveryToken"]
    device.stop()
    key, other = unique("k"), unique("k")
    ok(space.simple({token: key}))
    ok(space.simple({token: other}))
    eventually(lambda: deliveries(space.server, key) == [(0, False, False)])
    assert result(revoke_message(space, key, token))["Withdrawn"] == 1
    again = space.again(device)
    (message,) = again.messages(1)
    assert message["msgKey"] == other  # the revoked one never arrives
    again.quiet(0.5)
    # the device was told, in case it had it, and confirmed (it had not: nothing to show)
    eventually(lambda: deliveries(space.server, key) == [(4, True, True)])


def test_a_user_binding_later_gets_no_revoked_message(space: AppSpace) -> None:
    key = unique("k")
    ok(space.template({"late-user": key}, delivery_type=3))
    eventually(lambda: deliveries(space.server, key) == [(1, False, False)])
    assert result(revoke_message(space, key, "late-user"))["Withdrawn"] == 1
    device = space.device()
    space.bind(device.connected()["DeliveryToken"], "late-user")
    device.quiet(0.5)


def test_a_task_is_revoked_whole(space: AppSpace) -> None:
    online, offline = space.device(), space.device()
    tokens = [online.connected()["DeliveryToken"], offline.connected()["DeliveryToken"]]
    offline.stop()
    keys = {tokens[0]: unique("k"), tokens[1]: unique("k"), "unknown-token": unique("k")}
    task_id = ok(space.simple(keys))
    online.messages(1)
    eventually(lambda: deliveries(space.server, keys[tokens[0]]) == [(2, False, False)])
    assert result(revoke_task(space, task_id)) == {
        "Withdrawn": 2,
        "Recalled": 1,
        "Unrecallable": 0,
        "Cancelled": 0,
    }
    assert online.next()["event"] == "revoked"
    space.again(offline).quiet(0.5)


def test_revoking_a_scheduled_push_cancels_what_has_not_fired(space: AppSpace) -> None:
    loop = {
        "startTime": int(time.time() * 1000),
        "endTime": int(time.time() * 1000) + 5 * 86_400_000,
        "circleType": 1,
        "time": "23:59:59",
    }
    task_id = ok(
        space.simple({"tok": unique("k")}, strategy_type=2, strategy_content=json.dumps(loop))
    )
    outcome = result(revoke_task(space, task_id))
    assert outcome["Cancelled"] >= 5 and outcome["Withdrawn"] == 0
    listed = space.sdk.query_push_scheduler_list(
        models.QueryPushSchedulerListRequest(
            **space.ids(), start_time=0, end_time=loop["endTime"] + 86_400_000, unique_id=task_id
        )
    ).body
    assert {item.executed_status for item in listed.result_content.data.list} == {"2"}


def test_refusals(space: AppSpace) -> None:
    key = unique("k")
    ok(space.simple({"tok-1": key}))
    broadcast_key = unique("b")
    ok(space.broadcast(msgkey=broadcast_key))
    for body, said in [
        (revoke_message(space, None, "tok-1"), "MessageId is required"),
        (revoke_message(space, key, None), "TargetId is required"),
        (revoke_message(space, "nope", "tok-1"), "no message 'nope'"),
        (revoke_message(space, key, "tok-2"), "was sent to 'tok-1', not 'tok-2'"),
        (revoke_message(space, broadcast_key, "x"), "revoke a broadcast with RevokePushTask"),
        (revoke_task(space, None), "TaskId is required"),
        (revoke_task(space, "12a"), "TaskId '12a' is not a task id"),
        (revoke_task(space, "999999999"), "no task 999999999"),
    ]:
        assert said in refused(body, "3028")
    with connection(space.server) as conn, conn.begin():
        conn.execute(
            text("UPDATE messages SET created_at = created_at - :old WHERE msg_key = :key"),
            {"old": 8 * 86_400_000, "key": key},
        )
        conn.execute(
            text(
                "UPDATE deliveries SET created_at = created_at - :old WHERE message_pk = "
                "(SELECT pk FROM messages WHERE msg_key = :key)"
            ),
            {"old": 8 * 86_400_000, "key": key},
        )
    assert "more than 7 days ago" in refused(revoke_message(space, key, "tok-1"), "3028")
