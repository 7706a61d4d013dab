"""How often sign-in may be tried: a sliding window over recent failures, as a pure rule.

Failures are counted per username (slowing a guesser aiming at one account from many addresses)
and per client address (slowing one address trying many usernames). The failures live in the
database, so every process behind one PostgreSQL counts the same ones. An attempt counts as a
failure from the moment it is admitted, before its password is checked, so attempts sent at once
are counted as they arrive, not after their checks end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoginLimits:
    window_ms: int = 15 * 60 * 1000
    per_username: int = 5
    per_address: int = 20


def wait_ms(
    user_failures: Sequence[int],
    address_failures: Sequence[int],
    now_ms: int,
    limits: LoginLimits,
) -> int:
    """Milliseconds until another attempt may be made; 0 when one may be made now.

    Each sequence holds the times of failures within the window, oldest first. When a limit is
    reached, the wait lasts until enough of the oldest failures have left the window.
    """
    wait = 0
    for times, limit in (
        (user_failures, limits.per_username),
        (address_failures, limits.per_address),
    ):
        if len(times) >= limit:
            leaves = times[len(times) - limit] + limits.window_ms
            wait = max(wait, leaves - now_ms)
    return max(wait, 0)
