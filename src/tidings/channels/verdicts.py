"""What one attempt at a vendor gateway came to, and the status codes Tidings records for it.

Every vendor module reads its gateway's answer into a ``Verdict`` with a pure function; the shared
send loop (``retry.py``) and the vendor channel act on verdicts alone, so retrying, refreshing
access tokens and removing dead tokens are written once for all vendors.

Status codes: APNs reasons take MPS's documented 2001-2024 (the gaps in MPS's list carry the
reasons MPS leaves unnamed). MPS's tables for the other vendors were not available, so each
declares a block of its own (``Vendor.status_block``: ``2100 + 100 * n``), with the same offsets
for the same kind of failure; docs/vendor-channels.md lists them.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import NamedTuple

from tidings.contract import Status


class Failure(IntEnum):
    """Kinds of failure every non-APNs vendor can report; the offset within its block."""

    DEAD_TOKEN = 1  # the vendor no longer knows the device token
    AUTH = 2  # credentials or access token refused
    INVALID = 3  # the message broke one of the vendor's rules
    TOO_LARGE = 4
    QUOTA = 5  # the app's daily quota is used up
    THROTTLED = 6  # still rate-limited when retrying stopped
    VENDOR_ERROR = 7  # the vendor's own failure, still failing when retrying stopped
    CONN_CLOSED = 8  # no answer: the connection failed, still failing when retrying stopped


def vendor_status(block: int, failure: Failure) -> int:
    """The status code of ``failure`` in a vendor's block."""
    return block + failure


class Verdict(NamedTuple):
    status: int  # Status.ACKED, or the vendor failure's status code
    reason: str | None = None  # the vendor's own words
    retry: bool = False  # transient: the same request may succeed later
    retry_after: float | None = None  # seconds the vendor asked us to wait
    dead_token: bool = False  # the device token is gone: remove it, reach the device otherwise
    reauth: bool = False  # the access token was refused: fetch a new one and try again

    @property
    def ok(self) -> bool:
        return self.status == Status.ACKED


ACCEPTED = Verdict(Status.ACKED)


def coded_answer(body: bytes, code_key: str, text_key: str, status: int) -> tuple[int, str]:
    """The numeric result code and the words of a vendor's JSON answer (-1 when it has none)."""
    try:
        answer = json.loads(body)
        code = int(answer.get(code_key, -1))
        return code, f"{code} {answer.get(text_key) or ''}".strip()
    except (ValueError, AttributeError, TypeError):
        return -1, f"HTTP {status}"


def unavailable(block: int, reason: str, retry_after: float | None) -> Verdict:
    """The vendor is down or throttling (HTTP 429 or 5xx): try again later."""
    return Verdict(
        vendor_status(block, Failure.VENDOR_ERROR), reason, retry=True, retry_after=retry_after
    )
