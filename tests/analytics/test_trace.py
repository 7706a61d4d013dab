"""Telling a message's story from its rows: every fact becomes a step, in time order."""

from __future__ import annotations

from types import SimpleNamespace

from tidings.analytics.trace import build_trace, status_name
from tidings.contract import Status


def message(**changes) -> SimpleNamespace:
    row = {
        "pk": 1,
        "task_id": 10,
        "msg_key": "k1",
        "target": "user_1",
        "title": "T",
        "content": "C",
        "uri": None,
        "created_at": 1000,
        "revoked_at": None,
        "action": "PushSimple",
        "task_name": "news",
        "strategy_type": 0,
        "due_at": 1000,
    }
    return SimpleNamespace(**{**row, **changes})


def delivery(id: int, **changes) -> SimpleNamespace:
    row = {
        "id": id,
        "task_id": 10,
        "device_pk": 5,
        "token": "tok-5",
        "platform": "android",
        "user_id": "user_1",
        "channel": "selfbuilt",
        "status": Status.PENDING,
        "reason": None,
        "attempts": 0,
        "created_at": 1010,
        "expires_at": 61_000,
        "sent_at": None,
        "acked_at": None,
        "opened_at": None,
        "revoked_at": None,
        "revoke_confirmed_at": None,
        "recall_asked_at": None,
        "recall_due_at": None,
        "task_due_at": 1000,
    }
    return SimpleNamespace(**{**row, **changes})


def event(
    delivery_id: int, at: int, status: int, reason: str | None, recall: str | None = None
) -> SimpleNamespace:
    return SimpleNamespace(
        delivery_id=delivery_id, at=at, status=status, reason=reason, recall=recall
    )


def steps(trace) -> list[tuple[int, str, int | None]]:
    return [(s.at, s.event, s.delivery_id) for s in trace.steps]


def test_a_delivered_opened_and_recalled_message() -> None:
    trace = build_trace(
        message(revoked_at=5000),
        [
            delivery(
                1,
                status=Status.REVOKED,
                acked_at=1020,
                opened_at=3000,
                revoked_at=5000,
                revoke_confirmed_at=5010,
            )
        ],
        [],
        1,
    )
    assert steps(trace) == [
        (1000, "accepted", None),
        (1010, "resolved", 1),
        (1020, "acked", 1),
        (3000, "opened", 1),
        (5000, "revoked", 1),
        (5000, "revoked", None),
        (5010, "revoke_confirmed", 1),
    ]
    assert "after delivery" in trace.steps[4].detail
    assert trace.deliveries[0].status_name == "revoked"
    shown = trace.to_json()
    assert shown["taskId"] == "10" and shown["deliveries"][0]["ackedAt"] == 1020
    assert [s["event"] for s in shown["timeline"]][:2] == ["accepted", "resolved"]


def test_waiting_expired_and_vendor_errors() -> None:
    trace = build_trace(
        message(target="user_2"),
        [
            delivery(1, device_pk=None, token=None, platform=None, status=Status.EXPIRED),
            delivery(2, channel="hms", status=2009, reason="BadDeviceToken", attempts=2),
        ],
        [event(2, 1500, Status.PENDING, "503"), event(2, 2500, 2009, "BadDeviceToken")],
        5,  # and three more deliveries the trace does not list
    )
    assert steps(trace) == [
        (1000, "accepted", None),
        (1010, "waiting", 1),
        (1010, "resolved", 2),
        (1500, "retry", 2),
        (2500, "vendor_error", 2),
        (61_000, "expired", 1),
    ]
    assert "no device bound to user 'user_1'" in trace.steps[1].detail
    assert "2009: BadDeviceToken" in trace.steps[4].detail
    assert status_name(2009) == "vendor_error"
    assert (trace.delivery_count, len(trace.to_json()["deliveries"])) == (5, 2)


def test_a_vendor_accepted_and_a_scheduled_occurrence() -> None:
    trace = build_trace(
        message(strategy_type=1, due_at=9000),
        [delivery(1, task_id=11, task_due_at=9000, created_at=9001, channel="apns", sent_at=9002)],
        [],
        1,
    )
    assert steps(trace) == [
        (1000, "accepted", None),
        (9000, "fired", None),
        (9001, "resolved", 1),
        (9002, "sent", 1),
    ]
    assert "scheduled" in trace.steps[0].detail
    assert trace.steps[3].detail == "accepted by apns"


