"""The sign-in rate limit as a pure rule: failures per username and per address in a window."""

from __future__ import annotations

from tidings.console.throttle import LoginLimits, wait_ms

LIMITS = LoginLimits(window_ms=60_000, per_username=3, per_address=5)


def test_under_both_limits_there_is_no_wait() -> None:
    assert wait_ms([], [], 1000, LIMITS) == 0
    assert wait_ms([1, 2], [1, 2, 3, 4], 1000, LIMITS) == 0


def test_at_the_username_limit_the_wait_lasts_until_the_oldest_failure_leaves() -> None:
    # Failures at 10 s, 20 s, 30 s; the first leaves the window at 70 s.
    assert wait_ms([10_000, 20_000, 30_000], [], 40_000, LIMITS) == 30_000
    assert wait_ms([10_000, 20_000, 30_000], [], 69_999, LIMITS) == 1
    assert wait_ms([10_000, 20_000, 30_000], [], 70_000, LIMITS) == 0


def test_past_the_limit_enough_failures_must_leave_to_get_under_it() -> None:
    failures = [10_000, 20_000, 30_000, 40_000, 50_000]  # two more than allowed
    assert wait_ms(failures, [], 55_000, LIMITS) == 30_000 + 60_000 - 55_000


def test_the_address_limit_counts_across_usernames_and_the_longer_wait_wins() -> None:
    by_address = [1_000, 2_000, 3_000, 4_000, 5_000]
    assert wait_ms([], by_address, 6_000, LIMITS) == 55_000
    assert wait_ms([4_000, 5_000, 5_500], by_address, 6_000, LIMITS) == 58_000
