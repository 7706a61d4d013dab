"""The composer's scheduling fields as StrategyType and StrategyContent in the app's zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tidings.console.scheduling import ScheduleProblem, When, strategy


def ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp()) * 1000


def test_now_has_no_strategy() -> None:
    assert strategy(When(), "Asia/Shanghai") == ("0", None)


def test_once_is_the_local_time_in_the_apps_zone() -> None:
    kind, content = strategy(When(mode="once", at="2027-03-10T09:30"), "Asia/Shanghai")
    assert kind == "1"
    assert json.loads(content) == {"fixedTime": ms(2027, 3, 10, 1, 30)}
    _, berlin = strategy(When(mode="once", at="2027-07-01T09:30:15"), "Europe/Berlin")
    assert json.loads(berlin) == {"fixedTime": ms(2027, 7, 1, 7, 30, 15)}


def test_a_loop_gives_its_days_as_local_midnights_and_its_time_of_day() -> None:
    when = When(
        mode="loop",
        start_day="2027-03-10",
        end_day="2027-03-20",
        time="08:05",
        circle="weekly",
        weekdays=("5", "1", "1"),
    )
    kind, content = strategy(when, "America/New_York")
    assert kind == "2"
    assert json.loads(content) == {
        "startTime": ms(2027, 3, 10, 5, 0),
        "endTime": ms(2027, 3, 20, 4, 0),  # New York moved to summer time on the 14th
        "circleType": 2,
        "circleValue": [1, 5],
        "time": "08:05:00",
    }


def test_a_monthly_loop_reads_its_days_from_a_list() -> None:
    when = When(
        mode="loop",
        start_day="2027-03-01",
        end_day="2027-05-01",
        time="07:00:00",
        circle="monthly",
        month_days="15, 1,31",
    )
    content = json.loads(strategy(when, "Asia/Shanghai")[1])
    assert (content["circleType"], content["circleValue"]) == (3, [1, 15, 31])
    daily = When(mode="loop", start_day="2027-03-01", end_day="2027-03-02", time="07:00")
    assert "circleValue" not in json.loads(strategy(daily, "Asia/Shanghai")[1])


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
        strategy(when, "Asia/Shanghai")
    assert problem.value.field == field