def test_a_withdrawn_delivery_says_it_was_never_sent() -> None:
    trace = build_trace(
        message(),
        [delivery(1, channel="hms", status=Status.REVOKED, revoked_at=2000)],
        [],
        1,
    )
    assert trace.steps[-1].detail == "revoked before delivery; withdrawn, never sent"


def test_a_delivery_a_vendor_took_back_says_so() -> None:
    trace = build_trace(
        message(),
        [delivery(1, channel="hms", status=Status.REVOKED, sent_at=1500, revoked_at=2000)],
        [],
        1,
    )
    assert trace.steps[-1].detail == "revoked after delivery; hms took it back"


def test_a_recall_asked_of_a_vendor_and_each_of_its_outcomes() -> None:
    """Asked back: a step when it was asked, then what the vendor answered, or while none is
    written, when it is asked again; taken back, its revoked step says so."""
    sent = {"channel": "harmonyos", "status": Status.ACKED, "sent_at": 1500}
    trace = build_trace(
        message(),
        [
            delivery(1, **sent, recall_asked_at=2000, recall_due_at=62_000),
            delivery(2, **sent, recall_asked_at=2000),
            delivery(3, **sent, recall_asked_at=2000),
            delivery(
                4, **{**sent, "status": Status.REVOKED}, recall_asked_at=2000, revoked_at=9000
            ),
        ],
        [
            event(1, 2100, 2707, "81000001 System internal error", recall="unreached"),
            event(2, 2100, 2703, "80300007 All the tokens are invalid", recall="refused"),
            event(3, 2100, 2707, "503", recall="unreached"),
            event(3, 9000, 2707, "503", recall="given_up"),
        ],
        4,
    )
    recall = [(at, name, i) for at, name, i in steps(trace) if at >= 2000]
    assert recall == [
        (2000, "recall_asked", 1),
        (2000, "recall_asked", 2),
        (2000, "recall_asked", 3),
        (2000, "recall_asked", 4),
        (2100, "recall_unreached", 1),
        (2100, "recall_refused", 2),
        (2100, "recall_unreached", 3),
        (9000, "revoked", 4),
        (9000, "recall_given_up", 3),
        (62_000, "recall_due", 1),
    ]
    details = {(s.event, s.delivery_id): s.detail for s in trace.steps}
    assert details["recall_asked", 1] == (
        "harmonyos asked to take it back; it stays delivered until it agrees"
    )
    assert details["recall_unreached", 1] == (
        "the vendor could not be reached to take it back; asked again later "
        "(status 2707: 81000001 System internal error)"
    )
    assert details["recall_refused", 2].startswith("the vendor would not take it back")
    assert details["recall_given_up", 3].startswith("the vendor could still not be reached")
    assert details["recall_due", 1] == "not answered yet: harmonyos is asked again from then on"
    assert details["revoked", 4] == "revoked after delivery; harmonyos took it back"
    assert trace.to_json()["deliveries"][0]["recallDueAt"] == 62_000


def test_the_sms_supplement_is_one_step_named_by_its_end() -> None:
    def sms(state: str, detail: str | None = None) -> SimpleNamespace:
        return SimpleNamespace(
            strategy=1, state=state, detail=detail, due_at=301_000, settled_at=302_000
        )

    def last(row: SimpleNamespace) -> tuple:
        step = build_trace(message(), [], [], 0, (), row).steps[-1]
        return step.at, step.event, step.detail

    assert last(sms("due")) == (
        301_000,
        "sms_due",
        "SMS supplement (when the push has not arrived) due",
    )
    assert last(sms("sent", "aliyun BizId 1^0"))[1:] == (
        "sms_sent",
        "SMS supplement (when the push has not arrived): aliyun BizId 1^0",
    )
    assert last(sms("failed", "aliyun isv.X: no"))[1] == "sms_failed"
    assert last(sms("skipped", "no phone number"))[1] == "sms_skipped"
    assert last(sms("arrived", "in time"))[1] == "sms_not_needed"
    assert build_trace(message(), [], [], 0).steps[-1].event == "accepted"
