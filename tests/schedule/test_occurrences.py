"""The loop calendar against a brute-force walk over every day, in zones with and without DST.

The reference below decides each day on its own and converts the local time to an instant with
java.time's rule, computed from the zone's offsets alone: a time in a DST gap moves later by the
gap's length, a time that happens twice fires at the first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.schedule.strategy import DAILY, LOOP, MONTHLY, WEEKLY, Strategy

ZONES = ("Asia/Shanghai", "America/New_York", "Europe/Berlin")


def offset_at(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def java_instant(day: date, at: time, zone: ZoneInfo) -> int:
    local = datetime.combine(day, at)
    as_utc = local.replace(tzinfo=UTC)
    before = offset_at(as_utc - timedelta(days=1), zone)
    after = offset_at(as_utc + timedelta(days=1), zone)
    valid = [
        as_utc - offset
        for offset in {before, after}
        if (as_utc - offset).astimezone(zone).replace(tzinfo=None) == local
    ]
    instant = min(valid) if valid else as_utc - before  # in a gap: the offset before it
    return int(instant.timestamp()) * 1000


def brute_force(strategy: Strategy, timezone: str) -> list[int]:
    zone = ZoneInfo(timezone)
    fired = []
    day = strategy.start_day
    while day <= strategy.end_day:
        if (
            strategy.circle_type == DAILY
            or (strategy.circle_type == WEEKLY and day.isoweekday() in strategy.circle_values)
            or (strategy.circle_type == MONTHLY and day.day in strategy.circle_values)
        ):
            fired.append(java_instant(day, strategy.at, zone))
        day += timedelta(days=1)
    return fired


def loop(start: date, end: date, circle_type: int, values: tuple[int, ...], at: time) -> Strategy:
    return Strategy(LOOP, None, start, end, circle_type, values, at)


circles = st.one_of(
    st.tuples(st.just(DAILY), st.just(())),
    st.tuples(
        st.just(WEEKLY), st.sets(st.integers(1, 7), min_size=1).map(lambda s: tuple(sorted(s)))
    ),
    st.tuples(
        st.just(MONTHLY),
        st.sets(st.integers(1, 31) | st.integers(28, 31), min_size=1).map(
            lambda s: tuple(sorted(s))
        ),
    ),
)
times = st.builds(
    time,
    st.sampled_from([0, 1, 2, 3, 12, 23]) | st.integers(0, 23),
    st.sampled_from([0, 30, 59]),
    st.sampled_from([0, 59]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.dates(date(2024, 1, 1), date(2031, 12, 31)),
    st.integers(0, 180),
    circles,
    times,
)
def test_occurrences_match_a_day_by_day_walk(
    timezone: str, start: date, days: int, circle: tuple, at: time
) -> None:
    strategy = loop(start, start + timedelta(days=days), circle[0], circle[1], at)
    assert list(strategy.occurrences(timezone)) == brute_force(strategy, timezone)


def test_month_days_a_month_lacks_are_skipped_not_moved() -> None:
    strategy = loop(date(2027, 1, 1), date(2027, 4, 30), MONTHLY, (29, 30, 31), time(9))
    fired = [
        datetime.fromtimestamp(t / 1000, ZoneInfo("Asia/Shanghai")).date()
        for t in strategy.occurrences("Asia/Shanghai")
    ]
    assert fired == [
        date(2027, 1, 29),
        date(2027, 1, 30),
        date(2027, 1, 31),
        date(2027, 3, 29),
        date(2027, 3, 30),
        date(2027, 3, 31),
        date(2027, 4, 29),
        date(2027, 4, 30),
    ]
    leap = loop(date(2028, 2, 1), date(2028, 3, 1), MONTHLY, (29,), time(9))
    assert len(list(leap.occurrences("Asia/Shanghai"))) == 1


@pytest.mark.parametrize(
    ("timezone", "day", "at", "utc"),
    [
        ("America/New_York", date(2027, 3, 14), time(2, 30), datetime(2027, 3, 14, 7, 30)),
        ("America/New_York", date(2027, 11, 7), time(1, 30), datetime(2027, 11, 7, 5, 30)),
        ("Europe/Berlin", date(2027, 3, 28), time(2, 30), datetime(2027, 3, 28, 1, 30)),
        ("Europe/Berlin", date(2027, 10, 31), time(2, 30), datetime(2027, 10, 31, 0, 30)),
        ("Asia/Shanghai", date(2027, 3, 14), time(2, 30), datetime(2027, 3, 13, 18, 30)),
    ],
    ids=["ny-gap", "ny-fold", "berlin-gap", "berlin-fold", "shanghai"],
)
def test_dst_gaps_and_folds(timezone: str, day: date, at: time, utc: datetime) -> None:
    strategy = loop(day, day, DAILY, (), at)
    expected = int(utc.replace(tzinfo=UTC).timestamp()) * 1000
    assert list(strategy.occurrences(timezone)) == [expected]
    assert java_instant(day, at, ZoneInfo(timezone)) == expected
