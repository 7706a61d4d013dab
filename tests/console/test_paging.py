"""Page numbers for long tables."""

from __future__ import annotations

import pytest

from tidings.console.paging import Paging


@pytest.mark.parametrize(
    ("raw", "total", "number"),
    [
        (None, 0, 1),
        ("3", 100, 3),
        ("9", 45, 3),
        ("0", 45, 1),
        ("-1", 45, 1),
        ("x", 45, 1),
        ("٣", 45, 1),
        ("99999999999999999999", 45, 1),
    ],
)
def test_the_asked_page_is_clamped_to_the_pages_there_are(
    raw: str | None, total: int, number: int
) -> None:
    assert Paging.of(raw, total, size=20).number == number


def test_rows_of_a_page() -> None:
    paging = Paging.of("3", 45, size=20)
    assert (paging.pages, paging.offset, paging.first_row, paging.last_row) == (3, 40, 41, 45)
    empty = Paging.of("1", 0, size=20)
    assert (empty.pages, empty.first_row, empty.last_row) == (1, 0, 0)


def test_the_window_keeps_the_ends_and_the_neighbours_and_marks_gaps() -> None:
    assert Paging(1, 10, 30).window() == [1, 2, 3]
    assert Paging(10, 10, 200).window() == [1, None, 8, 9, 10, 11, 12, None, 20]
    assert Paging(4, 10, 200).window() == [1, 2, 3, 4, 5, 6, None, 20]
