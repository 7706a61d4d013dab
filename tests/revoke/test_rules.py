"""Revocation's pure rules: what a result says, and the 7-day limit."""

from __future__ import annotations

import json

import pytest

from tidings.errors import Code, ServiceError
from tidings.instants import DAY_MS
from tidings.revoke.rules import RevokeResult, check_recent, read_id


def test_the_result_says_what_happened_as_json_text() -> None:
    data = RevokeResult(withdrawn=3, recalled=1, unrecallable=2, cancelled=4).to_data()
    assert json.loads(data) == {"Withdrawn": 3, "Recalled": 1, "Unrecallable": 2, "Cancelled": 4}


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
