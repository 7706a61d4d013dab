"""When to try a failed batch again: exponential backoff with jitter, for a bounded period.

Pure arithmetic; the random source is passed in so tests can pin it. The n-th retry waits
``base * 2**(n-1)`` seconds, capped at ``cap``, times a random factor between 0.5 and 1
("equal jitter"), so endpoints that failed together do not all come back at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 5.0
    cap_seconds: float = 3600.0
    retry_seconds: float = 3 * 86400.0  # after this long without success an event is dropped

    def delay_ms(self, attempts: int, random: Callable[[], float]) -> int:
        """How long to wait after the ``attempts``-th failed attempt."""
        exponent = min(max(attempts - 1, 0), 40)
        delay = min(self.cap_seconds, self.base_seconds * 2**exponent)
        return int(delay * (0.5 + random() / 2) * 1000)

    def gives_up(self, created_at: int, now_ms: int) -> bool:
        return now_ms - created_at >= self.retry_seconds * 1000
