"""Page numbers for long tables: which rows a page shows and which pages to link to."""

from __future__ import annotations

from dataclasses import dataclass

PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Paging:
    number: int  # 1-based, clamped to the pages there are
    size: int
    total: int

    @classmethod
    def of(cls, raw_number: str | None, total: int, size: int = PAGE_SIZE) -> Paging:
        """The page a query parameter asks for, within the pages there are."""
        pages = max(1, -(-total // size))
        return cls(min(asked(raw_number), pages), size, total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first_row(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and those near the current one; None marks
        a gap."""
        keep = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        shown = sorted(n for n in keep if 1 <= n <= self.pages)
        out: list[int | None] = []
        for n in shown:
            if out and out[-1] is not None and n - out[-1] > 1:
                out.append(None)
            out.append(n)
        return out


def asked(raw_number: str | None) -> int:
    """The page number a query parameter asks for; anything unreadable is the first page."""
    if raw_number and raw_number.isascii() and raw_number.isdigit() and len(raw_number) < 10:
        return max(int(raw_number), 1)
    return 1
