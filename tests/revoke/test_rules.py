"""Revocation's pure rules: what a result says, which channels recall how, what a vendor's
answer to a recall makes of each delivery asked, and the 7-day limit."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tidings.contract import NotRecalled, Status
from tidings.errors import Code, ServiceError
from tidings.instants import DAY_MS
from tidings.revoke.rules import (
    RecallAnswer,
    Recalling,
    RecallRetry,
    RevokeResult,
    check_recent,
    read_id,
    vendor_answer,
)


def test_the_result_says_what_happened_as_json_text() -> None:
    data = RevokeResult(withdrawn=3, recalled=1, unrecallable=2, cancelled=4).to_data()
    assert json.loads(data) == {"Withdrawn": 3, "Recalled": 1, "Unrecallable": 2, "Cancelled": 4}


def test_devices_recall_at_once_vendors_only_when_asked_and_the_rest_not_at_all() -> None:
    def channel(can_recall: bool, asks_vendor: bool) -> SimpleNamespace:
        return SimpleNamespace(can_recall=can_recall, recall_asks_vendor=asks_vendor)

    recalling = Recalling.of(
        {
            "selfbuilt": channel(True, False),
            "hms": channel(True, True),
            "apns": channel(True, True),
            "oppo": channel(False, True),
        }
    )
    assert recalling == Recalling(frozenset({"selfbuilt"}), frozenset({"hms", "apns"}))


def test_a_vendor_s_retry_after_is_the_least_a_recall_waits() -> None:
    """As a send waits the longer of its backoff and the vendor's Retry-After
    (channels/retry.py), so does a recall asked again: a shorter one changes nothing, a longer
    one is waited whole, even beyond the hourly cap."""
    retry = RecallRetry(first_ms=60_000, cap_ms=3_600_000, window_ms=7 * DAY_MS)
    assert retry.after(None) is retry
    assert retry.after(5.0) is retry
    assert retry.after(600.5) == RecallRetry(600_500, 3_600_000, 7 * DAY_MS)
    assert retry.after(7200) == RecallRetry(7_200_000, 7_200_000, 7 * DAY_MS)


def test_a_delivery_is_recalled_only_if_its_vendor_was_asked_and_agreed() -> None:
    # 5 could not be sent (its task is gone); 9 was never asked, whatever the vendor says; 6's
    # vendor could not be reached: not recalled, to be asked again
    refused, unreached = NotRecalled(3, 2105, "no"), NotRecalled(6, 2107, "503", unreached=True)
    answer = vendor_answer([4, 1, 5, 3, 6], sent=[1, 3, 4, 6], kept=[refused, unreached])
    gone = NotRecalled(5, Status.ACKED, "its device or task is gone")
    assert answer == RecallAnswer(agreed=(1, 4), refused=(refused, gone), unreached=(unreached,))
    counted = RevokeResult(withdrawn=2, recalled=1, unrecallable=1, cancelled=3).answered(answer)
    assert counted == RevokeResult(
        withdrawn=2, recalled=3, unrecallable=4, cancelled=3, asking_again=1
    )
    assert json.loads(counted.to_data()) == {  # the answer's shape is MPS's, as before
        "Withdrawn": 2, "Recalled": 3, "Unrecallable": 4, "Cancelled": 3
    }  # fmt: skip
    assert vendor_answer([], sent=[], kept=[]) == RecallAnswer(())


def test_only_the_last_seven_days_can_be_revoked() -> None:
    now = 100 * DAY_MS
    check_recent(now - 7 * DAY_MS, now, "message 'k'")
    with pytest.raises(ServiceError) as caught:
        check_recent(now - 7 * DAY_MS - 1, now, "message 'k'")
    assert caught.value.code is Code.INVALID_PARAM
    assert "message 'k' was pushed more than 7 days ago" in caught.value.detail


@pytest.mark.parametrize(
    ("raw", "said"), [(None, "is required"), ("", "is required"), ("k" * 129, "longer than 128")]
)
def test_ids_are_required_and_bounded(raw: str | None, said: str) -> None:
    with pytest.raises(ServiceError, match=said):
        read_id(raw, "MessageId")
