"""Retry waits: doubling from the base, capped, each shortened by a random share up to half."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tidings.webhooks.backoff import Backoff


def test_waits_double_up_to_the_cap() -> None:
    backoff = Backoff(base_seconds=5, cap_seconds=60)
    waits = [backoff.delay_ms(n, lambda: 1.0) for n in range(1, 8)]
    assert waits == [5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]


@given(attempts=st.integers(1, 10_000), share=st.floats(0, 1))
def test_jitter_keeps_each_wait_between_half_and_all_of_it(attempts: int, share: float) -> None:
    backoff = Backoff(base_seconds=5, cap_seconds=3600)
    full = backoff.delay_ms(attempts, lambda: 1.0)
    assert full / 2 <= backoff.delay_ms(attempts, lambda: share) <= full


def test_events_are_given_up_after_the_retry_period() -> None:
    backoff = Backoff(retry_seconds=60)
    assert not backoff.gives_up(created_at=0, now_ms=59_999)
    assert backoff.gives_up(created_at=0, now_ms=60_000)
