"""The push analysis actions through the official SDK, on both databases: after a known mix of
acknowledged, opened, expired and revoked deliveries to real devices, the figures are what the
deliveries' statuses say, in the documented shapes, with their filters and codes."""

from __future__ import annotations

import json
import time

from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.support.pushes import (
    AppSpace,
    eventually,
    ok,
    unique,
)
from tests.support.servers import Server
from tests.support.stored import connection

DAY = 86_400_000


def statuses(server: Server, app_id: str) -> dict[str, list]:
    """Per msgKey, the (status, acked, opened) of each of its deliveries."""
    with connection(server) as conn:
        rows = conn.execute(
            text(
                "SELECT m.msg_key, d.status, d.acked_at IS NOT NULL, d.opened_at IS NOT NULL "
                "FROM deliveries d JOIN messages m ON m.pk = d.message_pk "
                "JOIN apps a ON a.pk = d.app_pk WHERE a.app_id = :app ORDER BY d.id"
            ),
            {"app": app_id},
        )
        found: dict[str, list] = {}
        for key, *rest in rows:
            found.setdefault(key, []).append(tuple(rest))
        return found


def core(space: AppSpace, **filters) -> dict[str, float]:
    now = int(time.time() * 1000)
    body = space.sdk.query_push_analysis_core_index(
        models.QueryPushAnalysisCoreIndexRequest(
            **space.ids(), start_time=now - DAY, end_time=now, **filters
        )
    ).body
    assert body.result_code == "OK", body
    return body.result_content.data.to_map()


def test_the_figures_agree_with_what_happened_to_each_delivery(space: AppSpace) -> None:
    opener, reader, away, gone = (
        space.device("--open"),
        space.device(),
        space.device(),
        space.device(),
    )
    tokens = [d.connected()["DeliveryToken"] for d in (opener, reader, away, gone)]
    away.stop()
    gone.stop()
    k = {name: unique(name) for name in ("open", "read", "away", "gone", "ghost", "short", "back")}
    first = ok(
        space.simple(
            {
                tokens[0]: k["open"],
                tokens[1]: k["read"],
                tokens[2]: k["away"],
                tokens[3]: k["gone"],
                "ghost-token": k["ghost"],
            }
        )
    )
    ok(space.simple({tokens[2]: k["short"]}, expired_seconds=1))
    ok(space.template({tokens[0]: k["back"]}))
    opener.messages(2)
    reader.messages(1)
    revoked = space.sdk.revoke_push_message(
        models.RevokePushMessageRequest(**space.ids(), message_id=k["gone"], target_id=tokens[3])
    ).body
    assert '"Withdrawn":1' in ok(revoked)
    # The device has "back" once it is read; the server records its ack and open a moment
    # later, and only an acknowledged delivery is recalled (a pending one is withdrawn).
    eventually(lambda: statuses(space.server, space.app_id)[k["back"]] == [(2, True, True)])
    recalled = space.sdk.revoke_push_message(
        models.RevokePushMessageRequest(**space.ids(), message_id=k["back"], target_id=tokens[0])
    ).body
    expected = {
        k["open"]: [(2, True, True)],  # acknowledged and opened
        k["read"]: [(2, True, False)],  # acknowledged, not opened: ignored
        k["away"]: [(0, False, False)],  # waiting for its device
        k["gone"]: [(4, False, False)],  # revoked before it was sent
        k["ghost"]: [(0, False, False)],  # no such device
        k["short"]: [(3, False, False)],  # expired
        k["back"]: [(4, True, True)],  # opened, then recalled: it did arrive
    }
    assert '"Recalled":1' in ok(recalled)
    eventually(lambda: statuses(space.server, space.app_id) == expected, timeout=15)
    figures = {
        "PushTotalNum": 7.0,
        "PushNum": 3.0,
        "ArrivalNum": 3.0,
        "ArrivalRate": 1.0,
        "OpenNum": 2.0,
        "OpenRate": 0.6667,
        "IgnoreNum": 1.0,
        "IgnoreRate": 0.3333,
    }
    assert core(space) == figures
    assert all(isinstance(v, float) for v in core(space).values())
    # filters: the ghost token has no channel; every delivery here is to an Android device
    assert core(space, channel="ANDROID")["PushTotalNum"] == 6.0
    assert core(space, platform="ANDROID") == figures
    assert core(space, platform="IOS")["PushTotalNum"] == 0.0
    assert core(space, type="TEMPLATE")["OpenNum"] == 1.0
    assert core(space, type="multiple")["PushTotalNum"] == 0.0
    assert core(space, task_id=first)["PushTotalNum"] == 5.0

    listed = space.sdk.list_analysis_core_index(
        models.ListAnalysisCoreIndexRequest(**space.ids(), channel="ANDROID")
    ).body
    assert (listed.result_code, listed.success, listed.result_content.success) == (
        "OK",
        True,
        True,
    )
    assert listed.result_content.data.to_map() == {
        "PushTotalNum": "6",
        "PushNum": "3",
        "ArrivalNum": "3",
        "ArrivalRate": "1.0",
        "OpenNum": "2",
        "OpenRate": "0.6667",
        "IgnoreNum": "1",
        "IgnoreRate": "0.3333",
    }

    detail = space.sdk.query_push_analysis_task_detail(
        models.QueryPushAnalysisTaskDetailRequest(**space.ids(), task_id=first)
    ).body.result_content.data
    assert (detail.task_id, detail.push_num, detail.push_success_num) == (int(first), 5.0, 2.0)
    assert detail.push_arrival_num == 2.0
    assert detail.end_time - detail.start_time == 600_000 and detail.duration == "600"


