"""The composer's "when" fields, in the app's time zone, as a schedule ``Timing``.

An operator picks a local date and time (or a range of days and a time of day); the push rules
(``schedule.strategy.strategy_of``) then judge the timing exactly as they judge an API call's, so
the console adds no scheduling rules of its own. Only input the browser could not have produced (a
date that is not a date) is refused here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

from tidings.schedule.strategy import Timing

T = TypeVar("T")

NOW, ONCE, LOOP = "now", "once", "loop"
CIRCLES = {"daily": 1, "weekly": 2, "monthly": 3}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Where the push rules' messages about StrategyContent belong in the form.
FIELDS = {
    "StrategyContent.fixedTime": "at",
    "StrategyContent.startTime": "start_day",
    "StrategyContent.endTime": "end_day",
    "StrategyContent.circleType": "circle",
    "StrategyContent.circleValue": "circle_values",
    "StrategyContent.time": "time",
    "StrategyContent": "when",
    "StrategyType": "when",
}


class ScheduleProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class When:
    """The form's scheduling fields as submitted."""

    mode: str = NOW
    at: str = ""  # datetime-local: 2027-03-10T09:30 (seconds optional)
    start_day: str = ""  # 2027-03-10
    end_day: str = ""
    circle: str = "daily"
    weekdays: tuple[str, ...] = ()  # "1".."7", 1 = Monday
    month_days: str = ""  # "1, 15, 28"
    time: str = ""  # 09:30 or 09:30:00


def timing(when: When, timezone: str) -> Timing:
    """When the push fires, for the push call."""
    zone = ZoneInfo(timezone)
    if when.mode == NOW:
        return Timing()
    if when.mode == ONCE:
        moment = _parse(datetime.fromisoformat, when.at, "at", "a date and time")
        return Timing.once(int(moment.replace(tzinfo=zone).timestamp()) * 1000)
    if when.mode != LOOP:
        raise ScheduleProblem("when", f"choose now, once or a loop, not {when.mode!r}")
    first = _parse(date.fromisoformat, when.start_day, "start_day", "a first day")
    last = _parse(date.fromisoformat, when.end_day, "end_day", "a last day")
    at = _parse(time.fromisoformat, when.time, "time", "a time of day")
    circle = CIRCLES.get(when.circle)
    if circle is None:
        raise ScheduleProblem("circle", "choose daily, weekly or monthly")
    values: tuple[int, ...] = ()
    if circle == CIRCLES["weekly"]:
        values = _numbers(when.weekdays, "circle_values", "weekdays")
    elif circle == CIRCLES["monthly"]:
        days = [d for d in when.month_days.replace(" ", "").split(",") if d]
        values = _numbers(days, "circle_values", "days of the month")
    return Timing.loop(_midnight(first, zone), _midnight(last, zone), circle, values, at)


def _midnight(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(), tzinfo=zone).timestamp()) * 1000


def _parse(reader: Callable[[str], T], raw: str, field: str, what: str) -> T:
    if not raw.strip():
        raise ScheduleProblem(field, f"give {what}")
    try:
        return reader(raw.strip())
    except ValueError:
        raise ScheduleProblem(field, f"{raw[:40]!r} is not {what}") from None


def _numbers(raw: tuple[str, ...] | list[str], field: str, what: str) -> tuple[int, ...]:
    if not raw:
        raise ScheduleProblem(field, f"choose at least one of the {what}")
    if not all(v.isascii() and v.isdigit() and len(v) < 4 for v in raw):
        raise ScheduleProblem(field, f"the {what} must be whole numbers, separated by commas")
    return tuple(sorted({int(v) for v in raw}))
