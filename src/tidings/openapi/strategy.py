"""StrategyType and StrategyContent off the wire: their JSON read into a typed ``Timing``.

Only the shapes are checked here (a number where a number belongs, ``time`` as HH:mm:ss); the
rules of when a push may fire (not in the past, at most 180 days ahead, weekdays 1-7) are
``schedule.strategy.strategy_of``'s, which the console's plans go through as well.
"""

from __future__ import annotations

import json
import re
from datetime import time
from typing import Any

from tidings.errors import Code, ServiceError
from tidings.fields import read_int
from tidings.schedule.strategy import (
    IMMEDIATE,
    MONTHLY,
    SCHEDULED,
    WEEKLY,
    Timing,
    refused_circle_type,
    refused_circle_value,
    refused_instant,
)

_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d):([0-5]\d)")


def read_timing(strategy_type: str | None, content: str | None) -> Timing:
    """The timing a push call's StrategyType and StrategyContent describe."""
    kind = read_int(
        strategy_type, "StrategyType", Code.INVALID_PARAM, default=IMMEDIATE, allowed=(0, 1, 2)
    )
    if kind == IMMEDIATE:
        return Timing()
    if not content or not content.strip():
        raise _bad(f"StrategyContent is required when StrategyType is {kind}")
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        raise _bad("StrategyContent is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad("StrategyContent must be a JSON object")
    if kind == SCHEDULED:
        return Timing.once(_millis(body, "fixedTime"))
    start, end = _millis(body, "startTime"), _millis(body, "endTime")
    circle_type = body.get("circleType")
    if not isinstance(circle_type, int) or isinstance(circle_type, bool):
        raise refused_circle_type()
    values: tuple[int, ...] = ()
    if circle_type in (WEEKLY, MONTHLY):
        values = _circle_values(body.get("circleValue"), circle_type)
    return Timing.loop(start, end, circle_type, values, _time_of_day(body.get("time")))


def _millis(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise refused_instant(name, value)
    return value


def _circle_values(raw: Any, circle_type: int) -> tuple[int, ...]:
    if not isinstance(raw, list):
        raise refused_circle_value(circle_type, raw, missing=True)
    for value in raw:
        if not isinstance(value, int) or isinstance(value, bool):
            raise refused_circle_value(circle_type, value)
    return tuple(raw)


def _time_of_day(raw: Any) -> time:
    match = _TIME.fullmatch(raw) if isinstance(raw, str) else None
    if not match:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"StrategyContent.time must be HH:mm:ss, got {raw!r}",
            ("StrategyContent", "time"),
        )
    return time(int(match[1]), int(match[2]), int(match[3]))


def _bad(detail: str) -> ServiceError:
    return ServiceError(Code.INVALID_PARAM, detail, ("StrategyContent",))
