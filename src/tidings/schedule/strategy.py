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
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tidings.errors import Code, FieldPath, ServiceError
from tidings.fields import read_int
from tidings.instants import LATEST_MS

IMMEDIATE, SCHEDULED, LOOP = 0, 1, 2
DAILY, WEEKLY, MONTHLY = 1, 2, 3
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d):([0-5]\d)")


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
        the past (``read_strategy`` allows it), so the second is the unit of "now".
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


def read_strategy(
    strategy_type: str | None,
    content: str | None,
    *,
    timezone: str,
    now: float,
    max_loop_days: int = 180,
) -> Strategy | None:
    """The strategy a push asks for, or None for an immediate push."""
    kind = read_int(
        strategy_type, "StrategyType", Code.INVALID_PARAM, default=IMMEDIATE, allowed=(0, 1, 2)
    )
    if kind == IMMEDIATE:
        return None
    if not content or not content.strip():
        raise _bad(f"StrategyContent is required when StrategyType is {kind}", ("StrategyContent",))
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        raise _bad("StrategyContent is not valid JSON", ("StrategyContent",)) from None
    if not isinstance(body, dict):
        raise _bad("StrategyContent must be a JSON object", ("StrategyContent",))
    zone = ZoneInfo(timezone)
    if kind == SCHEDULED:
        return _scheduled(body, zone, now)
    strategy = _loop(body, zone, now, max_loop_days)
    if strategy.next_after(timezone, int(now * 1000)) is None:
        raise _bad(
            "the loop has no occurrence after now: no day in it matches circleValue",
            ("StrategyContent", "circleValue"),
        )
    return strategy


def _scheduled(body: dict[str, Any], zone: ZoneInfo, now: float) -> Strategy:
    fixed = _millis(body, "fixedTime")
    fixed -= fixed % 1000  # the documentation: milliseconds, accurate to the second
    if fixed < _second_of(int(now * 1000)):
        raise _bad(
            f"StrategyContent.fixedTime {_show(fixed, zone)} is in the past",
            ("StrategyContent", "fixedTime"),
        )
    return Strategy(type=SCHEDULED, fixed_time=fixed)


def _loop(body: dict[str, Any], zone: ZoneInfo, now: float, max_days: int) -> Strategy:
    start = _day(_millis(body, "startTime"), zone)
    end = _day(_millis(body, "endTime"), zone)
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
    circle_type = body.get("circleType")
    if circle_type not in (DAILY, WEEKLY, MONTHLY) or isinstance(circle_type, bool):
        raise _bad(
            "StrategyContent.circleType must be 1 (daily), 2 (weekly) or 3 (monthly)",
            ("StrategyContent", "circleType"),
        )
    values: tuple[int, ...] = ()
    if circle_type != DAILY:
        values = _circle_values(body.get("circleValue"), 7 if circle_type == WEEKLY else 31)
    return Strategy(
        type=LOOP,
        start_day=start,
        end_day=end,
        circle_type=circle_type,
        circle_values=values,
        at=_time_of_day(body.get("time")),
    )


def _millis(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _bad(
            f"StrategyContent.{name} is required: epoch milliseconds, got {value!r}",
            ("StrategyContent", name),
        )
    if value > LATEST_MS:
        raise _bad(f"StrategyContent.{name} is out of range: {value}", ("StrategyContent", name))
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


def _circle_values(raw: Any, highest: int) -> tuple[int, ...]:
    kind = "weekdays 1-7 (1 = Monday)" if highest == 7 else "month days 1-31"
    if not isinstance(raw, list) or not raw:
        raise _bad(
            f"StrategyContent.circleValue is required: a list of {kind}",
            ("StrategyContent", "circleValue"),
        )
    for value in raw:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= highest:
            raise _bad(
                f"StrategyContent.circleValue holds {value!r}; it takes {kind}",
                ("StrategyContent", "circleValue"),
            )
    return tuple(sorted(set(raw)))


def _time_of_day(raw: Any) -> time:
    match = _TIME.fullmatch(raw) if isinstance(raw, str) else None
    if not match:
        raise _bad(
            f"StrategyContent.time must be HH:mm:ss, got {raw!r}", ("StrategyContent", "time")
        )
    return time(int(match[1]), int(match[2]), int(match[3]))


def _show(millis: int, zone: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(millis / 1000, UTC).astimezone(zone)
    return f"{moment:%Y-%m-%d %H:%M:%S} ({zone.key})"


def _bad(detail: str, path: FieldPath) -> ServiceError:
    return ServiceError(Code.INVALID_PARAM, detail, path)
