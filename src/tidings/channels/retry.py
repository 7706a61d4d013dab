"""Sending one delivery until it is settled: retries with backoff, within the message's validity.

Transient failures (a 5xx, a 429, a dropped connection) are retried with exponential backoff, or
after the vendor's Retry-After when it asks for longer. A few short waits happen here, while the
sender holds the delivery; after them, or as soon as a wait would be longer than ``hold``, the
delivery is handed back to delivery's retry sweep with the time of its next attempt, so a long
outage holds neither a task in memory nor a slot of the vendor's concurrency limit, and survives
a restart. A retry that would fall after the message expires is not made: the
delivery expires instead. A refused access token is refreshed and the request made again at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple

from tidings.channels.verdicts import Verdict
from tidings.contract import Status


@dataclass(frozen=True, slots=True)
class Backoff:
    first: float = 0.5
    factor: float = 2.0
    cap: float = 60.0
    attempts: int = 4  # made here before handing the delivery back to the sweep
    hold: float = 5.0  # the longest wait made here; a longer one goes to the sweep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after the ``attempt``-th failure (counted from 0)."""
        return max(min(self.cap, self.first * self.factor**attempt), retry_after or 0.0)


DEFAULT_BACKOFF = Backoff()


class Settled(NamedTuple):
    verdict: Verdict
    retry_at: float | None = None  # epoch seconds: still transient, try again from then on


async def send_with_retries(
    attempt: Callable[[], Awaitable[Verdict]],
    *,
    expires_at: float,
    refresh: Callable[[], None] = lambda: None,
    backoff: Backoff = DEFAULT_BACKOFF,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    first: Verdict | None = None,
) -> Settled:
    """Run ``attempt`` until it settles, the retries here are used up, or the message expires;
    ``first`` is the verdict of an attempt the caller made already (a sender first looks for the
    acceptance nearly every send gets at once, without the coroutine and closure this costs)."""
    reauthorised = False
    for number in range(backoff.attempts):
        verdict = first or await attempt()
        first = None
        if verdict.reauth and not reauthorised:
            reauthorised = True  # once: a second refusal means the credentials are wrong
            refresh()
            verdict = await attempt()
        if not verdict.retry:
            return Settled(verdict)
        wait = backoff.delay(number, verdict.retry_after)
        if clock() + wait >= expires_at:
            return Settled(verdict._replace(status=Status.EXPIRED, retry=False))
        if number + 1 == backoff.attempts or wait > backoff.hold:
            return Settled(verdict, clock() + wait)
        await sleep(wait)
    raise AssertionError("Backoff.attempts must be at least 1")
