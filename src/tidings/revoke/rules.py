"""What revoking does to each delivery, and the limits on what may be revoked, as pure rules.

A delivery still waiting (for its device to connect, or for a user to bind one) is withdrawn:
it will never be sent. One the device acknowledged over the self-built channel is recalled: the
device is sent a revoke frame (now if it is connected, else when it next connects) and withdraws
the message. One a vendor accepted is asked back from the vendor where it offers recall
(recalled if it agrees); otherwise it is on the vendor's side and cannot be taken back, and
Tidings says so. Deliveries that expired or that a vendor refused are left as they are. A
scheduled push also has its occurrences that have not fired cancelled.

A vendor is asked only after the revocation's writes commit, so what it is asked is first
written as being asked (still delivered) and moved to revoked only once it agrees: a process
that dies before the answer is written leaves a recall still asked, which the next revocation
of it or the recall sweep, once the asker's lease ran out, asks again. Nothing is ever counted
or shown recalled from a vendor that did not agree.

A vendor that could not be reached (no connection, a timeout, a 5xx or a 429: what its channel
would retry a send for) has not answered: its recall stays asked, and the recall sweep asks
again, first a minute later and then at intervals as long as the time since it was first asked
(so doubling), at most an hour apart, or after the vendor's Retry-After when it asks for longer
(as a send waits), for as long as the delivery could be revoked at all
(REVOCABLE_DAYS after it was made): a vendor back within that time is asked within about an
hour of its return, and a week-long outage costs a delivery about 170 requests. Then the recall
is given up and the delivery stays delivered. The revocation's answer counts it unrecallable
meanwhile (it was not taken back when the answer was given); an agreement later moves it to
revoked as any agreement does (its ``delivery.revoked`` event, the trace).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from tidings.contract import REVOCABLE_DAYS, Channel, NotRecalled, Status
from tidings.errors import Code, ServiceError, refused
from tidings.instants import DAY_MS

WITHDRAWABLE = frozenset({Status.PENDING, Status.NO_BIND})
MAX_ID = 128


@dataclass(frozen=True, slots=True)
class RecallRetry:
    """When a vendor that could not be reached for a recall is asked again: ``first_ms`` after
    the first ask, then as long after as it has been since then, at most ``cap_ms``, while the
    next ask falls within ``window_ms`` of the delivery's creation."""

    first_ms: int = 60_000
    cap_ms: int = 3_600_000
    window_ms: int = REVOCABLE_DAYS * DAY_MS

    def after(self, retry_after: float | None) -> RecallRetry:
        """This retry for a vendor that answered with a Retry-After of ``retry_after`` seconds
        (NotRecalled.retry_after, read by the channel as a send's is): asked again no sooner,
        as a send is not (channels/retry.py's Backoff.delay), nor later than the wait would
        have been. The wait, between ``first_ms`` and ``cap_ms``, is at least the vendor's when
        both bounds are: a longer Retry-After than the cap is waited whole (or the recall
        given up, when the window ends first)."""
        at_least = int((retry_after or 0) * 1000)
        if at_least <= self.first_ms:
            return self
        return replace(self, first_ms=at_least, cap_ms=max(self.cap_ms, at_least))


RECALL_RETRY = RecallRetry()


@dataclass(frozen=True, slots=True)
class RevokeResult:
    withdrawn: int = 0  # were waiting; will never be sent
    recalled: int = 0  # were on the device (self-built; it is told to withdraw them) or a
    # vendor took them back
    unrecallable: int = 0  # were accepted by a vendor that did not take them back (yet)
    cancelled: int = 0  # occurrences of a scheduled push that had not fired
    asking_again: int = 0  # of the unrecallable: their vendor could not be reached, asked later

    def answered(self, answer: RecallAnswer) -> RevokeResult:
        """With what vendors answered to the recalls asked: recalled where they agreed,
        unrecallable where they did not or could not be reached."""
        return RevokeResult(
            self.withdrawn,
            self.recalled + len(answer.agreed),
            self.unrecallable + len(answer.refused) + len(answer.unreached),
            self.cancelled,
            self.asking_again + len(answer.unreached),
        )

    def to_data(self) -> str:
        """PushResult.Data: what happened, as JSON text."""
        return json.dumps(
            {
                "Withdrawn": self.withdrawn,
                "Recalled": self.recalled,
                "Unrecallable": self.unrecallable,
                "Cancelled": self.cancelled,
            },
            separators=(",", ":"),
        )


