"""What revoking does to each delivery, and the limits on what may be revoked, as pure rules.

A delivery still waiting (for its device to connect, or for a user to bind one) is withdrawn:
it will never be sent. One the device acknowledged over the self-built channel is recalled: the
device is sent a revoke frame (now if it is connected, else when it next connects) and withdraws
the message. One a vendor accepted is asked back from the vendor where it offers recall
(recalled if it agrees); otherwise it is on the vendor's side and cannot be taken back, and
Tidings says so. Deliveries that expired or that a vendor refused are left as they are. A
scheduled push also has its occurrences that have not fired cancelled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tidings.contract import REVOCABLE_DAYS, Status
from tidings.errors import Code, ServiceError
from tidings.instants import DAY_MS

WITHDRAWABLE = frozenset({Status.PENDING, Status.NO_BIND})
MAX_ID = 128


@dataclass(frozen=True, slots=True)
class RevokeResult:
    withdrawn: int = 0  # were waiting; will never be sent
    recalled: int = 0  # were on the device (self-built; it is told to withdraw them) or a
    # vendor took them back
    unrecallable: int = 0  # were accepted by a vendor that did not take them back
    cancelled: int = 0  # occurrences of a scheduled push that had not fired

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


def read_id(raw: str | None, field: str) -> str:
    if not raw:
        raise ServiceError(Code.INVALID_PARAM, f"{field} is required")
    if len(raw) > MAX_ID:
        raise ServiceError(Code.INVALID_PARAM, f"{field} is longer than {MAX_ID} characters")
    return raw


def check_recent(last_ms: int, now_ms: int, what: str) -> None:
    """Only what was pushed within the last REVOCABLE_DAYS days can be revoked."""
    if last_ms < now_ms - REVOCABLE_DAYS * DAY_MS:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"{what} was pushed more than {REVOCABLE_DAYS} days ago; only pushes of the last "
            f"{REVOCABLE_DAYS} days can be revoked",
        )
