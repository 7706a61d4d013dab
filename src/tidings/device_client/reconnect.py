"""When and where a device connects again: pure arithmetic, tested without a socket.

A device that knows several servers tries the next one after each lost connection: the one it
was on is likely stopping (1001) or gone. While some server in the list has not been tried since
the last good connection, the wait is short (a random share of the minimum), so the devices of a
stopped node spread over the others within a second instead of all at once. Once every server
has failed in turn, the wait doubles per round up to the maximum, with "equal jitter" (half
fixed, half random) so thousands of devices do not retry in step.
"""

from __future__ import annotations

from collections.abc import Callable


def next_server(index: int, count: int) -> int:
    """The server to try after the one at ``index`` (round robin)."""
    return (index + 1) % count


def delay(
    failures: int,
    servers: int,
    min_backoff: float,
    max_backoff: float,
    random: Callable[[], float],
) -> float:
    """Seconds to wait before the next attempt, after ``failures`` in a row (0: a connection
    that worked has just closed)."""
    if failures < servers:
        return min_backoff * random()
    rounds = min(failures // servers, 64)  # past 64 doublings any cap is reached
    ceiling = min(max_backoff, min_backoff * 2**rounds)
    return ceiling / 2 + ceiling / 2 * random()
