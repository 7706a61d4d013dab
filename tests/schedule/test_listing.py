"""The scheduler actions' parameter rules and what they show, without a database."""

from __future__ import annotations

import pytest

from tidings.errors import ServiceError
from tidings.schedule.listing import (
    ListQuery,
    executed_status,
    read_list_query,
    read_unique_ids,
    shown_id,
)


def query(**given: str | None) -> ListQuery:
    fields = {
        "start_time": None,
        "end_time": None,
        "push_type": None,
        "unique_id": None,
        "page_number": None,
        "page_size": None,
    }
    fields.update(given)
    return read_list_query(**fields, window_required=False)


def refusal(**given: str | None) -> str:
    with pytest.raises(ServiceError) as refused:
        query(**given)
    assert refused.value.code.value_str == "3028"
    return refused.value.detail


def test_defaults_page_one_of_500_everything() -> None:
    assert query() == ListQuery(None, None, None, None, 1, 500)


def test_every_filter() -> None:
    found = query(
        start_time="1000",
        end_time="2000",
        push_type="2",
        unique_id="42",
        page_number="3",
        page_size="10",
    )
    assert found == ListQuery(1000, 2000, frozenset({"PushMultiple"}), 42, 3, 10)
    assert query(push_type="0").actions == frozenset({"PushSimple"})


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"start_time": "2000", "end_time": "1000"}, "StartTime 2000 is after EndTime 1000"),
        ({"start_time": "-1"}, "StartTime must be at least 0"),
        ({"end_time": "soon"}, "EndTime must be a whole number"),
        ({"push_type": "4"}, "Type must be one of 0, 1, 2, 3"),
        ({"unique_id": "56918166720e46e1"}, "UniqueId: '56918166720e46e1' is not the id"),
        ({"page_number": "0"}, "PageNumber must be at least 1"),
        ({"page_size": "501"}, "PageSize must be at most 500"),
    ],
)
def test_refusals_name_the_field(given: dict[str, str], said: str) -> None:
    assert said in refusal(**given)


WINDOW = [("start_time", "StartTime"), ("end_time", "EndTime")]


@pytest.mark.parametrize(("missing", "name"), WINDOW)
def test_query_push_scheduler_list_needs_its_window(missing: str, name: str) -> None:
    given: dict[str, str | None] = dict.fromkeys(
        ("push_type", "unique_id", "page_number", "page_size")
    )
    given.update(start_time="1", end_time="2")
    given[missing] = None
    with pytest.raises(ServiceError, match=f"{name} is required"):
        read_list_query(**given, window_required=True)


def test_unique_ids_comma_separated_each_once() -> None:
    assert read_unique_ids("3,1, 2,3,") == [3, 1, 2]
    for raw, said in [
        (None, "UniqueIds is required"),
        (" , ", "UniqueIds is required"),
        ("1,x", "UniqueIds: 'x' is not the id"),
        (",".join(["1"] * 501), "UniqueIds lists 501 ids; at most 500"),
    ]:
        with pytest.raises(ServiceError, match=said):
            read_unique_ids(raw)


def test_executed_status() -> None:
    assert [executed_status(s) for s in ("pending", "accepted", "dispatched")] == ["0", "1", "1"]
    assert [executed_status(s) for s in ("cancelled", "skipped")] == ["2", "3"]


def test_a_scheduled_push_is_listed_under_its_own_id_a_loop_occurrence_under_its() -> None:
    assert shown_id(task_id=8, parent_id=7, strategy_type=1) == 7
    assert shown_id(task_id=8, parent_id=7, strategy_type=2) == 8
