"""The composer's scheduling fields as a schedule ``Timing`` in the app's zone."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from tidings.console.scheduling import ScheduleProblem, When, timing
from tidings.errors import ServiceError
from tidings.schedule.strategy import LOOP, Timing, strategy_of


def ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp()) * 1000


def test_now_has_no_strategy() -> None:
    assert timing(When(), "Asia/Shanghai") == Timing()


def test_once_is_the_local_time_in_the_apps_zone() -> None:
    shanghai = timing(When(mode="once", at="2027-03-10T09:30"), "Asia/Shanghai")
    assert shanghai == Timing.once(ms(2027, 3, 10, 1, 30))
    berlin = timing(When(mode="once", at="2027-07-01T09:30:15"), "Europe/Berlin")
    assert berlin == Timing.once(ms(2027, 7, 1, 7, 30, 15))


def test_a_loop_gives_its_days_as_local_midnights_and_its_time_of_day() -> None:
    when = When(
        mode="loop",
        start_day="2027-03-10",
        end_day="2027-03-20",
        time="08:05",
        circle="weekly",
        weekdays=("5", "1", "1"),
    )
    assert timing(when, "America/New_York") == Timing(
        LOOP,
        start_time=ms(2027, 3, 10, 5, 0),
        end_time=ms(2027, 3, 20, 4, 0),  # New York moved to summer time on the 14th
        circle_type=2,
        circle_values=(1, 5),
        at=time(8, 5),
    )


def test_a_monthly_loop_reads_its_days_from_a_list() -> None:
    when = When(
        mode="loop",
        start_day="2027-03-01",
        end_day="2027-05-01",
        time="07:00:00",
        circle="monthly",
        month_days="15, 1,31",
    )
    monthly = timing(when, "Asia/Shanghai")
    assert (monthly.circle_type, monthly.circle_values) == (3, (1, 15, 31))
    daily = When(mode="loop", start_day="2027-03-01", end_day="2027-03-02", time="07:00")
    assert timing(daily, "Asia/Shanghai").circle_values == ()


@pytest.mark.parametrize(
    ("when", "field", "message"),
    [
        (When(mode="once"), "at", "give a date and time"),
        (When(mode="once", at="tomorrow"), "at", "'tomorrow' is not a date and time"),
        (When(mode="loop", end_day="2027-01-02", time="08:00"), "start_day", "give a first day"),
        (When(mode="loop", start_day="2027-01-01", time="8"), "end_day", "give a last day"),
        (
            When(mode="loop", start_day="2027-01-01", end_day="2027-01-02", time="25:00"),
            "time",
            "'25:00' is not a time of day",
        ),
        (
            When(
                mode="loop",
                start_day="2027-01-01",
                end_day="2027-01-02",
                time="08:00",
                circle="weekly",
            ),
            "circle_values",
            "choose at least one of the weekdays",
        ),
        (
            When(
                mode="loop",
                start_day="2027-01-01",
                end_day="2027-01-02",
                time="08:00",
                circle="monthly",
                month_days="1,x",
            ),
            "circle_values",
            "whole numbers",
        ),
        (
            When(
                mode="loop",
                start_day="2027-01-01",
                end_day="2027-01-02",
                time="08:00",
                circle="hourly",
            ),
            "circle",
            "choose daily, weekly or monthly",
        ),
        (When(mode="sometimes"), "when", "choose now, once or a loop"),
    ],
)
def test_input_no_browser_would_send_is_refused_with_its_field(
    when: When, field: str, message: str
) -> None:
    with pytest.raises(ScheduleProblem, match=message) as problem:
        timing(when, "Asia/Shanghai")
    assert problem.value.field == field


def test_the_plan_is_judged_by_the_same_rules_as_an_api_call() -> None:
    when = When(mode="loop", start_day="2027-03-10", end_day="2027-03-20", time="08:05")
    later = datetime(2027, 3, 12, tzinfo=UTC).timestamp()
    with pytest.raises(ServiceError) as refused:
        strategy_of(timing(when, "Asia/Shanghai"), timezone="Asia/Shanghai", now=later)
    assert refused.value.path == ("StrategyContent", "startTime")
    assert "startTime is 2027-03-10, before today (2027-03-12" in refused.value.detail
    earlier = datetime(2027, 3, 1, tzinfo=UTC).timestamp()
    judged = strategy_of(timing(when, "Asia/Shanghai"), timezone="Asia/Shanghai", now=earlier)
    assert judged is not None and len(list(judged.occurrences("Asia/Shanghai"))) == 11
