"""A vendor recall survives ``kill -9`` of the process asking it, on both databases: a real
``tidings serve`` revokes a push HarmonyOS Push Kit delivered, and is killed once its pages are
written and Push Kit has been asked, before the answer. The deliveries stay delivered (never
shown revoked without Push Kit's agreement), still being asked back; after a restart, revoking
one of them again asks Push Kit again and counts it recalled, and the recall sweep asks for the
other once the dead asker's lease has run out."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.console.browsing import Visitor, add_operator, text_of
from tests.fakes.harmonyos import FakeHarmony
from tests.integration.test_harmonyos_delivery import (
    APP_ID,
    HARMONYOS,
    TEMPLATE,
    VALUES,
    WORKSPACE,
    arrived,
    report,
    serving,
)
from tests.integration.test_vendor_delivery import unique, wait_for_status
from tests.support import vendor_calls
from tests.support.devices import push_multiple
from tests.support.stored import connection

T = TypeVar("T")


@pytest.fixture(scope="module")
def fake():
    running = FakeHarmony().start()
    yield running
    running.stop()


@pytest.fixture(params=BACKENDS)
def tenant(request, fake, tmp_path):
    with serving(request.param, tmp_path, fake) as made:  # a server of its own, to kill
        yield made
    fake.reset()


def recalls(server, task: str) -> list[tuple[int, bool]]:
    """(status, being asked back) of each delivery of the task, in id order."""
    with connection(server) as conn:
        rows = conn.execute(
            text(
                "SELECT status, recall_due_at IS NOT NULL FROM deliveries WHERE task_id = :t "
                "ORDER BY id"
            ),
            {"t": int(task)},
        )
        return [tuple(row) for row in rows]


def eventually(check: Callable[[], T], timeout: float = 15) -> T:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)
    return found


def test_a_recall_killed_before_the_vendor_answered_is_asked_again(tenant, fake) -> None:
    server, client = tenant
    devices = [unique("DT"), unique("DT")]
    tokens = [unique("harmony-crash-"), unique("harmony-crash-")]
    keys = [unique("k"), unique("k")]
    for device, token in zip(devices, tokens, strict=True):
        report(client, device, token)
    task = push_multiple(
        client, APP_ID, WORKSPACE, TEMPLATE,
        [(device, key, VALUES) for device, key in zip(devices, keys, strict=True)],
        delivery_type=HARMONYOS,
    )  # fmt: skip
    wait_for_status(server, task, 2)
    notify_ids = [arrived(fake, t).body["payload"]["notification"]["notifyId"] for t in tokens]

    fake.holding_recalls = True
    failed: list[Exception] = []

    def revoke() -> None:
        try:
            client.revoke_push_task(
                models.RevokePushTaskRequest(app_id=APP_ID, workspace_id=WORKSPACE, task_id=task)
            )
        except Exception as exc:  # the SDK's, for a connection closed without an answer
            failed.append(exc)

    revoking = threading.Thread(target=revoke)
    revoking.start()
    eventually(lambda: sorted(fake.held) == sorted(tokens))  # the pages written, Push Kit asked
    server.process.kill()  # kill -9
    server.process.wait()
    server.process = None
    fake.holding_recalls = False  # the held recalls are dropped unanswered
    revoking.join(30)
    assert [type(e).__name__ for e in failed] == ["UnretryableException"]  # no answer came
    # Push Kit never agreed: delivered still, and still to be asked back
    assert recalls(server, task) == [(2, True), (2, True)]
    assert fake.recalled == []

    server.start()
    answer = vendor_calls.revoke_message(client, APP_ID, WORKSPACE, keys[0], devices[0])
    assert (answer["Recalled"], answer["Unrecallable"]) == (1, 0)
    assert fake.recalled == [(notify_ids[0], tokens[0])]
    assert recalls(server, task) == [(4, False), (2, True)]

    # the other is left to the sweep (every second here) once its asker's lease has run out
    time.sleep(1.5)
    assert fake.recalled == [(notify_ids[0], tokens[0])]  # not before: the asker may be alive
    with connection(server) as conn, conn.begin():
        conn.execute(
            text("UPDATE deliveries SET recall_due_at = 1 WHERE task_id = :t AND status = 2"),
            {"t": int(task)},
        )
    eventually(lambda: recalls(server, task) == [(4, False), (4, False)])
    assert fake.recalled == [(notify_ids[0], tokens[0]), (notify_ids[1], tokens[1])]
    answer = vendor_calls.revoke_message(client, APP_ID, WORKSPACE, keys[1], devices[1])
    assert set(answer.values()) == {0}  # done: revoking again changes nothing


def trace(server, key: str) -> list[tuple[str, str]]:
    """(event, detail) of the recall steps of the message's trace, as `tidings trace` gives it."""
    found = server.cli("trace", key, "--workspace", WORKSPACE, "--app-id", APP_ID, "--json")
    timeline = json.loads(found.stdout)["timeline"]
    return [(s["event"], s["detail"]) for s in timeline if s["event"].startswith(("recall", "rev"))]


