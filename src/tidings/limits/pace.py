"""How slowly a request body may arrive: a minimum rate, with some slack.

A deadline for the whole body would cut off an honest upload on a slow link, and a limit on the
gap between reads alone lets a client hold a connection for ever by sending a byte every few
seconds. So the body keeps a deadline that every byte moves on by 1/``min_rate`` seconds, but
never more than ``slack`` seconds past now: a client that keeps to the rate on average is never
late, one that stalls is late ``slack`` seconds after its last burst, and one that trickles is
late after a little more than ``slack`` seconds, whatever the size of its body. Pure
arithmetic on the times it is given; the connection's protocol keeps the timer.
"""

from __future__ import annotations


class BodyPace:
    """The deadline of one request body, moved on by what arrives."""

    __slots__ = ("_rate", "_slack", "due")

    def __init__(self, min_rate: float, slack: float, now: float) -> None:
        self._rate = min_rate
        self._slack = slack
        self.due = now + slack

    def arrived(self, size: int, now: float) -> None:
        """``size`` bytes of the body arrived at ``now``."""
        self.due = min(self.due + size / self._rate, now + self._slack)

    def excuse(self, now: float) -> None:
        """The server, not the client, held the body up until ``now`` (it stopped reading while
        the application caught up, or has yet to ask for a body sent on ``Expect:
        100-continue``): the client gets its slack afresh."""
        self.due = max(self.due, now + self._slack)

    def late(self, now: float) -> bool:
        return now >= self.due
