"""The analysis actions' parameters and results, as pure rules.

Windows have day precision in the app's time zone: ``StartTime`` and ``EndTime`` name days, and
the window runs from the start of the first to the end of the last, at most 90 days apart. The
figures are MPS's: pushes (deliveries made), successful pushes (acknowledged by the device or
accepted by a vendor), arrivals (acknowledged by the device or by a vendor receipt), opens, and
ignores (arrived and not opened), with arrival rate = arrivals / successful pushes, open and
ignore rates over arrivals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from tidings.analytics.labels import CHANNELS, PLATFORMS, TYPES
from tidings.errors import Code, ServiceError
from tidings.fields import read_instant, read_int, read_task_id
from tidings.instants import ANALYTICS_WINDOW_DAYS, DAY_MS

DEFAULT_WINDOW_DAYS = 7
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Filters:
    since_ms: int  # inclusive, the start of a day in the app's zone
    until_ms: int  # exclusive, the start of the day after the last
    platform: str | None
    channel: str | None
    action: str | None
    task_id: int | None


@dataclass(frozen=True, slots=True)
class Counts:
    pushed: int
    successful: int
    arrived: int
    opened: int

    @property
    def ignored(self) -> int:
        return max(self.arrived - self.opened, 0)

    @property
    def rates(self) -> tuple[float, float, float]:
        """Arrival, open and ignore rates, as fractions (0 where nothing was there to count)."""
        return (
            _ratio(self.arrived, self.successful),
            _ratio(self.opened, self.arrived),
            _ratio(self.ignored, self.arrived),
        )

    def core_index(self) -> dict[str, float]:
        """QueryPushAnalysisCoreIndex's ``Data``: every figure a float."""
        arrival, opening, ignoring = self.rates
        return {
            "PushTotalNum": float(self.pushed),
            "PushNum": float(self.successful),
            "ArrivalNum": float(self.arrived),
            "ArrivalRate": arrival,
            "OpenNum": float(self.opened),
            "OpenRate": opening,
            "IgnoreNum": float(self.ignored),
            "IgnoreRate": ignoring,
        }

    def core_index_text(self) -> dict[str, str]:
        """ListAnalysisCoreIndex's ``Data``: the same figures, every one a string."""
        return {
            key: str(int(value)) if key.endswith("Num") else repr(value)
            for key, value in self.core_index().items()
        }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def read_filters(
    start_time: str | None,
    end_time: str | None,
    platform: str | None,
    channel: str | None,
    push_type: str | None,
    task_id: str | None,
    *,
    timezone: str,
    now_ms: int,
    window_required: bool,
) -> Filters:
    start = read_instant(start_time, "StartTime", Code.INVALID_PARAM)
    end = read_instant(end_time, "EndTime", Code.INVALID_PARAM)
    if window_required:
        for name, value in (("StartTime", start), ("EndTime", end)):
            if value is None:
                raise ServiceError(Code.INVALID_PARAM, f"{name} is required: epoch milliseconds")
    if end is None:
        end = now_ms
    if start is None:
        start = end - (DEFAULT_WINDOW_DAYS - 1) * DAY_MS
    if start > end:
        raise ServiceError(
            Code.INVALID_PARAM, f"StartTime {start} is after EndTime {end}: the window is empty"
        )
    if end - start > ANALYTICS_WINDOW_DAYS * DAY_MS:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"EndTime is {(end - start) / DAY_MS:.1f} days after StartTime; "
            f"a window spans at most {ANALYTICS_WINDOW_DAYS} days",
        )
    since, until = day_bounds(start, end, timezone)
    return Filters(
        since,
        until,
        _label(platform, "Platform", tuple(PLATFORMS.values())),
        _label(channel, "Channel", CHANNELS),
        TYPES[label] if (label := _label(push_type, "Type", tuple(TYPES))) else None,
        read_task_id(task_id) if task_id else None,
    )


def day_bounds(start_ms: int, end_ms: int, timezone: str) -> tuple[int, int]:
    """The start of ``start_ms``'s day and the start of the day after ``end_ms``'s, in the zone."""
    zone = ZoneInfo(timezone)
    first = datetime.fromtimestamp(start_ms / 1000, zone).date()
    last = datetime.fromtimestamp(end_ms / 1000, zone).date() + timedelta(days=1)
    return (
        int(datetime.combine(first, time(), zone).timestamp() * 1000),
        int(datetime.combine(last, time(), zone).timestamp() * 1000),
    )


def _label(raw: str | None, field: str, allowed: tuple[str, ...]) -> str | None:
    if raw is None or raw.strip() == "":
        return None
    label = raw.strip().upper()
    if label not in allowed:
        raise ServiceError(
            Code.INVALID_PARAM, f"{field} must be one of {', '.join(allowed)}, got {raw[:40]!r}"
        )
    return label


@dataclass(frozen=True, slots=True)
class TaskQuery:
    since_ms: int
    task_id: int | None
    name: str | None
    page: int
    size: int


def read_task_query(
    start_time: str | None,
    task_id: str | None,
    task_name: str | None,
    page_number: str | None,
    page_size: str | None,
) -> TaskQuery:
    since = read_instant(start_time, "StartTime", Code.INVALID_PARAM)
    if since is None:
        raise ServiceError(Code.INVALID_PARAM, "StartTime is required: epoch milliseconds")
    page = read_int(
        page_number, "PageNumber", Code.INVALID_PARAM, default=1, minimum=1, maximum=10**9
    )
    size = read_int(
        page_size,
        "PageSize",
        Code.INVALID_PARAM,
        default=DEFAULT_PAGE_SIZE,
        minimum=1,
        maximum=MAX_PAGE_SIZE,
    )
    assert page is not None and size is not None
    return TaskQuery(
        since, read_task_id(task_id) if task_id else None, task_name or None, page, size
    )
