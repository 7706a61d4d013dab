"""Instants callers give are bounded to year 9999 wherever they are read, so an absurd one is a
3028 naming the field, not a database overflow answered with a 500."""

from __future__ import annotations

import pytest

from tidings.analytics.queries import read_filters, read_task_query
from tidings.delivery.audience import Window
from tidings.errors import Code, ServiceError
from tidings.fields import LATEST_MS, read_instant
from tidings.openapi.pushcalls import instant
from tidings.push.broadcast import read_window
from tidings.schedule.listing import read_list_query

HUGE = "99999999999999999999"


def test_read_instant_bounds() -> None:
    assert read_instant(str(LATEST_MS), "StartTime", Code.INVALID_PARAM) == LATEST_MS
    assert read_instant("", "StartTime", Code.INVALID_PARAM) is None
    for raw in (str(LATEST_MS + 1), HUGE, "-1"):
        with pytest.raises(ServiceError, match="StartTime must be"):
            read_instant(raw, "StartTime", Code.INVALID_PARAM)


@pytest.mark.parametrize(
    "read",
    [
        lambda: read_list_query(HUGE, HUGE, None, None, None, None, window_required=True),
        lambda: read_filters(
            HUGE, HUGE, None, None, None, None, timezone="UTC", now_ms=0, window_required=True
        ),
        lambda: read_task_query(HUGE, None, None, None, None),
        lambda: read_window(
            1, None, "BindPeriod", instant(HUGE, "BindStartTime"), instant(HUGE, "BindEndTime")
        ),
    ],
)
def test_every_reader_refuses_past_year_9999(read) -> None:
    with pytest.raises(ServiceError) as caught:
        read()
    assert caught.value.code is Code.INVALID_PARAM
    assert "StartTime must be at most" in caught.value.detail


def test_an_explicit_window_up_to_the_limit_is_fine() -> None:
    window = read_window(
        1, None, "BindPeriod", instant("0", "BindStartTime"), instant(str(LATEST_MS), "BindEndTime")
    )
    assert window == Window(since=0, until=LATEST_MS)
