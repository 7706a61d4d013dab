"""Finding out what happened: ``tidings trace`` and the console's JSON trace for one msgKey, and
``/metrics`` in the Prometheus text format, against a real server on both databases."""

from __future__ import annotations

import json

import httpx
from alibabacloud_mpaas20201028 import models
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests.console.browsing import Visitor, add_operator
from tests.support.pushes import WORKSPACE, AppSpace, eventually, ok, unique
from tests.support.raw import RawClient
from tests.support.servers import Server
from tests.support.stored import connection


def trace(space: AppSpace, msg_key: str) -> dict:
    printed = space.server.cli(
        "trace", "--workspace", WORKSPACE, "--app-id", space.app_id, msg_key, "--json"
    )
    return json.loads(printed.stdout)


def stored(server: Server, msg_key: str, column: str) -> bool:
    """Whether the message's first delivery has ``column`` set yet."""
    with connection(server) as conn:
        return (
            conn.execute(
                text(
                    f"SELECT d.{column} FROM deliveries d JOIN messages m ON m.pk = d.message_pk "
                    "WHERE m.msg_key = :key ORDER BY d.id"
                ),
                {"key": msg_key},
            ).scalar()
            is not None
        )


def test_the_trace_tells_a_message_from_acceptance_to_revocation(space: AppSpace) -> None:
    device = space.device("--open")
    token = device.connected()["DeliveryToken"]
    key = unique("k")
    task_id = ok(space.simple({token: key, "no-such-token": unique("k")}))
    device.messages(1)
    eventually(lambda: stored(space.server, key, "opened_at"))
    revoked = space.sdk.revoke_push_message(
        models.RevokePushMessageRequest(**space.ids(), message_id=key, target_id=token)
    ).body
    ok(revoked)
    assert device.next()["event"] == "revoked"
    found = eventually(lambda: (t := trace(space, key))["deliveries"][0]["revokeConfirmedAt"] and t)
    assert (found["msgKey"], found["taskId"], found["action"]) == (key, task_id, "PushSimple")
    assert [s["event"] for s in found["timeline"]] == [
        "accepted",
        "resolved",
        "acked",
        "opened",
        "revoked",
        "revoked",
        "revoke_confirmed",
    ]
    [delivery] = found["deliveries"]
    assert found["deliveryCount"] == 1
    assert (delivery["device"], delivery["channel"], delivery["statusName"]) == (
        token,
        "selfbuilt",
        "revoked",
    )
    times = [s["at"] for s in found["timeline"]]
    assert times == sorted(times)

    table = space.server.cli("trace", "--workspace", WORKSPACE, "--app-id", space.app_id, key)
    assert all(event in table.stdout for event in ("accepted", "acked", "opened", "revoked"))
    missing = space.server.cli(
        "trace", "--workspace", WORKSPACE, "--app-id", space.app_id, "nope", check=False
    )
    assert missing.returncode == 1 and "No message with msgKey 'nope'" in missing.stderr


def test_the_console_reads_the_trace_as_json(space: AppSpace) -> None:
    key = unique("k")
    ok(space.simple({"waiting-token": key}))
    path = f"/console/api/apps/{WORKSPACE}/{space.app_id}/trace"
    anonymous = httpx.get(space.server.url + path, params={"msgKey": key})
    assert anonymous.status_code == 401
    username = unique("ops")
    add_operator(space.server, username, "a long enough password", "--workspace", WORKSPACE)
    visitor = Visitor(space.server)
    try:
        assert visitor.sign_in(username, "a long enough password").status_code == 303
        answer = visitor.get(path, params={"msgKey": key})
        assert answer.status_code == 200, answer.text
        assert answer.json()["msgKey"] == key
        assert answer.json()["timeline"][-1]["event"] == "waiting"
        assert answer.json() == trace(space, key)
        assert visitor.get(path, params={"msgKey": "nope"}).status_code == 404
        assert visitor.get(path).status_code == 400
        other = f"/console/api/apps/elsewhere/{space.app_id}/trace"
        assert visitor.get(other, params={"msgKey": key}).status_code == 404
    finally:
        visitor.close()


def metrics(server: Server) -> dict[tuple[str, tuple], float]:
    answer = httpx.get(server.url + "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


ACKED = ("tidings_deliveries_total", (("channel", "selfbuilt"), ("status", "acked")))


def test_metrics_count_requests_deliveries_devices_and_queues(space: AppSpace) -> None:
    before = metrics(space.server)
    device = space.device()
    token = device.connected()["DeliveryToken"]
    ok(space.simple({token: unique("k")}))
    device.messages(1)
    space.simple({"t": unique("k")}, title="")  # refused with 3024
    unknown = RawClient(space.server, space.key).acs3("NoSuchAction", space.ids())
    assert unknown.json()["Code"] == "InvalidApi.NotFound"

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return found.get(key, 0.0) - before.get(key, 0.0)

    found = metrics(space.server)
    while grew(*ACKED[:1], **dict(ACKED[1])) < 1:  # the ack is counted once it arrives
        found = eventually(lambda: metrics(space.server))

    assert grew("tidings_requests_total", action="PushSimple", code="OK") == 1
    assert grew("tidings_requests_total", action="PushSimple", code="3024") == 1
    assert grew("tidings_requests_total", action="unknown", code="InvalidApi.NotFound") == 1
    assert not any("NoSuchAction" in str(key) for key in found)
    assert grew("tidings_deliveries_total", channel="selfbuilt", status="pending") == 1
    assert grew(*ACKED[:1], **dict(ACKED[1])) == 1
    assert found["tidings_connected_devices", ()] >= 1
    queues = {dict(labels)["queue"] for name, labels in found if name == "tidings_queue_depth"}
    assert queues == {
        "tasks_due",
        "deliveries_pending",
        "deliveries_no_binding",
        "occurrences_waiting",
    }
    assert found["tidings_scheduler_lag_seconds", ()] == 0
