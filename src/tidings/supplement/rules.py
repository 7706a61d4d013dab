"""Whether a due supplement is sent: pure, so each rule is tested on its own."""

from __future__ import annotations

from tidings.supplement import ARRIVED, SKIPPED

WHEN_NOT_ARRIVED = 1


def settled_without_sending(strategy: int, arrived: bool, revoked: bool) -> tuple[str, str] | None:
    """The end a due supplement reaches without an SMS, with why; None when it is to be sent.

    A revoked message sends no SMS; strategy 1 sends none when any delivery of the message has
    arrived (a device's ack or a vendor's receipt); strategy 2 is sent whatever the push did.
    """
    if revoked:
        return SKIPPED, "the message was revoked"
    if strategy == WHEN_NOT_ARRIVED and arrived:
        return ARRIVED, "the push arrived in time; no SMS needed"
    return None
