"""StrategyType and StrategyContent: when a push fires, as pure rules and a pure calendar.

StrategyType 0 pushes now, 1 once at ``fixedTime``, 2 in a loop: daily, weekly (``circleValue``
holds weekdays, 1 = Monday) or monthly (month days) at ``time``, from 0:00 of the start day to
24:00 of the end day. Days are taken in the app's time zone. A monthly day a month lacks (the 31st
in April) is skipped that month, not moved. The loop may not start before today, end before it
starts, or end more than ``max_loop_days`` after today.

Daylight saving time follows the rule java.time applies to a local date-time, since that is what
MPS callers know: a loop time that falls in a gap (02:30 on the spring-forward day in New York)
fires as late as the gap is long (03:30 local, the same instant as 02:30 standard time); a loop time
that happens twice (01:30 on the fall-back day) fires once, at the first of the two.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tidings.errors import Code, FieldPath, ServiceError
from tidings.instants import LATEST_MS

IMMEDIATE, SCHEDULED, LOOP = 0, 1, 2
DAILY, WEEKLY, MONTHLY = 1, 2, 3


@dataclass(frozen=True, slots=True)
class Strategy:
    """A validated schedule: a fixed instant, or a loop over whole days."""

    type: int
    fixed_time: int | None = None  # epoch ms, whole seconds
    start_day: date | None = None
    end_day: date | None = None
    circle_type: int | None = None
    circle_values: tuple[int, ...] = ()
    at: time | None = None

    def to_json(self) -> str:
        if self.type == SCHEDULED:
            body: dict[str, Any] = {"fixedTime": self.fixed_time}
        else:
            assert self.start_day and self.end_day and self.at
            body = {
                "startDay": self.start_day.isoformat(),
                "endDay": self.end_day.isoformat(),
                "circleType": self.circle_type,
                "circleValue": list(self.circle_values),
                "time": self.at.isoformat(),
            }
        return json.dumps(body, separators=(",", ":"), sort_keys=True)

    def occurrences(self, timezone: str) -> Iterator[int]:
        """Every instant (epoch ms) the strategy fires at, in order."""
        if self.type == SCHEDULED:
            assert self.fixed_time is not None
            yield self.fixed_time
            return
        assert self.start_day and self.end_day and self.at
        zone = ZoneInfo(timezone)
        for day in self._days():
            if self.start_day <= day <= self.end_day:
                yield _instant(day, self.at, zone)

    def upcoming(self, timezone: str, now_ms: int) -> list[int]:
        """The occurrences still to come: those at or after the second ``now_ms`` falls in.

        Occurrences are whole seconds, and a ``fixedTime`` within the current second is not in
        the past (``strategy_of`` allows it), so the second is the unit of "now".
        """
        second = _second_of(now_ms)
        return [t for t in self.occurrences(timezone) if t >= second]

    def next_after(self, timezone: str, now_ms: int) -> int | None:
        """The first occurrence still to come (see ``upcoming``), or None when none is left."""
        return next(iter(self.upcoming(timezone, now_ms)), None)

    def _days(self) -> Iterator[date]:
        """The days the loop fires on, stepping by its own unit, from its first week or month."""
        assert self.start_day and self.end_day
        first, last = self.start_day, self.end_day
        if self.circle_type == WEEKLY:
            monday = first - timedelta(days=first.weekday())
            while monday <= last:
                for weekday in self.circle_values:
                    yield monday + timedelta(days=weekday - 1)
                monday += timedelta(weeks=1)
        elif self.circle_type == MONTHLY:
            year, month = first.year, first.month
            while date(year, month, 1) <= last:
                length = calendar.monthrange(year, month)[1]
                for day in self.circle_values:
                    if day <= length:  # the 31st in April: skipped, not moved
                        yield date(year, month, day)
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        else:
            day = first
            while day <= last:
                yield day
                day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Timing:
    """When a push should fire, as typed values not yet judged: what both edges build (the API
    from StrategyType and StrategyContent, the console from its form) and ``strategy_of`` judges.

    Loop days are given as instants (epoch ms) and taken as days in the app's time zone.
    """

    kind: int = IMMEDIATE
    fixed_time: int | None = None  # epoch ms
    start_time: int | None = None  # epoch ms, any instant of the first day
    end_time: int | None = None  # epoch ms, any instant of the last day
    circle_type: int | None = None
    circle_values: tuple[int, ...] = ()
    at: time | None = None

    @classmethod
    def once(cls, fixed_time: int) -> Timing:
        return cls(SCHEDULED, fixed_time=fixed_time)

    @classmethod
    def loop(
        cls, start_time: int, end_time: int, circle_type: int, values: tuple[int, ...], at: time
    ) -> Timing:
        return cls(LOOP, None, start_time, end_time, circle_type, values, at)


def strategy_of(
    timing: Timing, *, timezone: str, now: float, max_loop_days: int = 180
) -> Strategy | None:
    """The strategy a push asks for, judged against ``now``, or None for an immediate push."""
    if timing.kind == IMMEDIATE:
        return None
    zone = ZoneInfo(timezone)
    if timing.kind == SCHEDULED:
        assert timing.fixed_time is not None
        return _scheduled(timing.fixed_time, zone, now)
    strategy = _loop(timing, zone, now, max_loop_days)
    if strategy.next_after(timezone, int(now * 1000)) is None:
        raise _bad(
            "the loop has no occurrence after now: no day in it matches circleValue",
            ("StrategyContent", "circleValue"),
        )
    return strategy


def refused_instant(name: str, value: object) -> ServiceError:
    """The refusal of a loop or fixed time that is not epoch milliseconds from 0 to LATEST_MS."""
    if isinstance(value, int) and not isinstance(value, bool) and value > LATEST_MS:
        return _bad(f"StrategyContent.{name} is out of range: {value}", ("StrategyContent", name))
    return _bad(
        f"StrategyContent.{name} is required: epoch milliseconds, got {value!r}",
        ("StrategyContent", name),
    )


def refused_circle_type() -> ServiceError:
    return _bad(
        "StrategyContent.circleType must be 1 (daily), 2 (weekly) or 3 (monthly)",
        ("StrategyContent", "circleType"),
    )


def refused_circle_value(circle_type: int, value: object, *, missing: bool = False) -> ServiceError:
    """The refusal of a weekly or monthly loop's ``circleValue`` (missing, or one ``value``)."""
    kind = "weekdays 1-7 (1 = Monday)" if circle_type == WEEKLY else "month days 1-31"
    if missing:
        return _bad(
            f"StrategyContent.circleValue is required: a list of {kind}",
            ("StrategyContent", "circleValue"),
        )
    return _bad(
        f"StrategyContent.circleValue holds {value!r}; it takes {kind}",
        ("StrategyContent", "circleValue"),
    )