def delivered_push(server, client, token_prefix: str) -> tuple[str, str, str, str]:
    """A new device with a Push Kit token, pushed one message that Push Kit accepted: (device,
    token, msgKey, task id)."""
    device, token, key = unique("DT"), unique(token_prefix), unique("k")
    report(client, device, token)
    task = push_multiple(
        client, APP_ID, WORKSPACE, TEMPLATE, [(device, key, VALUES)], delivery_type=HARMONYOS
    )
    wait_for_status(server, task, 2)
    return device, token, key, task


def test_a_push_kit_out_of_reach_is_asked_again_once_it_is_back(tenant, fake) -> None:
    """Push Kit answering 503 to a recall has not refused it: the answer counts it unrecallable
    (in MPS's shape), it stays delivered and asked, the trace says so, and once Push Kit is back
    the sweep asks again and it is recalled."""
    server, client = tenant
    device, token, key, task = delivered_push(server, client, "harmony-down-")
    notify_id = arrived(fake, token).body["payload"]["notification"]["notifyId"]

    fake.recalls_unavailable = True
    answer = vendor_calls.revoke_message(client, APP_ID, WORKSPACE, key, device)
    assert answer == {"Withdrawn": 0, "Recalled": 0, "Unrecallable": 1, "Cancelled": 0}
    assert recalls(server, task) == [(2, True)]
    steps = trace(server, key)
    assert [event for event, _ in steps] == [
        "revoked",
        "recall_asked",
        "recall_unreached",
        "recall_due",
    ]
    assert "81000001 System internal error" in steps[2][1]

    time.sleep(1.5)  # sweeps (every second) before it is due ask nothing
    assert recalls(server, task) == [(2, True)]
    fake.recalls_unavailable = False
    with connection(server) as conn, conn.begin():  # due now, not in a minute
        conn.execute(
            text("UPDATE deliveries SET recall_due_at = 1 WHERE task_id = :t"), {"t": int(task)}
        )
    eventually(lambda: recalls(server, task) == [(4, False)])
    assert fake.recalled == [(notify_id, token)]
    events = [event for event, _ in trace(server, key)]
    assert events[-1] == "revoked" and "recall_due" not in events
    again = vendor_calls.revoke_message(client, APP_ID, WORKSPACE, key, device)
    assert set(again.values()) == {0}


def test_the_console_says_a_vendor_out_of_reach_is_asked_again(tenant, fake) -> None:
    server, client = tenant
    *_, task = delivered_push(server, client, "harmony-console-")
    add_operator(server, "rae", "a long passphrase", "--workspace", WORKSPACE)
    rae = Visitor(server)
    try:
        rae.sign_in("rae", "a long passphrase")
        fake.recalls_unavailable = True
        page = text_of(
            rae.post(f"/console/apps/{WORKSPACE}/{APP_ID}/revoke/task", {"task_id": task})
        )
        fake.recalls_unavailable = False
        again = text_of(
            rae.post(f"/console/apps/{WORKSPACE}/{APP_ID}/revoke/task", {"task_id": task})
        )
    finally:
        rae.close()
    assert (
        "Out of reach (a vendor has them) 1 Of those, their vendor not reached: asked again" in page
    )
    assert "Recalled from devices 1" in again and "not reached" not in again
