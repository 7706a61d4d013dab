"""The SMS supplement: an SMS to the phone number bound with a push's target, sent alongside the
push (SmsStrategy 2) or when the push has not arrived within the supplement delay (1).

Acceptance writes one row per message in the push's own transaction (``add``); the ``Sender``
(supplement/sender.py) sends what falls due. The row's states are named here.
"""

from __future__ import annotations

from sqlalchemy import Connection

from tidings.channels.sms import NAME as SMS_CHANNEL
from tidings.contract import PushOptions
from tidings.errors import Code, refused
from tidings.store import sms as store

WAITING = "due"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"
ARRIVED = "arrived"
ALONGSIDE = 2


def add(
    conn: Connection,
    app_pk: int,
    task_id: int,
    options: PushOptions,
    fires_at: int,
    delay_ms: int,
) -> None:
    """In the push's transaction: the supplement of each of the task's messages, if it asks for
    one; refused (naming SmsStrategy) when the app has no SMS provider to send it."""
    if not options.sms_strategy:
        return
    if not store.has_config(conn, app_pk, SMS_CHANNEL):
        raise refused(
            Code.INVALID_PARAM,
            "SmsStrategy",
            f"is {options.sms_strategy}, but the app has no SMS provider configured "
            "(tidings channels set --channel sms)",
        )
    due_at = fires_at if options.sms_strategy == ALONGSIDE else fires_at + delay_ms
    store.add(conn, task_id, app_pk, options.sms_strategy, WAITING, due_at)