def _scheduled(fixed: int, zone: ZoneInfo, now: float) -> Strategy:
    _check_instant("fixedTime", fixed)
    fixed -= fixed % 1000  # the documentation: milliseconds, accurate to the second
    if fixed < _second_of(int(now * 1000)):
        raise _bad(
            f"StrategyContent.fixedTime {_show(fixed, zone)} is in the past",
            ("StrategyContent", "fixedTime"),
        )
    return Strategy(type=SCHEDULED, fixed_time=fixed)


def _loop(timing: Timing, zone: ZoneInfo, now: float, max_days: int) -> Strategy:
    assert timing.start_time is not None and timing.end_time is not None and timing.at is not None
    start = _day(_check_instant("startTime", timing.start_time), zone)
    end = _day(_check_instant("endTime", timing.end_time), zone)
    today = datetime.fromtimestamp(now, zone).date()
    zone_name = zone.key
    if start < today:
        raise _bad(
            f"StrategyContent.startTime is {start.isoformat()}, before today "
            f"({today.isoformat()} in {zone_name})",
            ("StrategyContent", "startTime"),
        )
    if end < start:
        raise _bad(
            f"StrategyContent.endTime is {end.isoformat()}, before startTime {start.isoformat()}",
            ("StrategyContent", "endTime"),
        )
    last = today + timedelta(days=max_days)
    if end > last:
        raise _bad(
            f"StrategyContent.endTime is {end.isoformat()}, more than {max_days} days after "
            f"today (the last allowed day is {last.isoformat()} in {zone_name})",
            ("StrategyContent", "endTime"),
        )
    circle_type = timing.circle_type
    if circle_type not in (DAILY, WEEKLY, MONTHLY) or isinstance(circle_type, bool):
        raise refused_circle_type()
    values: tuple[int, ...] = ()
    if circle_type != DAILY:
        values = _circle_values(timing.circle_values, circle_type)
    return Strategy(
        type=LOOP,
        start_day=start,
        end_day=end,
        circle_type=circle_type,
        circle_values=values,
        at=timing.at.replace(microsecond=0),
    )


def _check_instant(name: str, value: int) -> int:
    if not 0 <= value <= LATEST_MS:
        raise refused_instant(name, value)
    return value


def _second_of(millis: int) -> int:
    return millis - millis % 1000


def _instant(day: date, at: time, zone: ZoneInfo) -> int:
    """Epoch ms of ``at`` on ``day`` in ``zone``; gaps and folds as the module docstring says.

    ``fold=0`` gives exactly that: the offset in force before a transition, so a time in a gap
    lands after it, and the earlier of two repeated times.
    """
    return int(datetime.combine(day, at, tzinfo=zone).timestamp()) * 1000


def _day(millis: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(millis / 1000, UTC).astimezone(zone).date()


def _circle_values(raw: tuple[int, ...], circle_type: int) -> tuple[int, ...]:
    if not raw:
        raise refused_circle_value(circle_type, None, missing=True)
    highest = 7 if circle_type == WEEKLY else 31
    for value in raw:
        if not 1 <= value <= highest:
            raise refused_circle_value(circle_type, value)
    return tuple(sorted(set(raw)))


def _show(millis: int, zone: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(millis / 1000, UTC).astimezone(zone)
    return f"{moment:%Y-%m-%d %H:%M:%S} ({zone.key})"


def _bad(detail: str, path: FieldPath) -> ServiceError:
    return ServiceError(Code.INVALID_PARAM, detail, path)