def test_the_task_list_shows_batch_and_broadcast_pushes(space: AppSpace) -> None:
    since = int(time.time() * 1000) - 1000
    ok(space.simple({"t": unique("k")}))
    broadcast = ok(space.broadcast(task_name="spring sale"))
    loop = {
        "startTime": since,
        "endTime": since + 2 * DAY,
        "circleType": 1,
        "time": "23:59:59",
    }
    multiple = space.sdk.push_multiple(
        models.PushMultipleRequest(
            **space.ids(),
            task_name="daily prize",
            template_name="Prize",
            delivery_type=3,
            expired_seconds=600,
            strategy_type=2,
            strategy_content=json.dumps(loop),
            target_msg=[
                models.PushMultipleRequestTargetMsg(
                    target="u1",
                    msg_key=unique("k"),
                    template_key_value='{"name": "A", "money": "1"}',
                )
            ],
        )
    ).body
    scheduled = ok(multiple)

    def listed(**fields):
        body = space.sdk.query_push_analysis_task_list(
            models.QueryPushAnalysisTaskListRequest(
                **{**space.ids(), "start_time": since, **fields}
            )
        ).body
        assert body.result_code == "OK", body
        return body.result_content.data

    found = listed()
    assert [(t.task_id, t.type, t.task_name) for t in found] == [
        (scheduled, 2, "daily prize"),
        (broadcast, 3, "spring sale"),
    ]
    assert found[0].template_name == "Prize" and found[0].template_id
    assert len(found[0].list) >= 2 and all(o.type == 2 for o in found[0].list)
    assert [o.gmt_create for o in found[0].list] == sorted(o.gmt_create for o in found[0].list)
    assert [t.task_id for t in listed(task_name="spring")] == [broadcast]
    assert [t.task_id for t in listed(task_id=scheduled)] == [scheduled]
    assert [t.task_id for t in listed(page_size=1, page_number=2)] == [broadcast]
    assert listed(start_time=int(time.time() * 1000) + DAY) == []


def test_refusals(space: AppSpace) -> None:
    now = int(time.time() * 1000)
    for request, said in [
        (
            models.QueryPushAnalysisCoreIndexRequest(**space.ids(), end_time=now),
            "StartTime is required",
        ),
        (
            models.QueryPushAnalysisCoreIndexRequest(
                **space.ids(), start_time=now - 91 * DAY, end_time=now
            ),
            "at most 90 days",
        ),
        (
            models.QueryPushAnalysisCoreIndexRequest(
                **space.ids(), start_time=now, end_time=now, platform="SYMBIAN"
            ),
            "Platform must be one of",
        ),
    ]:
        body = space.sdk.query_push_analysis_core_index(request).body
        assert body.result_code == "3028" and said in body.result_message, body
        assert body.result_content is None
    body = space.sdk.list_analysis_core_index(
        models.ListAnalysisCoreIndexRequest(**space.ids(), type="LOOP")
    ).body
    assert (body.result_code, body.success) == ("3028", False)
    body = space.sdk.query_push_analysis_task_detail(
        models.QueryPushAnalysisTaskDetailRequest(**space.ids(), task_id="999999999")
    ).body
    assert body.result_code == "3028" and "no task 999999999" in body.result_message
    body = space.sdk.query_push_analysis_task_list(
        models.QueryPushAnalysisTaskListRequest(**space.ids())
    ).body
    assert body.result_code == "3028" and "StartTime is required" in body.result_message
