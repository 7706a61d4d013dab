"""Per-delivery status codes: MPS's documented values, and the two Tidings adds.

MPS reports one status per message and device (its "message push status codes"). Tidings keeps
the documented numbers so an app reading them sees what MPS would show, and adds EXPIRED and
REVOKED for the two ends MPS leaves unnamed in its common table. Vendor channels record their own
error codes (APNs 2001-2024 and so on) in the same column; docs/device-protocol.md lists them all.
"""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    WAITING_FOR_VERIFY = -1  # MPS's review step; Tidings does not hold messages for review
    PENDING = 0  # DeviceNotOnlineOrNoResponse: offline, or sent and not yet acknowledged
    NO_BIND = 1  # NoBindInfo: the user has no bound device (yet)
    ACKED = 2  # the device acknowledged it, or the vendor gateway accepted it
    EXPIRED = 3  # Tidings: its ExpiredSeconds ran out before the device acknowledged it
    REVOKED = 4  # Tidings: revoked before it was acknowledged
    NONE = 99999999  # MPS's "unknown"


# What an expiry sweep closes: still waiting for a device or a binding.
OPEN = frozenset({Status.PENDING, Status.NO_BIND})
# What a device's acknowledgement may settle: a late ack of a message the sweep had expired
# still proves the device has it.
ACKABLE = frozenset({Status.PENDING, Status.EXPIRED})
