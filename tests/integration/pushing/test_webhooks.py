"""Events reach a real receiver from a real server: pushes through the official SDK to a
device on the self-built channel produce message.accepted, delivery.arrived and
delivery.opened, each signed (checked by the ``standardwebhooks`` library), batched, and
nothing the endpoint did not subscribe to."""

from __future__ import annotations

import json
import re
import time

import httpx
from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.support import stored
from tests.support.pushes import WORKSPACE, AppSpace, eventually, ok, unique
from tests.support.webhook_receiver import Receiver, add_endpoint, receiving


def subscribe(space: AppSpace, receiver: Receiver, events: str = "*") -> int:
    return add_endpoint(space.server, WORKSPACE, space.app_id, receiver, events)


def test_a_push_to_a_device_reports_accepted_arrived_and_opened(space: AppSpace) -> None:
    with receiving() as receiver:
        subscribe(space, receiver)
        device = space.device("--open")
        token = device.connected()["DeliveryToken"]
        keys = [unique("k") for _ in range(3)]
        task_id = ok(space.simple({token: keys[0]}))
        ok(space.template({token: keys[1]}))
        ok(space.template({token: keys[2]}))
        device.messages(3)
        for kind in ("message.accepted", "delivery.arrived", "delivery.opened"):
            found = receiver.wait_for(3, kind=kind)
            assert sorted(e["data"]["msgKey"] for e in found) == sorted(keys), kind
        first = next(
            e for e in receiver.events()
            if e["type"] == "delivery.arrived" and e["data"]["msgKey"] == keys[0]
        )  # fmt: skip
        assert first["data"]["taskId"] == task_id
        assert first["data"]["device"] == token
        assert first["data"]["channel"] == "selfbuilt"
        assert first["data"]["status"] == 2
        assert first["id"].startswith("evt_")
        assert receiver.unverified == 0
        ids = [e["id"] for e in receiver.events()]
        assert len(ids) == len(set(ids)) == 9
    timeline = json.loads(
        space.server.cli(
            "trace", keys[0], "--workspace", WORKSPACE, "--app-id", space.app_id, "--json"
        ).stdout
    )["timeline"]
    told = [step["detail"] for step in timeline if step["event"] == "webhook"]
    assert len(told) == 3 and all(f"delivered to {receiver.url}" in t for t in told), told
    metrics = httpx.get(f"{space.server.url}/metrics").text
    delivered = re.search(r'tidings_webhook_events_total\{result="delivered"\} (\S+)', metrics)
    assert delivered and float(delivered[1]) >= 9


def test_an_endpoint_gets_only_the_types_it_took(space: AppSpace) -> None:
    with receiving() as receiver:
        subscribe(space, receiver, events="delivery.opened")
        device = space.device("--open")
        token = device.connected()["DeliveryToken"]
        key = unique("k")
        ok(space.simple({token: key}))
        device.messages(1)
        found = receiver.wait_for(1)
        assert [(e["type"], e["data"]["msgKey"]) for e in found] == [("delivery.opened", key)]
        device.quiet(0.5)
        assert [e["type"] for e in receiver.events()] == ["delivery.opened"]


def test_a_failing_endpoint_gets_everything_once_it_recovers(space: AppSpace) -> None:
    with receiving() as receiver:
        receiver.status = 500
        subscribe(space, receiver, events="message.accepted")
        first = {f"nobody-{i}": unique("k") for i in range(3)}
        ok(space.simple(first))  # three events made together: one batch
        while len(receiver.requests) < 3:
            receiver.wait_for(1, timeout=0.2)
        retried = {r.headers["webhook-id"] for r in receiver.requests[:3]}
        assert len(retried) == 1, "a retried batch keeps its webhook-id"
        assert all(r.headers["x-answered"] == "500" for r in receiver.requests)
        later = [unique("k") for _ in range(3)]
        for key in later:
            ok(space.simple({"nobody-" + key: key}))
        receiver.status = 200
        found = receiver.wait_for(6, timeout=30)
        assert sorted(e["data"]["msgKey"] for e in found) == sorted([*first.values(), *later])
        ids = [e["id"] for e in found]
        assert len(ids) == len(set(ids)), "each event once among the accepted batches"


def delivery_made(space: AppSpace, msg_key: str) -> bool:
    with stored.connection(space.server) as conn:
        query = text(
            "SELECT count(*) FROM deliveries d JOIN messages m ON m.pk = d.message_pk "
            "WHERE m.msg_key = :k"
        )
        return conn.execute(query, {"k": msg_key}).scalar_one() > 0


def test_expiry_revocation_and_a_fired_schedule_are_reported(space: AppSpace) -> None:
    with receiving() as receiver:
        subscribe(space, receiver, events="delivery.expired,delivery.revoked,schedule.fired")
        away = space.device()
        token = away.connected()["DeliveryToken"]
        away.stop()
        short, gone, later = unique("short"), unique("gone"), unique("later")
        ok(space.simple({token: short}, expired_seconds=1))
        ok(space.simple({token: gone}))
        eventually(lambda: delivery_made(space, gone))  # what is revoked is a delivery waiting
        revoked = space.sdk.revoke_push_message(
            models.RevokePushMessageRequest(**space.ids(), message_id=gone, target_id=token)
        ).body
        assert '"Withdrawn":1' in ok(revoked)
        fire_at = (int(time.time()) + 2) * 1000
        task_id = ok(
            space.simple(
                {token: later}, strategy_type=1, strategy_content=json.dumps({"fixedTime": fire_at})
            )
        )
        (expired,) = receiver.wait_for(1, kind="delivery.expired")
        assert expired["data"]["msgKey"] == short and expired["data"]["status"] == 3
        (withdrawn,) = receiver.wait_for(1, kind="delivery.revoked")
        assert withdrawn["data"]["msgKey"] == gone and withdrawn["data"]["status"] == 4
        assert withdrawn["data"]["device"] == token
        (fired,) = receiver.wait_for(1, kind="schedule.fired")
        assert fired["data"]["parentTaskId"] == task_id and fired["data"]["dueAt"] == fire_at
        assert receiver.unverified == 0
