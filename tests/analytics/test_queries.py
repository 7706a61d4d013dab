"""The analysis actions' rules: day windows in the app's zone, the 90-day limit, filters, and the
figures with their rates in the two shapes the SDK reads."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tidings.analytics.queries import (
    Counts,
    day_bounds,
    read_filters,
    read_task_query,
)
from tidings.errors import Code, ServiceError
from tidings.instants import DAY_MS

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = int(datetime(2026, 6, 10, 12, tzinfo=SHANGHAI).timestamp() * 1000)


def filters(start=None, end=None, platform=None, channel=None, kind=None, task=None, **kw):
    options = {"timezone": "Asia/Shanghai", "now_ms": NOON, "window_required": False, **kw}
    return read_filters(start, end, platform, channel, kind, task, **options)


def refused(**changes) -> str:
    with pytest.raises(ServiceError) as caught:
        filters(**changes)
    assert caught.value.code is Code.INVALID_PARAM
    return caught.value.detail


def local(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, SHANGHAI)


def test_days_are_whole_days_in_the_apps_zone() -> None:
    found = filters(start=str(NOON), end=str(NOON))
    assert local(found.since_ms) == datetime(2026, 6, 10, tzinfo=SHANGHAI)
    assert local(found.until_ms) == datetime(2026, 6, 11, tzinfo=SHANGHAI)
    new_york = day_bounds(NOON, NOON, "America/New_York")  # 00:00 on 10 June there
    assert new_york[1] - new_york[0] == DAY_MS
    assert new_york != (found.since_ms, found.until_ms)


def test_an_open_window_is_the_last_seven_days() -> None:
    found = filters()
    assert local(found.until_ms) == datetime(2026, 6, 11, tzinfo=SHANGHAI)
    assert local(found.since_ms) == datetime(2026, 6, 4, tzinfo=SHANGHAI)


def test_window_rules() -> None:
    assert filters(start=str(NOON - 90 * DAY_MS), end=str(NOON))
    assert "at most 90 days" in refused(start=str(NOON - 90 * DAY_MS - 1), end=str(NOON))
    assert "StartTime" in refused(start=str(NOON + 1), end=str(NOON))
    assert "StartTime is required" in refused(end=str(NOON), window_required=True)
    assert "EndTime is required" in refused(start=str(NOON), window_required=True)
    assert "EndTime must be a whole number" in refused(end="soon")


def test_labels_are_read_in_any_case_and_checked() -> None:
    found = filters(platform="ios", channel="Hms", kind="broadcast", task="42")
    assert (found.platform, found.channel, found.action, found.task_id) == (
        "IOS",
        "HMS",
        "PushBroadcast",
        42,
    )
    assert "Platform must be one of ANDROID, IOS, HARMONYOS" in refused(platform="WINDOWS")
    assert "Channel" in refused(channel="APNS")
    assert "Type" in refused(kind="LOOP")
    assert "TaskId" in refused(task="12x")


def test_figures_and_rates() -> None:
    counts = Counts(pushed=10, successful=8, arrived=6, opened=2)
    assert counts.ignored == 4
    assert counts.core_index() == {
        "PushTotalNum": 10.0,
        "PushNum": 8.0,
        "ArrivalNum": 6.0,
        "ArrivalRate": 0.75,
        "OpenNum": 2.0,
        "OpenRate": 0.3333,
        "IgnoreNum": 4.0,
        "IgnoreRate": 0.6667,
    }
    text = counts.core_index_text()
    assert text["PushTotalNum"] == "10" and text["OpenRate"] == "0.3333"
    assert all(isinstance(v, str) for v in text.values())
    nothing = Counts(0, 0, 0, 0).core_index()
    assert set(nothing.values()) == {0.0}


def test_task_query() -> None:
    query = read_task_query("1000", None, "spring", None, None)
    assert (query.since_ms, query.name, query.page, query.size) == (1000, "spring", 1, 20)
    with pytest.raises(ServiceError, match="StartTime is required"):
        read_task_query(None, None, None, None, None)
    with pytest.raises(ServiceError, match="PageSize must be at most 500"):
        read_task_query("0", None, None, None, "501")
