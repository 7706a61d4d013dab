"""A message's whole story, told from what was stored about it: accepted, resolved to devices
(or left waiting for one), the channel each delivery took, sent, acknowledged, opened, expired,
revoked, every vendor refusal on the way, the webhook events sent about it and its SMS
supplement (``sms_sent``, ``sms_failed``, ``sms_skipped``, ``sms_not_needed``, ``sms_due``).

A delivery a vendor accepted and a revocation asked it to take back shows ``recall_asked``, then
its outcome: ``revoked`` (the vendor took it back), ``recall_refused``, ``recall_unreached``
(the vendor could not be reached; asked again) and ``recall_given_up``, or, while no answer
is written, ``recall_due``: when it is asked again.

``build_trace`` is pure: it orders the facts the message, delivery and event rows hold into one
timeline, so the rules of the telling are tested without a database. ``to_json`` is the shape the
JSON endpoint and ``tidings trace --json`` give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tidings.contract import SELFBUILT, Status, status_name


@dataclass(frozen=True, slots=True)
class Step:
    at: int
    event: str
    delivery_id: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class DeliveryTrace:
    id: int
    task_id: int
    device: str | None  # the DeliveryToken
    platform: str | None
    user_id: str | None
    channel: str | None
    status: int
    reason: str | None
    attempts: int
    created_at: int
    expires_at: int
    sent_at: int | None
    acked_at: int | None
    opened_at: int | None
    revoked_at: int | None
    revoke_confirmed_at: int | None
    recall_asked_at: int | None  # a revocation asked its vendor to take it back
    recall_due_at: int | None  # not answered yet: asked again from then on

    @property
    def status_name(self) -> str:
        return status_name(self.status)


@dataclass(frozen=True, slots=True)
class MessageTrace:
    msg_key: str
    task_id: int
    action: str
    task_name: str
    target: str
    title: str
    content: str
    uri: str | None
    accepted_at: int
    revoked_at: int | None
    delivery_count: int  # all of them; ``deliveries`` may hold only the first
    deliveries: tuple[DeliveryTrace, ...]
    steps: tuple[Step, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "msgKey": self.msg_key,
            "taskId": str(self.task_id),
            "action": self.action,
            "taskName": self.task_name,
            "target": self.target,
            "title": self.title,
            "content": self.content,
            "uri": self.uri,
            "acceptedAt": self.accepted_at,
            "revokedAt": self.revoked_at,
            "deliveryCount": self.delivery_count,
            "deliveries": [
                {
                    "id": d.id,
                    "taskId": str(d.task_id),
                    "device": d.device,
                    "platform": d.platform,
                    "userId": d.user_id,
                    "channel": d.channel,
                    "status": d.status,
                    "statusName": d.status_name,
                    "reason": d.reason,
                    "attempts": d.attempts,
                    "createdAt": d.created_at,
                    "expiresAt": d.expires_at,
                    "sentAt": d.sent_at,
                    "ackedAt": d.acked_at,
                    "openedAt": d.opened_at,
                    "revokedAt": d.revoked_at,
                    "revokeConfirmedAt": d.revoke_confirmed_at,
                    "recallAskedAt": d.recall_asked_at,
                    "recallDueAt": d.recall_due_at,
                }
                for d in self.deliveries
            ],
            "timeline": [
                {"at": s.at, "event": s.event, "deliveryId": s.delivery_id, "detail": s.detail}
                for s in self.steps
            ],
        }


def build_trace(
    message: Any,
    deliveries: Sequence[Any],
    events: Sequence[Any],
    delivery_count: int,
    webhooks: Sequence[Any] = (),
    sms: Any = None,
) -> MessageTrace:
    """``message``: a message row with its task's action, task_name, strategy_type and due_at;
    ``deliveries``: (the first of) its delivery rows with token, platform and task_due_at;
    ``events``: their delivery_events rows; ``delivery_count``: how many deliveries it has;
    ``webhooks``: the webhook outbox rows about it, with their endpoint's url; ``sms``: its
    SMS supplement row, if it asked for one."""
    steps = [Step(message.created_at, "accepted", None, _accepted(message))]
    fired: set[int] = set()
    for row in deliveries:
        if row.task_id != message.task_id and row.task_id not in fired:
            fired.add(row.task_id)
            steps.append(
                Step(row.task_due_at, "fired", None, f"occurrence {row.task_id} of the schedule")
            )
        steps.extend(_delivery_steps(row))
    for event in events:
        steps.append(Step(event.at, *_event(event)))
    if message.revoked_at is not None:
        steps.append(Step(message.revoked_at, "revoked", None, "the message was revoked"))
    steps.extend(_webhook(row) for row in webhooks)
    if sms is not None:
        steps.append(_sms(sms))
    steps.sort(key=lambda s: (s.at, _ORDER.get(s.event, 99)))
    return MessageTrace(
        msg_key=message.msg_key,
        task_id=message.task_id,
        action=message.action,
        task_name=message.task_name,
        target=message.target,
        title=message.title,
        content=message.content,
        uri=message.uri,
        accepted_at=message.created_at,
        revoked_at=message.revoked_at,
        delivery_count=delivery_count,
        deliveries=tuple(_delivery(row) for row in deliveries),
        steps=tuple(steps),
    )


# Steps at the same millisecond in the order they happen.
_ORDER = {
    "accepted": 0,
    "fired": 1,
    "resolved": 2,
    "waiting": 2,
    "sent": 3,
    "revoked": 4,
    "recall_asked": 5,
}


def _accepted(message: Any) -> str:
    target = f" for {message.target!r}" if message.target else " for every device it reaches"
    text = f"{message.action} task {message.task_id} ({message.task_name!r}){target}"
    if message.strategy_type:
        text += "; scheduled"
    return text


def _delivery_steps(row: Any) -> list[Step]:
    steps: list[Step] = []
    if row.device_pk is None:
        why = f"no device bound to user {row.user_id!r}" if row.user_id else "no such device"
        steps.append(Step(row.created_at, "waiting", row.id, f"{why}; waiting until it expires"))
    else:
        steps.append(
            Step(
                row.created_at,
                "resolved",
                row.id,
                f"device {row.token} ({row.platform}) over {row.channel}",
            )
        )
    if row.sent_at is not None:
        steps.append(Step(row.sent_at, "sent", row.id, f"accepted by {row.channel}"))
    if row.acked_at is not None:
        by = "the device" if row.channel == SELFBUILT else f"{row.channel}'s receipt"
        steps.append(Step(row.acked_at, "acked", row.id, f"arrived: acknowledged by {by}"))
    if row.opened_at is not None:
        steps.append(Step(row.opened_at, "opened", row.id, "opened on the device"))
    if row.status == Status.EXPIRED:
        steps.append(
            Step(row.expires_at, "expired", row.id, "its validity ended before it arrived")
        )
    if row.recall_asked_at is not None:
        asked = f"{row.channel} asked to take it back; it stays delivered until it agrees"
        steps.append(Step(row.recall_asked_at, "recall_asked", row.id, asked))
    if row.recall_due_at is not None:
        due = f"not answered yet: {row.channel} is asked again from then on"
        steps.append(Step(row.recall_due_at, "recall_due", row.id, due))
    if row.revoked_at is not None:
        steps.append(Step(row.revoked_at, "revoked", row.id, _revoked(row)))
    if row.revoke_confirmed_at is not None:
        steps.append(
            Step(row.revoke_confirmed_at, "revoke_confirmed", row.id, "the device withdrew it")
        )
    return steps


def _revoked(row: Any) -> str:
    if row.channel == SELFBUILT and row.device_pk is not None:
        if row.acked_at is not None:
            return "revoked after delivery; the device is sent a revoke frame"
        return "revoked before delivery; withdrawn (the device is told, in case it got it)"
    if row.sent_at is not None:  # revoked only once the vendor agreed to take it back
        return f"revoked after delivery; {row.channel} took it back"
    return "revoked before delivery; withdrawn, never sent"


_RECALLS = {
    "refused": "the vendor would not take it back; it stays delivered",
    "unreached": "the vendor could not be reached to take it back; asked again later",
    "given_up": "the vendor could still not be reached; no longer asked, it stays delivered",
}


def _event(event: Any) -> tuple[str, int, str]:
    reason = f": {event.reason}" if event.reason else ""
    if event.recall is not None:
        words = _RECALLS.get(event.recall, event.recall)
        # ACKED: no answer of the vendor's (its configuration or the device's token is gone)
        said = [] if event.status == Status.ACKED else [f"status {event.status}"]
        said += [event.reason] if event.reason else []
        detail = f"{words} ({': '.join(said)})" if said else words
        return f"recall_{event.recall}", event.delivery_id, detail
    if event.status == Status.PENDING:
        return "retry", event.delivery_id, f"the vendor asked to try again later{reason}"
    if event.status == Status.ACKED:
        return "receipt", event.delivery_id, f"the vendor's receipt says it failed{reason}"
    return "vendor_error", event.delivery_id, f"refused with status {event.status}{reason}"


def _webhook(row: Any) -> Step:
    tries = f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}"
    if row.state == "delivered":
        detail = f"{row.event_type} (evt_{row.pk}) delivered to {row.url} after {tries}"
        return Step(row.delivered_at, "webhook", None, detail)
    if row.state == "expired":
        detail = f"{row.event_type} (evt_{row.pk}) for {row.url} dropped after {tries}"
    else:
        detail = (
            f"{row.event_type} (evt_{row.pk}) for {row.url} waiting to be sent ({tries} so far)"
        )
    return Step(row.created_at, "webhook", None, detail)


_SMS_KINDS = {1: "when the push has not arrived", 2: "alongside the push"}
_SMS_EVENTS = {
    "sent": "sms_sent",
    "failed": "sms_failed",
    "skipped": "sms_skipped",
    "arrived": "sms_not_needed",
}


def _sms(row: Any) -> Step:
    """The SMS supplement's step: its end, or when it falls due. Never the phone number."""
    kind = f"SMS supplement ({_SMS_KINDS.get(row.strategy, row.strategy)})"
    event = _SMS_EVENTS.get(row.state)
    if event is None:
        return Step(row.due_at, "sms_due", None, f"{kind} due")
    return Step(row.settled_at, event, None, f"{kind}: {row.detail}")


def _delivery(row: Any) -> DeliveryTrace:
    return DeliveryTrace(
        id=row.id,
        task_id=row.task_id,
        device=row.token,
        platform=row.platform,
        user_id=row.user_id,
        channel=row.channel,
        status=row.status,
        reason=row.reason,
        attempts=row.attempts,
        created_at=row.created_at,
        expires_at=row.expires_at,
        sent_at=row.sent_at,
        acked_at=row.acked_at,
        opened_at=row.opened_at,
        revoked_at=row.revoked_at,
        revoke_confirmed_at=row.revoke_confirmed_at,
        recall_asked_at=row.recall_asked_at,
        recall_due_at=row.recall_due_at,
    )
