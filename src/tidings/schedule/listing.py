"""The scheduler actions' parameters and what they show, as pure rules.

QueryPushSchedulerList and QueryMpsSchedulerList list occurrences (one per push for a scheduled
push, one per day the loop fires for a loop), filtered by their trigger time, the push action
(``Type``) and a ``UniqueId`` that names a scheduled push (all its occurrences) or one occurrence.
CancelPushScheduler takes such ids, comma-separated.

``ExecutedStatus`` extends the documented "0" (not yet run) and "1" (run) with "2" (cancelled) and
"3" (skipped: its validity ran out while no server was running).
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.errors import Code, ServiceError
from tidings.fields import read_instant, read_int
from tidings.schedule import strategy
from tidings.tasks import CANCELLED, PENDING, SKIPPED

# The documented Type of each push action.
PUSH_TYPES = {"PushSimple": 0, "PushTemplate": 1, "PushMultiple": 2, "PushBroadcast": 3}
MAX_PAGE_SIZE = 500
MAX_CANCEL_IDS = 500
NOT_EXECUTED, EXECUTED, CANCELLED_STATUS, SKIPPED_STATUS = "0", "1", "2", "3"
_STATUS = {PENDING: NOT_EXECUTED, CANCELLED: CANCELLED_STATUS, SKIPPED: SKIPPED_STATUS}


@dataclass(frozen=True, slots=True)
class ListQuery:
    since: int | None
    until: int | None
    actions: frozenset[str] | None
    task_id: int | None
    page: int
    size: int
    waiting_only: bool = False


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence as the list actions show it."""

    unique_id: int
    parent_id: int
    name: str
    push_time: int
    title: str
    content: str
    push_type: int
    delivery_type: int
    strategy_type: int
    executed_status: str
    created_at: int


def read_list_query(
    start_time: str | None,
    end_time: str | None,
    push_type: str | None,
    unique_id: str | None,
    page_number: str | None,
    page_size: str | None,
    *,
    window_required: bool,
) -> ListQuery:
    since = read_instant(start_time, "StartTime", Code.INVALID_PARAM)
    until = read_instant(end_time, "EndTime", Code.INVALID_PARAM)
    if window_required:
        for name, value in (("StartTime", since), ("EndTime", until)):
            if value is None:
                raise ServiceError(
                    Code.INVALID_PARAM, f"{name} is required: epoch milliseconds of trigger time"
                )
    if since is not None and until is not None and since > until:
        raise ServiceError(
            Code.INVALID_PARAM, f"StartTime {since} is after EndTime {until}: the window is empty"
        )
    page = read_int(page_number, "PageNumber", Code.INVALID_PARAM, default=1, minimum=1)
    size = read_int(
        page_size,
        "PageSize",
        Code.INVALID_PARAM,
        default=MAX_PAGE_SIZE,
        minimum=1,
        maximum=MAX_PAGE_SIZE,
    )
    assert page is not None and size is not None
    task_id = read_task_id(unique_id, "UniqueId") if unique_id else None
    return ListQuery(since, until, read_actions(push_type), task_id, page, size)


def read_actions(push_type: str | None) -> frozenset[str] | None:
    """The push actions a ``Type`` selects; None when it is absent (every action)."""
    value = read_int(push_type, "Type", Code.INVALID_PARAM, allowed=sorted(PUSH_TYPES.values()))
    if value is None:
        return None
    return frozenset(action for action, number in PUSH_TYPES.items() if number == value)


def read_task_id(raw: str, field: str) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"{field}: {raw[:40]!r} is not the id of a scheduled push or of one of its occurrences",
        )
    return int(text)


def read_unique_ids(raw: str | None) -> list[int]:
    """CancelPushScheduler's ``UniqueIds``: comma-separated ids, each once, in order."""
    parts = [part for part in (raw or "").split(",") if part.strip()]
    if not parts:
        raise ServiceError(Code.INVALID_PARAM, "UniqueIds is required: comma-separated ids")
    if len(parts) > MAX_CANCEL_IDS:
        raise ServiceError(
            Code.INVALID_PARAM, f"UniqueIds lists {len(parts)} ids; at most {MAX_CANCEL_IDS}"
        )
    return list(dict.fromkeys(read_task_id(part, "UniqueIds") for part in parts))


def executed_status(state: str) -> str:
    """An occurrence's ExecutedStatus: any state past ``pending`` but these two means it ran."""
    return _STATUS.get(state, EXECUTED)


def shown_id(task_id: int, parent_id: int, strategy_type: int) -> int:
    """The UniqueId an occurrence is listed under.

    MPS lists a scheduled push (one occurrence) under the id its push call returned, and a loop's
    occurrences under ids of their own.
    """
    return parent_id if strategy_type == strategy.SCHEDULED else task_id
