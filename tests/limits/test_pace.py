"""A body's pace: the rate kept on average never makes it late; a stall or a trickle does, a
little after the slack, whatever the body's size."""

from __future__ import annotations

from tidings.limits.pace import BodyPace


def test_a_body_at_the_rate_is_never_late_however_long() -> None:
    pace = BodyPace(min_rate=1000, slack=2, now=0)
    for second in range(1, 600):
        pace.arrived(1000, second)
        assert not pace.late(second)


def test_a_trickle_is_late_soon_after_the_slack() -> None:
    pace = BodyPace(min_rate=1000, slack=2, now=0)
    second = 0
    while not pace.late(second):
        second += 1
        pace.arrived(1, second)
    assert second == 3  # 2 s of slack, plus 3 ms earned


def test_credit_is_capped_at_the_slack_so_a_burst_buys_no_long_pause() -> None:
    pace = BodyPace(min_rate=1000, slack=2, now=0)
    pace.arrived(1_000_000, 0)  # a thousand seconds' worth at once
    assert pace.due == 2
    assert pace.late(2)


def test_time_the_server_held_the_body_up_is_excused() -> None:
    pace = BodyPace(min_rate=1000, slack=2, now=0)
    pace.excuse(30)  # reading paused while the application caught up
    assert not pace.late(31)
    assert pace.late(32)
