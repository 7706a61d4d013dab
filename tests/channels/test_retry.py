"""The send loop's decisions, with a fake clock: backoff, Retry-After, hand-back, expiry, reauth."""

from __future__ import annotations

from tidings.channels.access_tokens import CachedToken
from tidings.channels.retry import Backoff, send_with_retries
from tidings.channels.verdicts import ACCEPTED, Verdict
from tidings.contract import Status

BUSY = Verdict(2020, "ServiceUnavailable", retry=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def answers(*verdicts: Verdict):
    queue = list(verdicts)

    async def attempt() -> Verdict:
        return queue.pop(0)

    return attempt


async def test_backoff_grows_until_success() -> None:
    clock = Clock()
    settled = await send_with_retries(
        answers(BUSY, BUSY, ACCEPTED), expires_at=2000, clock=clock, sleep=clock.sleep
    )
    assert settled.verdict == ACCEPTED and settled.retry_at is None
    assert clock.waits == [0.5, 1.0]


async def test_retry_after_wins_when_longer() -> None:
    clock = Clock()
    slow = BUSY._replace(retry_after=3.0)
    await send_with_retries(
        answers(slow, ACCEPTED), expires_at=2000, clock=clock, sleep=clock.sleep
    )
    assert clock.waits == [3.0]


async def test_long_waits_and_used_up_attempts_go_back_to_the_sweep() -> None:
    clock = Clock()
    settled = await send_with_retries(
        answers(BUSY._replace(retry_after=120.0)), expires_at=5000, clock=clock, sleep=clock.sleep
    )
    assert settled.retry_at == 1120.0 and clock.waits == []
    clock = Clock()
    settled = await send_with_retries(
        answers(BUSY, BUSY), expires_at=5000, backoff=Backoff(attempts=2), clock=clock,
        sleep=clock.sleep,
    )  # fmt: skip
    assert clock.waits == [0.5] and settled.retry_at == clock.now + 1.0


async def test_no_retry_past_expiry() -> None:
    clock = Clock()
    settled = await send_with_retries(
        answers(BUSY), expires_at=1000.3, clock=clock, sleep=clock.sleep
    )
    assert settled.verdict.status == Status.EXPIRED and settled.retry_at is None


async def test_final_refusal_is_not_retried() -> None:
    refused = Verdict(2009, "BadDeviceToken")
    settled = await send_with_retries(answers(refused), expires_at=2000, clock=Clock())
    assert settled.verdict == refused


async def test_refused_access_token_is_refreshed_once() -> None:
    refreshed: list[int] = []
    expired = Verdict(2202, "token expired", reauth=True)
    settled = await send_with_retries(
        answers(expired, ACCEPTED), expires_at=2000, refresh=lambda: refreshed.append(1)
    )
    assert settled.verdict == ACCEPTED and refreshed == [1]
    settled = await send_with_retries(
        answers(expired, expired), expires_at=2000, refresh=lambda: refreshed.append(1)
    )
    assert settled.verdict == expired and refreshed == [1, 1]  # wrong credentials: give up


async def test_an_attempt_made_already_counts_as_the_first() -> None:
    """A sender that made the first attempt itself hands its verdict over: the loop goes on
    from it (waits, then tries again) and never repeats it."""
    clock = Clock()
    settled = await send_with_retries(
        answers(ACCEPTED), expires_at=2000, clock=clock, sleep=clock.sleep, first=BUSY
    )
    assert settled.verdict == ACCEPTED and clock.waits == [0.5]
    refused = Verdict(2010, "DeviceTokenNotForTopic")
    settled = await send_with_retries(answers(), expires_at=2000, clock=clock, first=refused)
    assert settled.verdict == refused  # settled: no attempt made


async def test_token_fetched_once_and_renewed_before_expiry() -> None:
    clock = Clock()
    fetched: list[str] = []

    async def fetch() -> tuple[str, float]:
        fetched.append(f"t{len(fetched)}")
        return fetched[-1], 3600.0

    token = CachedToken(fetch, margin=60.0, clock=clock)
    assert token.current() is None  # none fetched yet: get fetches one
    assert [await token.get() for _ in range(3)] == ["t0"] * 3
    clock.now += 3539
    assert token.current() == "t0" and await token.get() == "t0"
    clock.now += 2
    assert token.current() is None
    assert await token.get() == "t1"
    token.invalidate()
    assert token.current() is None
    assert await token.get() == "t2"
