"""Charts as geometry: the numbers a page template needs to draw an inline SVG.

Drawing happens in the page template (templates/_charts.html); this module only decides where
each bar, point and label goes, so it is tested without a browser and no script is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    y: float
    width: float


@dataclass(frozen=True, slots=True)
class BarChart:
    """Horizontal bars, one per label, scaled to the largest value."""

    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int
    bar_height: int


def bar_chart(
    items: Sequence[tuple[str, int]], *, width: int = 560, label_width: int = 200
) -> BarChart:
    bar_height, gap = 22, 10
    room = width - label_width - 60  # the value is written after the bar
    top = max((value for _, value in items), default=0) or 1
    bars = tuple(
        Bar(label, value, gap + i * (bar_height + gap), room * value / top)
        for i, (label, value) in enumerate(items)
    )
    height = gap + len(items) * (bar_height + gap)
    return BarChart(bars, width, height, label_width, bar_height)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    points: str  # "x,y x,y ..." for a polyline
    total: int


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class LineChart:
    """Counts per time bucket, one line per series, over a shared axis starting at zero."""

    series: tuple[Series, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    width: int
    height: int
    left: int
    bottom: int


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 640,
    height: int = 240,
    max_x_labels: int = 8,
) -> LineChart:
    """``labels`` name the buckets along the x axis; each series has one count per bucket."""
    left, right, top, bottom = 44, 12, 12, height - 28
    top_value = max((max(values, default=0) for _, values in series), default=0)
    ceiling = _round_up(top_value)
    span = max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + (width - left - right) * i / span

    def y(value: int) -> float:
        return bottom - (bottom - top) * value / ceiling

    lines = tuple(
        Series(name, " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values)), sum(values))
        for name, values in series
    )
    step = max(1, -(-len(labels) // max_x_labels))
    x_ticks = tuple(Tick(x(i), labels[i]) for i in range(0, len(labels), step))
    y_ticks = tuple(Tick(y(v), str(v)) for v in (0, ceiling // 2, ceiling))
    return LineChart(lines, x_ticks, y_ticks, width, height, left, bottom)


def _round_up(value: int) -> int:
    """A round axis maximum at or above ``value``: 1, 2, 5, 10, 20, 50, ..."""
    ceiling = 1
    while ceiling < value:
        for factor in (2, 5 / 2, 2):
            ceiling = int(ceiling * factor)
            if ceiling >= value:
                break
    return max(ceiling, 2)
