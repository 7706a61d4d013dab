"""Chart geometry: bars scaled to the largest value, lines on a round axis from zero."""

from __future__ import annotations

from tidings.console.charts import bar_chart, line_chart


def test_bars_are_scaled_to_the_largest_value_and_stacked() -> None:
    chart = bar_chart(
        [("delivered", 30), ("expired", 15), ("opened", 0)], width=460, label_width=100
    )
    room = 460 - 100 - 60
    assert [(b.label, b.value, b.width) for b in chart.bars] == [
        ("delivered", 30, room),
        ("expired", 15, room / 2),
        ("opened", 0, 0),
    ]
    assert [b.y for b in chart.bars] == [10, 42, 74]
    assert chart.height == 10 + 3 * 32


def test_all_zero_or_no_bars_draw_without_dividing_by_zero() -> None:
    assert [b.width for b in bar_chart([("a", 0)]).bars] == [0]
    assert bar_chart([]).bars == ()


def test_lines_share_a_round_axis_and_span_the_width() -> None:
    chart = line_chart(
        ["00", "01", "02"], [("arrived", [0, 7, 3]), ("opened", [0, 2, 1])], width=244, height=128
    )
    # 7 rounds up to 10; the plot spans x 44..232 and y 12..100.
    assert [t.label for t in chart.y_ticks] == ["0", "5", "10"]
    assert chart.series[0].points == "44.0,100.0 138.0,38.4 232.0,73.6"
    assert [s.total for s in chart.series] == [10, 3]
    assert [(t.position, t.label) for t in chart.x_ticks] == [(44, "00"), (138, "01"), (232, "02")]


def test_long_axes_label_every_few_buckets() -> None:
    labels = [f"{h:02}" for h in range(24)]
    chart = line_chart(labels, [("arrived", [1] * 24)], max_x_labels=8)
    assert [t.label for t in chart.x_ticks] == ["00", "03", "06", "09", "12", "15", "18", "21"]
    assert [t.label for t in chart.y_ticks] == ["0", "1", "2"]
