"""What a stored task is: the action that made it, and the states it moves through.

``tasks.action`` holds the MPS push action's name. ``tasks.state``: an immediate push is
``accepted`` at once. A scheduled or loop push is a parent that stays ``scheduled`` while any of
its occurrences waits, then ends ``finished`` (or ``cancelled``); each occurrence is a child task
that waits ``pending`` and becomes ``accepted`` when it fires, or ends ``skipped`` or ``cancelled``
without firing. Delivery takes ``accepted`` tasks from there and marks them ``dispatched``.
Acceptance, scheduling, delivery and revocation all read and write these values, so they live
below all four.
"""

SIMPLE = "PushSimple"
TEMPLATE = "PushTemplate"
MULTIPLE = "PushMultiple"
BROADCAST = "PushBroadcast"

ACCEPTED = "accepted"  # due for delivery from due_at on
DISPATCHED = "dispatched"  # delivery resolved it into deliveries (delivery/dispatcher.py)
SCHEDULED = "scheduled"  # a parent with occurrences still waiting; counts against the app's limit
FINISHED = "finished"  # a parent none of whose occurrences waits any more
PENDING = "pending"  # an occurrence waiting for its due_at
SKIPPED = "skipped"  # an occurrence whose validity ran out while no server was running
CANCELLED = "cancelled"  # a parent or an occurrence cancelled before it fired
REVOKED = "revoked"  # RevokePushTask took it back before delivery had resolved all of it

# DeliveryType: 1, 2 and 7 address devices of a platform by DeliveryToken (PushBind's and
# PushReport's OsType number platforms the same way); 3 addresses userIds bound with PushBind.
DEVICE_TYPES = {1: "android", 2: "ios", 7: "harmonyos"}
USER_TARGET = 3


def validity_start(due_at: int | None, created_at: int) -> int:
    """When a task's messages start to be valid: when it is due (an immediate push at its
    acceptance, an occurrence at its time); a row without a due time counts from acceptance."""
    return due_at if due_at is not None else created_at


def validity_end(due_at: int | None, created_at: int, expired_seconds: int) -> int:
    """When a task's messages stop being valid (epoch ms): ExpiredSeconds after it is due."""
    return validity_start(due_at, created_at) + expired_seconds * 1000
