"""StrategyType and StrategyContent rules, against a fixed clock: read from the wire by the API
(``read_timing``), judged by the schedule rules (``strategy_of``).

NOW is 2026-06-01 02:00:00 UTC: 10:00 on June 1 in Asia/Shanghai, 22:00 on May 31 in New York.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.hostile import hostile_text
from tidings.errors import Code, ServiceError
from tidings.openapi.strategy import read_timing
from tidings.schedule.strategy import LOOP, SCHEDULED, strategy_of

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC).timestamp()
SHANGHAI = "Asia/Shanghai"
SEED_JAVA_EXAMPLE = (
    '{"fixedTime":1630303126000,"startTime":1625673600000,"endTime":1630303126000,'
    '"circleType":1,"circleValue":[1, 7],"time":"13:45:11"}'
)


def ms(*moment: int) -> int:
    """Epoch milliseconds of a UTC date-time."""
    return int(datetime(*moment, tzinfo=UTC).timestamp()) * 1000


def shanghai_midnight(day: date) -> int:
    return ms(day.year, day.month, day.day) - 8 * 3600 * 1000


def loop(**overrides) -> str:
    body = {
        "startTime": shanghai_midnight(date(2026, 6, 1)),
        "endTime": shanghai_midnight(date(2026, 6, 30)),
        "circleType": 1,
        "time": "13:45:11",
    }
    body.update(overrides)
    return json.dumps({k: v for k, v in body.items() if v is not None})


def read(kind: str | None, content: str | None, timezone: str = SHANGHAI, now: float = NOW):
    return strategy_of(read_timing(kind, content), timezone=timezone, now=now)


def refused(kind: str | None, content: str | None, timezone: str = SHANGHAI) -> str:
    with pytest.raises(ServiceError) as caught:
        read(kind, content, timezone)
    assert caught.value.code is Code.INVALID_PARAM
    return caught.value.detail


@pytest.mark.parametrize("kind", [None, "", "0"])
def test_immediate_push_has_no_strategy(kind: str | None) -> None:
    assert read(kind, SEED_JAVA_EXAMPLE) is None


@pytest.mark.parametrize("kind", ["3", "-1", "x", "1.0"])
def test_unknown_strategy_type(kind: str) -> None:
    assert "StrategyType" in refused(kind, loop())


@pytest.mark.parametrize("content", [None, "", "  "])
@pytest.mark.parametrize("kind", ["1", "2"])
def test_content_is_required(kind: str, content: str | None) -> None:
    assert f"StrategyContent is required when StrategyType is {kind}" in refused(kind, content)


@pytest.mark.parametrize("content", ["{", "fixedTime=1", "[1]", '"x"', "[" * 5000])
def test_content_must_be_a_json_object(content: str) -> None:
    assert "StrategyContent" in refused("1", content)


def test_seed_java_example_as_a_loop_starts_in_the_past() -> None:
    detail = refused("2", SEED_JAVA_EXAMPLE)
    assert "startTime is 2021-07-08, before today (2026-06-01 in Asia/Shanghai)" in detail


def test_seed_java_example_as_a_fixed_time_is_in_the_past() -> None:
    detail = refused("1", SEED_JAVA_EXAMPLE)
    assert "fixedTime 2021-08-30 13:58:46 (Asia/Shanghai) is in the past" in detail


def test_fixed_time_in_the_future_truncated_to_the_second() -> None:
    strategy = read("1", json.dumps({"fixedTime": ms(2026, 6, 2, 8) + 999}))
    assert (strategy.type, strategy.fixed_time) == (SCHEDULED, ms(2026, 6, 2, 8))
    assert list(strategy.occurrences(SHANGHAI)) == [ms(2026, 6, 2, 8)]
    assert json.loads(strategy.to_json()) == {"fixedTime": ms(2026, 6, 2, 8)}


def test_fixed_time_as_a_digit_string_and_within_the_current_second() -> None:
    now_ms = int(NOW * 1000)
    assert read("1", json.dumps({"fixedTime": str(now_ms + 1)}), now=NOW + 0.5).fixed_time == now_ms
    assert "in the past" in refused("1", json.dumps({"fixedTime": now_ms - 1000}))


@pytest.mark.parametrize(
    "value", [None, -1, 1.5e12, True, "soon", "1" * 5000, "１２３", 10**20, [1], {}]
)
def test_fixed_time_must_be_epoch_milliseconds(value) -> None:
    body = json.dumps({} if value is None else {"fixedTime": value})
    assert "StrategyContent.fixedTime" in refused("1", body)


def test_daily_loop() -> None:
    strategy = read("2", loop())
    assert strategy.type == LOOP
    assert (strategy.start_day, strategy.end_day) == (date(2026, 6, 1), date(2026, 6, 30))
    assert (strategy.circle_type, strategy.circle_values, strategy.at) == (1, (), time(13, 45, 11))
    assert json.loads(strategy.to_json()) == {
        "startDay": "2026-06-01",
        "endDay": "2026-06-30",
        "circleType": 1,
        "circleValue": [],
        "time": "13:45:11",
    }
    occurrences = list(strategy.occurrences(SHANGHAI))
    assert len(occurrences) == 30
    assert occurrences[0] == ms(2026, 6, 1, 5, 45, 11)  # 13:45:11 in Shanghai


def test_days_are_taken_in_the_apps_time_zone() -> None:
    start = ms(2026, 5, 31, 12)  # May 31 in both zones, and today only in New York
    assert "before today (2026-06-01 in Asia/Shanghai)" in refused("2", loop(startTime=start))
    strategy = read("2", loop(startTime=start), timezone="America/New_York")
    assert strategy.start_day == date(2026, 5, 31)


def test_end_before_start() -> None:
    body = loop(
        endTime=shanghai_midnight(date(2026, 6, 10)), startTime=shanghai_midnight(date(2026, 6, 11))
    )
    assert "endTime is 2026-06-10, before startTime 2026-06-11" in refused("2", body)


def test_end_at_most_180_days_after_today() -> None:
    last = date(2026, 11, 28)  # 2026-06-01 + 180 days
    assert read("2", loop(endTime=shanghai_midnight(last))).end_day == last
    detail = refused("2", loop(endTime=shanghai_midnight(date(2026, 11, 29))))
    assert "endTime is 2026-11-29, more than 180 days after today" in detail
    assert "the last allowed day is 2026-11-28" in detail


@pytest.mark.parametrize("circle_type", [None, 0, 4, True, "1", [1]])
def test_circle_type(circle_type) -> None:
    assert "circleType must be 1 (daily), 2 (weekly) or 3 (monthly)" in refused(
        "2", loop(circleType=circle_type)
    )


@pytest.mark.parametrize(
    ("circle_type", "values", "said"),
    [
        (2, None, "circleValue is required: a list of weekdays 1-7"),
        (2, [], "circleValue is required"),
        (2, "1,7", "circleValue is required"),
        (2, [0], "circleValue holds 0; it takes weekdays 1-7"),
        (2, [8], "circleValue holds 8"),
        (2, ["1"], "circleValue holds '1'"),
        (2, [True], "circleValue holds True"),
        (3, [32], "circleValue holds 32; it takes month days 1-31"),
        (3, [0], "circleValue holds 0"),
        (3, [1.5], "circleValue holds 1.5"),
    ],
)
def test_circle_value(circle_type: int, values, said: str) -> None:
    assert said in refused("2", loop(circleType=circle_type, circleValue=values))


def test_weekly_and_monthly_values_sorted_and_unique() -> None:
    weekly = read("2", loop(circleType=2, circleValue=[7, 1, 7]))
    assert weekly.circle_values == (1, 7)
    monthly = read("2", loop(circleType=3, circleValue=[31, 15, 15]))
    assert monthly.circle_values == (15, 31)


def test_daily_loop_ignores_circle_value() -> None:
    assert read("2", loop(circleValue=[99])).circle_values == ()


@pytest.mark.parametrize(
    "value", [None, "24:00:00", "13:45", "1:02:03", "13:60:00", 134511, "13:45:11 "]
)
def test_time_of_day(value) -> None:
    assert "StrategyContent.time must be HH:mm:ss" in refused("2", loop(time=value))


def test_loop_without_any_occurrence_left() -> None:
    # 2026-06-01 is a Monday; a loop over that day alone on Sundays never fires
    one_day = shanghai_midnight(date(2026, 6, 1))
    body = loop(startTime=one_day, endTime=one_day, circleType=2, circleValue=[7])
    assert "no occurrence after now" in refused("2", body)
    # today only, at a time of day already past (10:00 in Shanghai now)
    assert "no occurrence after now" in refused(
        "2", loop(startTime=one_day, endTime=one_day, time="09:59:59")
    )
    assert read("2", loop(startTime=one_day, endTime=one_day, time="10:00:01"))


@pytest.mark.parametrize("moment", [253402300799000, 253402300799000 - 3600 * 1000])
@pytest.mark.parametrize("timezone", [SHANGHAI, "Pacific/Kiritimati", "America/New_York"])
def test_the_last_day_of_year_9999_is_refused_not_overflowing(moment: int, timezone: str) -> None:
    body = loop(startTime=moment, endTime=moment)
    assert "StrategyContent" in refused("2", body, timezone)


@settings(max_examples=300, deadline=None)
@given(hostile_text, st.sampled_from(["1", "2"]), st.sampled_from([SHANGHAI, "Etc/GMT-14"]))
def test_arbitrary_content_raises_only_service_errors(content: str, kind: str, zone: str) -> None:
    try:
        strategy = read(kind, content, zone)
    except ServiceError as exc:
        assert exc.code is Code.INVALID_PARAM
    else:
        assert strategy is not None and strategy.to_json()


numbers = st.integers(min_value=-(10**16), max_value=10**16) | st.sampled_from(
    [253402300799000, 253402300800000, 10**400]
)
values = numbers | st.floats() | st.text(max_size=8) | st.booleans() | st.none()


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "fixedTime": values,
            "startTime": values,
            "endTime": values,
            "circleType": st.integers(-1, 4) | values,
            "circleValue": st.lists(st.integers(-1, 32) | values, max_size=4) | values,
            "time": st.sampled_from(["00:00:00", "23:59:59", "12:00:00"]) | values,
        },
    ),
    st.sampled_from(["1", "2"]),
)
def test_arbitrary_fields_raise_only_service_errors(body: dict, kind: str) -> None:
    try:
        read(kind, json.dumps(body), "Etc/GMT-14")
    except ServiceError as exc:
        assert exc.code is Code.INVALID_PARAM