@dataclass(frozen=True, slots=True)
class Recalling:
    """The channels that take back what they delivered: those whose devices are told to
    withdraw it (revoked at once: the device is owed a revoke frame until it confirms), and
    those that ask a vendor (revoked only when it agrees)."""

    on_devices: frozenset[str]
    by_vendor: frozenset[str]

    @classmethod
    def of(cls, channels: Mapping[str, Channel]) -> Recalling:
        recalling = {name: c for name, c in channels.items() if c.can_recall}
        by_vendor = frozenset(name for name, c in recalling.items() if c.recall_asks_vendor)
        return cls(frozenset(recalling) - by_vendor, by_vendor)


@dataclass(frozen=True, slots=True)
class RecallAnswer:
    agreed: tuple[int, ...]  # to revoke
    refused: tuple[NotRecalled, ...] = ()  # to leave delivered, no longer asked
    unreached: tuple[NotRecalled, ...] = ()  # to leave delivered, asked again later

    @staticmethod
    def together(answers: Sequence[RecallAnswer]) -> RecallAnswer:
        """Several answers (of batches, of channels) as one."""
        return RecallAnswer(
            tuple(i for answer in answers for i in answer.agreed),
            tuple(kept for answer in answers for kept in answer.refused),
            tuple(kept for answer in answers for kept in answer.unreached),
        )

    def given_up(self, ids: Collection[int]) -> RecallAnswer:
        """With the recalls of ``ids`` not to be asked again (too late to): refused, as far as
        the answer goes."""
        if not ids:
            return self
        ended = tuple(kept for kept in self.unreached if kept.id in ids)
        still = tuple(kept for kept in self.unreached if kept.id not in ids)
        return RecallAnswer(self.agreed, self.refused + ended, still)


def vendor_answer(
    asked: Collection[int], sent: Collection[int], kept: Collection[NotRecalled]
) -> RecallAnswer:
    """What became of the recalls ``asked``: those the vendor was ``sent`` and did not keep
    were agreed; those it refused and those that could not be sent (their device or task
    gone) were refused; those it could not be reached for are to be asked again."""
    sent_ids, by_id = set(sent), {answer.id: answer for answer in kept}
    agreed: list[int] = []
    refused: list[NotRecalled] = []
    unreached: list[NotRecalled] = []
    for i in sorted(asked):
        answer = by_id.get(i)
        if i not in sent_ids:
            refused.append(NotRecalled(i, Status.ACKED, "its device or task is gone"))
        elif answer is None:
            agreed.append(i)
        else:
            (unreached if answer.unreached else refused).append(answer)
    return RecallAnswer(tuple(agreed), tuple(refused), tuple(unreached))


def read_id(raw: str | None, field: str) -> str:
    if not raw:
        raise refused(Code.INVALID_PARAM, field, "is required")
    if len(raw) > MAX_ID:
        raise refused(Code.INVALID_PARAM, field, f"is longer than {MAX_ID} characters")
    return raw


def check_recent(last_ms: int, now_ms: int, what: str) -> None:
    """Only what was pushed within the last REVOCABLE_DAYS days can be revoked."""
    if last_ms < now_ms - REVOCABLE_DAYS * DAY_MS:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"{what} was pushed more than {REVOCABLE_DAYS} days ago; only pushes of the last "
            f"{REVOCABLE_DAYS} days can be revoked",
        )
