"""Broadcasts and revocations from the console, on both backends: sent and revoked through the
services the API uses, refusals shown beside the input their field path names."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.console.browsing import Visitor, add_operator, field_error, text_of
from tests.console.test_single_pushes import sent_task
from tests.support import stored
from tests.support.servers import Server

WORKSPACE, APP_ID = "recall", "ONEXRECALL000001"
APP = f"/console/apps/{WORKSPACE}/{APP_ID}"
PASSWORD = "a long passphrase"


@pytest.fixture(scope="module")
def site(server: Server) -> Server:
    server.create_app(WORKSPACE, APP_ID)
    add_operator(server, "rae", PASSWORD, "--workspace", WORKSPACE)
    return server


@pytest.fixture
def rae(site: Server) -> Iterator[Visitor]:
    visitor = Visitor(site)
    visitor.sign_in("rae", PASSWORD)
    form = {"name": "News", "title": "News for #name#", "content": "Read #what#"}
    visitor.post(f"{APP}/templates/new", form)
    yield visitor
    visitor.close()


def broadcast(**fields: str) -> dict[str, str]:
    return {
        "template": "News",
        "values": "name=all\nwhat=this",
        "task_name": "Everyone",
        "msg_key": "b-1",
        "delivery_type": "1",
        "push_status": "1",
        "bind_period": "4",
        "unbind_period": "4",
        "expired_seconds": "600",
    } | fields


def test_a_broadcast_is_stored_as_the_api_stores_it(rae: Visitor, site: Server) -> None:
    page = rae.post(f"{APP}/push/broadcast", broadcast())
    assert page.status_code == 200, text_of(page)
    assert "a broadcast, to the devices chosen when it is due" in text_of(page)
    task = stored.task(site, sent_task(page))
    assert task is not None and task["action"] == "PushBroadcast"
    [message] = stored.messages(site, sent_task(page))
    assert (message["msg_key"], message["title"], message["content"]) == (
        "b-1",
        "News for all",
        "Read this",
    )


def test_broadcast_refusals_sit_beside_their_fields(rae: Visitor) -> None:
    users = rae.post(f"{APP}/push/broadcast", broadcast(delivery_type="3", msg_key="b-2"))
    assert users.status_code == 400
    assert "a broadcast goes to every device" in field_error(users, "delivery_type")
    keyless = rae.post(f"{APP}/push/broadcast", broadcast(msg_key=""))
    assert "Msgkey is required" in field_error(keyless, "msg_key")
    status = rae.post(f"{APP}/push/broadcast", broadcast(push_status="9", msg_key="b-3"))
    assert "PushStatus" in field_error(status, "push_status")
    unreadable = rae.post(f"{APP}/push/broadcast", broadcast(values="what", msg_key="b-4"))
    assert field_error(unreadable, "values") == "line 1: write name=value"
    missing = rae.post(f"{APP}/push/broadcast", broadcast(values="name=x", msg_key="b-5"))
    assert "no value for placeholder 'what'" in field_error(missing, "values")


def test_a_message_and_a_task_are_revoked(rae: Visitor, site: Server) -> None:
    simple = {"task_name": "t", "delivery_type": "3", "expired_seconds": "600"}
    one = rae.post(
        f"{APP}/push/simple", simple | {"title": "a", "content": "b", "targets": "u1,r1\nu2,r2"}
    )
    _deliveries_made(site, sent_task(one), 2)  # waiting for their users to bind a device
    page = rae.post(f"{APP}/revoke/message", {"msg_key": "r1", "target": "u1"})
    assert page.status_code == 200, text_of(page)
    assert "Withdrawn before sending 1" in text_of(page)
    statuses = {
        m["msg_key"]: m["revoked_at"] is not None for m in stored.messages(site, sent_task(one))
    }
    assert statuses == {"r1": True, "r2": False}
    task = rae.post(f"{APP}/revoke/task", {"task_id": sent_task(one)})
    assert "Withdrawn before sending 1" in text_of(task)
    again = rae.post(f"{APP}/revoke/task", {"task_id": sent_task(one)})
    assert "Withdrawn before sending 0" in text_of(again)


def test_revoke_refusals_sit_beside_their_fields(rae: Visitor) -> None:
    simple = {"task_name": "t", "delivery_type": "3", "expired_seconds": "600"}
    rae.post(f"{APP}/push/simple", simple | {"title": "a", "content": "b", "targets": "u3,r3"})
    nameless = rae.post(f"{APP}/revoke/message", {"msg_key": "", "target": "u3"})
    assert nameless.status_code == 400
    assert "MessageId is required" in field_error(nameless, "msg_key")
    unknown = rae.post(f"{APP}/revoke/message", {"msg_key": "nope", "target": "u3"})
    assert "no message 'nope'" in field_error(unknown, "msg_key")
    elsewhere = rae.post(f"{APP}/revoke/message", {"msg_key": "r3", "target": "u9"})
    assert "was sent to 'u3'" in field_error(elsewhere, "target")
    wordy = rae.post(f"{APP}/revoke/task", {"task_id": "abc"})
    assert "is not a task id" in field_error(wordy, "task_id")
    absent = rae.post(f"{APP}/revoke/task", {"task_id": "999999"})
    assert "no task 999999" in field_error(absent, "task_id")
    assert field_error(absent, "msg_key") is None


def _deliveries_made(site: Server, task_id: str, count: int, seconds: float = 10) -> None:
    """Wait for delivery to make the task's deliveries (it does so soon after it is accepted)."""
    query = text("SELECT COUNT(*) FROM deliveries WHERE task_id = :id")
    deadline = time.monotonic() + seconds
    while True:
        with stored.connection(site) as conn:
            if conn.execute(query, {"id": int(task_id)}).scalar_one() == count:
                return
        assert time.monotonic() < deadline, f"task {task_id} has no {count} deliveries"
        time.sleep(0.1)
