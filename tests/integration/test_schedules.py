"""Scheduled and loop pushes through the official SDK against ``tidings serve``, on both backends.

Occurrences are a few seconds ahead; devices are real ``tidings device listen`` processes. The
shared server of the module serves the timing, listing and limit tests; the crash and the
two-process tests start servers of their own.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alibabacloud_mpaas20201028 import models
from alibabacloud_tea_openapi.exceptions import ClientException
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.integration.conftest import TEMPLATE, Tenant, target
from tests.support import stored
from tests.support.clients import new_sdk
from tests.support.devices import Listener
from tests.support.servers import Server, database, free_port, running_server

DAY_MS = 24 * 3600 * 1000
FIRED = re.compile(r"fired occurrences ([\d,]+|none);")


def seconds_ahead(seconds: float) -> int:
    """Epoch ms of a whole second at least ``seconds`` from now."""
    return (int(time.time() + seconds) + 1) * 1000


def schedule(tenant: Tenant, fixed_ms: int, who: str, **fields: Any) -> tuple[str, str]:
    """A scheduled PushMultiple to ``who``; (task id, msgKey)."""
    key = uuid.uuid4().hex
    call = tenant.multiple(
        strategy_type=1,
        strategy_content=json.dumps({"fixedTime": fixed_ms}),
        target_msg=[target(who, key)],
        **fields,
    )
    body = tenant.sdk().push_multiple(call).body
    assert body.result_code == "OK", body.result_message
    return body.push_result.data, key


def add_template(tenant: Tenant, app_id: str) -> None:
    """The module's template, in another app of the tenant's workspace."""
    created = tenant.sdk().create_template(
        models.CreateTemplateRequest(
            app_id=app_id,
            workspace_id=tenant.workspace,
            template_name=TEMPLATE,
            title="Prize",
            content="Hello #name#, congratulations on winning #money# yuan",
        )
    )
    assert created.body.success, created.body


def listed(tenant: Tenant, unique_id: str | None = None, **fields: Any) -> list:
    request = models.QueryPushSchedulerListRequest(
        app_id=fields.pop("app_id", tenant.app_id),
        workspace_id=tenant.workspace,
        start_time=fields.pop("start_time", 0),
        end_time=fields.pop("end_time", seconds_ahead(400 * 86400)),
        unique_id=unique_id,
        **fields,
    )
    body = tenant.sdk().query_push_scheduler_list(request).body
    assert body.result_code == "OK", body.result_message
    return body.result_content.data.list


def cancel(tenant: Tenant, unique_ids: str, app_id: str | None = None):
    request = models.CancelPushSchedulerRequest(
        app_id=app_id or tenant.app_id, workspace_id=tenant.workspace, unique_ids=unique_ids
    )
    return tenant.sdk().cancel_push_scheduler(request).body


def wait_until(moment_ms: int) -> None:
    time.sleep(max(0.0, moment_ms / 1000 - time.time()))


@pytest.fixture
def device(tenant: Tenant, tmp_path: Path) -> Iterator[Listener]:
    listener = Listener(tenant.server, tenant.app_id, tenant.workspace, tmp_path / "device.json")
    try:
        yield listener
    finally:
        listener.stop()


def test_a_scheduled_push_arrives_within_a_second_after_its_time_and_a_cancelled_one_never(
    tenant: Tenant, device: Listener
) -> None:
    token = device.connected()["DeliveryToken"]
    due = seconds_ahead(3)
    task_id, key = schedule(tenant, due, token, delivery_type=1)
    cancelled_id, cancelled_key = schedule(tenant, due, token, delivery_type=1)
    assert cancel(tenant, cancelled_id).result_content == "1"

    device.quiet(due / 1000 - time.time() - 0.05)  # nothing before its time
    (message,) = device.messages(1, timeout=due / 1000 - time.time() + 1)
    arrived = time.time() * 1000
    assert due <= arrived <= due + 1000
    assert message["msgKey"] == key
    device.quiet(1.0)  # the cancelled one never comes, nor the first one again
    [fired] = listed(tenant, task_id)
    [never] = listed(tenant, cancelled_id)
    assert (fired.executed_status, never.executed_status) == ("1", "2")
    assert cancelled_key not in {line.get("msgKey") for line in device.seen}


def zone_at_midday() -> str:
    """A fixed-offset zone where it is about noon, so a time a few seconds ahead is today."""
    offset = 12 - datetime.now(UTC).hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def test_a_daily_loop_fires_today_and_lists_its_next_occurrence_tomorrow(tenant: Tenant) -> None:
    zone = zone_at_midday()
    app_id = f"LOOP{uuid.uuid4().hex[:8].upper()}"
    tenant.server.create_app(tenant.workspace, app_id, "--timezone", zone)
    sdk = tenant.sdk()
    add_template(tenant, app_id)
    due = seconds_ahead(3)
    local = datetime.fromtimestamp(due / 1000, UTC).astimezone(ZoneInfo(zone))
    midnight = local.replace(hour=0, minute=0, second=0)
    content = {
        "startTime": int(midnight.timestamp() * 1000),
        "endTime": int((midnight + timedelta(days=2)).timestamp() * 1000),
        "circleType": 1,
        "time": local.strftime("%H:%M:%S"),
    }
    call = tenant.multiple(app_id=app_id, strategy_type=2, strategy_content=json.dumps(content))
    body = sdk.push_multiple(call).body
    assert body.result_code == "OK", body.result_message
    parent = body.push_result.data

    before = listed(tenant, parent, app_id=app_id)
    assert [(i.push_time, i.executed_status) for i in before] == [
        (due + day * DAY_MS, "0") for day in range(3)
    ]
    assert {(i.parent_id, i.strategy_type, i.type) for i in before} == {(parent, 2, 2)}
    assert len({i.unique_id for i in before} | {parent}) == 4  # each occurrence its own id
    wait_until(due)
    deadline = time.monotonic() + 10  # on time is the device test's to check; here: it fires
    while (after := listed(tenant, parent, app_id=app_id))[0].executed_status == "0":
        assert time.monotonic() < deadline, "today's occurrence did not fire"
        time.sleep(0.05)
    assert [i.executed_status for i in after] == ["1", "0", "0"]
    assert after[1].push_time == due + DAY_MS
    one = listed(tenant, after[1].unique_id, app_id=app_id)
    assert [i.unique_id for i in one] == [after[1].unique_id]


def test_listing_filters_pages_and_answers_in_the_documented_shape(tenant: Tenant) -> None:
    base = seconds_ahead(7 * 86400)
    ids = [schedule(tenant, base + i * 2000, "userid1024")[0] for i in range(3)]
    window = {"start_time": base, "end_time": base + 4000}
    assert [i.unique_id for i in listed(tenant, **window)] == ids
    simple = (
        tenant.sdk()
        .push_simple(
            models.PushSimpleRequest(
                app_id=tenant.app_id,
                workspace_id=tenant.workspace,
                delivery_type=3,
                task_name="simple later",
                title="Simple",
                content="A simple push",
                target_msgkey=json.dumps({"userid1024": uuid.uuid4().hex}),
                expired_seconds=600,
                strategy_type=1,
                strategy_content=json.dumps({"fixedTime": base + 1000}),
            )
        )
        .body
    )
    assert simple.result_code == "OK", simple.result_message
    [only] = listed(tenant, **window, type=0)
    assert (only.unique_id, only.type, only.push_title) == (simple.push_result.data, 0, "Simple")
    assert [i.unique_id for i in listed(tenant, **window, type=2)] == ids
    ids.insert(1, simple.push_result.data)  # by trigger time, whatever the action
    assert [i.unique_id for i in listed(tenant, **window)] == ids
    assert [i.unique_id for i in listed(tenant, **window, page_size=3, page_number=2)] == ids[3:]
    ids.remove(simple.push_result.data)
    assert listed(tenant, start_time=base + 1, end_time=base + 999) == []
    [item] = listed(tenant, ids[1])
    assert (item.push_title, item.push_content) == (
        "Prize",
        "Hello Zhang San, congratulations on winning 200 yuan",
    )
    assert (item.parent_id, item.push_time, item.delivery_type) == (ids[1], base + 2000, 3)
    assert (item.strategy_type, item.executed_status, item.create_type) == (1, "0", 0)

    raw = tenant.raw().acs3(
        "QueryPushSchedulerList",
        {
            "AppId": tenant.app_id,
            "WorkspaceId": tenant.workspace,
            "StartTime": str(base),
            "EndTime": str(base),
        },
    )
    body = raw.json()
    assert set(body) == {"RequestId", "ResultCode", "ResultMessage", "ResultContent"}
    assert body["ResultContent"]["Data"]["TotalCount"] == 1
    [wire] = body["ResultContent"]["Data"]["List"]
    types = {name: type(value).__name__ for name, value in wire.items()}
    assert types == {
        "UniqueId": "str",
        "ParentId": "str",
        "PushTime": "int",
        "PushTitle": "str",
        "PushContent": "str",
        "Type": "int",
        "DeliveryType": "int",
        "StrategyType": "int",
        "ExecutedStatus": "str",
        "CreateType": "int",
        "GmtCreate": "int",
    }

    mps = tenant.sdk().query_mps_scheduler_list(
        models.QueryMpsSchedulerListRequest(
            app_id=tenant.app_id, workspace_id=tenant.workspace, unique_id=ids[0]
        )
    )
    assert [i.unique_id for i in mps.body.result_content.data.list] == ids[:1]

    both = cancel(tenant, f"{ids[0]}, {ids[2]}")
    assert (both.result_code, both.result_content) == ("OK", "2")
    assert [i.executed_status for i in listed(tenant, **window)] == ["2", "0", "0", "2"]


def test_refusals_carry_the_code_and_name_the_field(tenant: Tenant) -> None:
    sdk = tenant.sdk()
    no_window = sdk.query_push_scheduler_list(
        models.QueryPushSchedulerListRequest(app_id=tenant.app_id, workspace_id=tenant.workspace)
    ).body
    assert no_window.result_code == "3028"
    assert "StartTime is required" in no_window.result_message
    waiting, _ = schedule(tenant, seconds_ahead(3600), "userid1024")
    for ids, said in [
        ("", "UniqueIds is required"),
        ("abc", "UniqueIds: 'abc' is not the id"),
        (f"{waiting},999999999", "no scheduled push or occurrence 999999999 in this app"),
    ]:
        refused = cancel(tenant, ids)
        assert refused.result_code == "3028"
        assert said in refused.result_message
        assert refused.result_content is None
    assert listed(tenant, waiting)[0].executed_status == "0"  # the refused call changed nothing
    unknown = cancel(tenant, waiting, app_id="NOSUCHAPP")
    assert unknown.result_code == "8012"

    reader = new_sdk(tenant.server, tenant.server.create_key(tenant.workspace, "--read-only"))
    assert (
        reader.query_mps_scheduler_list(
            models.QueryMpsSchedulerListRequest(app_id=tenant.app_id, workspace_id=tenant.workspace)
        ).body.result_code
        == "OK"
    )
    with pytest.raises(ClientException) as forbidden:
        reader.cancel_push_scheduler(
            models.CancelPushSchedulerRequest(
                app_id=tenant.app_id, workspace_id=tenant.workspace, unique_ids=waiting
            )
        )
    assert forbidden.value.code == "Forbidden.RAM"


def test_the_101st_waiting_push_is_refused(tenant: Tenant) -> None:
    app_id = f"LIMIT{uuid.uuid4().hex[:8].upper()}"
    tenant.server.create_app(tenant.workspace, app_id)
    sdk = tenant.sdk()
    add_template(tenant, app_id)
    fixed = json.dumps({"fixedTime": seconds_ahead(3600)})

    def push() -> Any:
        call = tenant.multiple(app_id=app_id, strategy_type=1, strategy_content=fixed)
        return sdk.push_multiple(call).body

    ids = [push().push_result.data for _ in range(100)]
    refused = push()
    assert (refused.result_code, refused.push_result.success) == ("3028", False)
    assert "already has 100 scheduled or loop pushes waiting" in refused.result_message
    assert cancel(tenant, ids[0], app_id=app_id).result_content == "1"
    assert push().result_code == "OK"


def test_the_command_line_lists_in_the_apps_time_zone_and_cancels(tenant: Tenant) -> None:
    due = seconds_ahead(2 * 86400)
    task_id, _ = schedule(tenant, due, "userid1024")
    shown = tenant.server.cli(
        "schedules", "list", "--workspace", tenant.workspace, "--app-id", tenant.app_id
    ).stdout
    local = datetime.fromtimestamp(due / 1000, ZoneInfo("Asia/Shanghai"))
    row = next(line for line in shown.splitlines() if f" {task_id} " in line)
    assert local.strftime("%Y-%m-%d %H:%M:%S") in row
    assert "Due (Asia/Shanghai)" in shown
    done = tenant.server.cli("schedules", "cancel", task_id).stdout
    assert "Cancelled 1 waiting occurrence" in done
    again = tenant.server.cli("schedules", "cancel", "424242424", check=False)
    assert again.returncode == 1
    assert "no scheduled push or occurrence 424242424" in again.stderr
    assert listed(tenant, task_id)[0].executed_status == "2"


def fired_ids(output: str) -> list[int]:
    """Every occurrence id a server's log says it fired."""
    return [int(i) for found in FIRED.findall(output) if found != "none" for i in found.split(",")]


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_server_killed_across_a_due_time_fires_it_once_on_restart(
    kind: str, tmp_path: Path
) -> None:
    with running_server(kind, tmp_path / "data") as server:
        server.create_app("crash", "CRASHAPP")
        tenant = Tenant(server, server.create_key("crash"), "crash", "CRASHAPP")
        add_template(tenant, "CRASHAPP")
        listener = Listener(server, "CRASHAPP", "crash", tmp_path / "device.json")
        try:
            token = listener.connected()["DeliveryToken"]
            due = seconds_ahead(2)
            lasting, key = schedule(tenant, due, token, delivery_type=1, expired_seconds=60)
            brief, _ = schedule(tenant, due, token, delivery_type=1, expired_seconds=1)
            assert server.process is not None
            server.process.kill()  # kill -9: no shutdown of any kind
            server.process.wait()
            before = server.log.read_text()
            server.process = None
            wait_until(due + 1500)  # past the brief one's validity
            server.start()
            (message,) = listener.messages(1, timeout=20)
            assert message["msgKey"] == key
            listener.quiet(1.0)
            statuses = [listed(tenant, i)[0].executed_status for i in (lasting, brief)]
            assert statuses == ["1", "3"]  # fired late, once; skipped once its validity ran out
        finally:
            listener.stop()
        after = server.stop()
        with stored.connection(server) as conn:
            children = conn.execute(
                text("SELECT id FROM tasks WHERE parent_id = :parent"), {"parent": int(lasting)}
            ).scalars()
            assert fired_ids(before + after) == list(children)


def test_two_processes_on_one_postgresql_fire_each_occurrence_once(tmp_path: Path) -> None:
    with database("postgresql", tmp_path) as url:
        one = Server(f"http://127.0.0.1:{(p := free_port())}", "127.0.0.1", p, tmp_path, url)
        two = Server(f"http://127.0.0.1:{(q := free_port())}", "127.0.0.1", q, tmp_path, url)
        one.start()
        two.start()
        try:
            one.create_app("pair", "PAIRAPP")
            key = one.create_key("pair")
            tenants = [Tenant(s, key, "pair", "PAIRAPP") for s in (one, two)]
            add_template(tenants[0], "PAIRAPP")
            due = seconds_ahead(3)
            parents = [schedule(tenants[i % 2], due, f"user{i}")[0] for i in range(20)]
            wait_until(due + 1500)
            with stored.connection(one) as conn:
                rows = conn.execute(
                    text("SELECT id, state FROM tasks WHERE parent_id IS NOT NULL")
                ).all()
        finally:
            logs = one.stop() + two.stop()
    assert len(parents) == len(rows) == 20
    assert all(state != "pending" for _, state in rows)
    assert sorted(fired_ids(logs)) == sorted(task_id for task_id, _ in rows)
