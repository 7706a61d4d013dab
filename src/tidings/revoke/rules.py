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
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from tidings.contract import REVOCABLE_DAYS, Channel, Status
from tidings.errors import Code, ServiceError, refused
from tidings.instants import DAY_MS

WITHDRAWABLE = frozenset({Status.PENDING, Status.NO_BIND})
MAX_ID = 128
# How long a recall's asker has to ask its vendor and write the answer before the recall sweep
# may ask again: above what asking a 100,000-device broadcast back takes (a vendor's lanes
# answer a few hundred a second), so a living asker is rarely asked over, which would only
# ask the vendor twice (an agreement wins over a refusal either way).
RECALL_LEASE_MS = 10 * 60_000


@dataclass(frozen=True, slots=True)
class RevokeResult:
    withdrawn: int = 0  # were waiting; will never be sent
    recalled: int = 0  # were on the device (self-built; it is told to withdraw them) or a
    # vendor took them back
    unrecallable: int = 0  # were accepted by a vendor that did not take them back
    cancelled: int = 0  # occurrences of a scheduled push that had not fired

    def answered(self, answer: RecallAnswer) -> RevokeResult:
        """With what vendors answered to the recalls asked: recalled where they agreed,
        unrecallable where they did not."""
        return RevokeResult(
            self.withdrawn,
            self.recalled + len(answer.agreed),
            self.unrecallable + len(answer.refused),
            self.cancelled,
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
    refused: tuple[int, ...]  # to leave delivered


def vendor_answer(
    asked: Collection[int], sent: Collection[int], refused: Collection[int]
) -> RecallAnswer:
    """What became of the recalls ``asked``: those the vendor was ``sent`` and did not
    refuse were agreed; the refused ones and those that could not be sent (their device or
    task gone) were not."""
    sent_ids, refused_ids = set(sent), set(refused)
    agreed = [i for i in asked if i in sent_ids and i not in refused_ids]
    kept = [i for i in asked if i not in sent_ids or i in refused_ids]
    return RecallAnswer(tuple(sorted(agreed)), tuple(sorted(kept)))


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
