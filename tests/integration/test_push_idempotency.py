"""msgKey idempotency: a repeated call is answered with its first task id and stores nothing new."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from tests.integration.conftest import Tenant, msg_key, target
from tests.support import stored
from tidings.instants import DAY_MS


def test_the_same_call_repeated_returns_the_same_task(tenant: Tenant) -> None:
    call = tenant.multiple(target_msg=[target("u1"), target("u2")])
    client = tenant.sdk()
    first = client.push_multiple(call).body
    assert first.result_code == "OK"
    after_first = stored.counts(tenant.server)
    for mode in ("acs3", "v2"):
        again = tenant.sdk(mode).push_multiple(call).body
        assert again.result_code == "OK"
        assert again.push_result.data == first.push_result.data
    assert stored.counts(tenant.server) == after_first


def test_a_msg_key_reused_with_other_content_is_refused(tenant: Tenant) -> None:
    first, second = target("u1"), target("u2")
    client = tenant.sdk()
    task_id = client.push_multiple(tenant.multiple(target_msg=[first, second])).body
    assert task_id.result_code == "OK"
    before = stored.counts(tenant.server)

    changed = target("u2", second.msg_key, money="300")
    refused = client.push_multiple(tenant.multiple(target_msg=[first, changed])).body
    assert refused.result_code == "3028"
    assert refused.push_result.success is False
    assert f"TargetMsg.1.MsgKey {first.msg_key!r}" in refused.result_message
    assert f"task {task_id.push_result.data}" in refused.result_message

    # Only part of an earlier call's msgKeys, alongside a new one: also a reuse.
    partial = client.push_multiple(tenant.multiple(target_msg=[target("u3"), second])).body
    assert partial.result_code == "3028"
    assert f"TargetMsg.2.MsgKey {second.msg_key!r}" in partial.result_message
    assert stored.counts(tenant.server) == before


def test_concurrent_identical_calls_store_one_task(tenant: Tenant) -> None:
    name = f"concurrent {msg_key()}"
    call = tenant.multiple(task_name=name, target_msg=[target(f"u{i}") for i in range(20)])
    clients = [tenant.sdk(mode) for mode in ("acs3", "v2", "acs3", "v2", "acs3")]
    before = stored.counts(tenant.server)
    start = threading.Barrier(len(clients))

    def send(client) -> str:
        start.wait()
        body = client.push_multiple(call).body
        assert body.result_code == "OK", body.result_message
        return body.push_result.data

    with ThreadPoolExecutor(len(clients)) as pool:
        task_ids = list(pool.map(send, clients))
    assert len(set(task_ids)) == 1
    assert stored.counts(tenant.server) == (before.tasks + 1, before.messages + 20)
    assert [t["id"] for t in stored.tasks_named(tenant.server, name)] == [int(task_ids[0])]


def _accepted_at(tenant: Tenant, task_id: str, at_ms: int) -> None:
    """Move the task's messages to ``at_ms``, as if it had been accepted then."""
    with stored.connection(tenant.server) as conn, conn.begin():
        conn.execute(
            text("UPDATE messages SET created_at = :at WHERE task_id = :id"),
            {"at": at_ms, "id": int(task_id)},
        )


def test_a_retry_within_24_hours_answers_the_same_across_midnight(tenant: Tenant) -> None:
    """msgKeys are indexed per UTC day; the retry window still reaches into the day before."""
    call = tenant.multiple(target_msg=[target("u1"), target("u2")])
    client = tenant.sdk()
    first = client.push_multiple(call).body.push_result.data
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    _accepted_at(tenant, first, today - 1)  # the last instant of yesterday (UTC)
    before = stored.counts(tenant.server)
    again = client.push_multiple(call).body
    assert again.result_code == "OK"
    assert again.push_result.data == first
    changed = tenant.multiple(target_msg=[target("u1", call.target_msg[0].msg_key, money="1")])
    assert client.push_multiple(changed).body.result_code == "3028"
    assert stored.counts(tenant.server) == before


def test_a_msg_key_older_than_the_window_may_be_used_again(tenant: Tenant) -> None:
    call = tenant.multiple(target_msg=[target("u1")])
    client = tenant.sdk()
    first = client.push_multiple(call).body.push_result.data
    _accepted_at(tenant, first, int(time.time() * 1000) - DAY_MS - 60_000)
    later = client.push_multiple(call).body
    assert later.result_code == "OK"
    assert later.push_result.data != first


def test_a_retry_of_a_call_using_every_stored_field_is_recognised(tenant: Tenant) -> None:
    """The retry's digest is compared with one computed from the stored task and messages, so
    everything the call stores must come back as it went in: options, strategy, per-target
    extension parameters."""
    fixed = int((time.time() + 3600) * 1000)
    first, second = (
        target("u1", extended='{"k":"v","n":"1"}'),
        target("u2", extended='{"\u00e9":"\u4e2d"}'),
    )
    call = tenant.multiple(
        target_msg=[first, second],
        strategy_type=1,
        strategy_content=json.dumps({"fixedTime": fixed}),
        extended_params='{"call":"wide"}',
        silent=1,
        push_action=1,
    )
    client = tenant.sdk()
    accepted = client.push_multiple(call).body
    assert accepted.result_code == "OK", accepted.result_message
    before = stored.counts(tenant.server)
    again = tenant.sdk("v2").push_multiple(call).body
    assert (again.result_code, again.push_result.data) == ("OK", accepted.push_result.data)

    changed = tenant.multiple(
        target_msg=[first, second],
        strategy_type=1,
        strategy_content=json.dumps({"fixedTime": fixed + 60_000}),
        extended_params='{"call":"wide"}',
        silent=1,
        push_action=1,
    )
    refused = client.push_multiple(changed).body
    assert refused.result_code == "3028"
    assert stored.counts(tenant.server) == before
