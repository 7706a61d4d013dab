"""Resolving a due task into deliveries: which device gets which message, with which status.

Pure: the dispatcher looks the devices up and hands them in, so every rule here (user targets
with no binding, unknown device tokens, messages already expired when dispatch finally runs) is
tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Row

from tidings.contract import SELFBUILT, DeviceAddress, Status, from_rows, from_tuples, maker
from tidings.delivery.routing import ACTIVITY_TOKEN, LIVE_ACTIVITY_TYPES, LIVE_VIEW_VENDORS, Router
from tidings.tasks import USER_TARGET, validity_end, validity_start


class TaskRow(NamedTuple):
    """The columns of a task that dispatch reads."""

    id: int
    parent_id: int | None
    app_pk: int
    delivery_type: int
    expired_seconds: int
    options: str
    created_at: int
    due_at: int | None
    request_id: str | None = None  # the accepting call's, for log lines

    @classmethod
    def from_rows(cls, rows: Sequence[Row]) -> list[TaskRow]:
        """From rows holding these columns by name (store.deliveries.TASK_COLUMNS), among
        others."""
        return from_rows(cls, rows)

    @property
    def messages_of(self) -> int:
        """The task whose message rows this one sends: an occurrence sends its parent's."""
        return self.parent_id if self.parent_id is not None else self.id

    @property
    def valid_from(self) -> int:
        return validity_start(self.due_at, self.created_at)

    @property
    def expires_at(self) -> int:
        return validity_end(self.due_at, self.created_at, self.expired_seconds)


class MessageRow(NamedTuple):
    pk: int
    task_id: int
    msg_key: str
    target: str
    title: str
    content: str
    uri: str | None
    extended_params: str | None

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[Any, ...]]) -> list[MessageRow]:
        """From tuples of store.deliveries.MESSAGE_COLUMNS, in its order."""
        return from_tuples(cls, rows)


class Planned(NamedTuple):
    message: MessageRow
    device: DeviceAddress | None
    user_id: str | None
    channel: str | None
    status: Status


def plan_task(
    task: TaskRow,
    messages: Sequence[MessageRow],
    by_token: Mapping[str, DeviceAddress],
    by_user: Mapping[str, Sequence[DeviceAddress]],
    *,
    by_activity: Mapping[str, str] | None = None,
    start_tokens: Mapping[int, str] | None = None,
    activity_tokens: Mapping[int, Sequence[str]] | None = None,
    router: Router,
    now_ms: int,
) -> Iterator[Planned]:
    """One Planned per message and device; a user without devices gets one NoBindInfo row.

    A device token the app does not know still gets a row, pending until it expires, so the
    message is accounted for rather than dropped. A Live Activity target is addressed by its
    APNs push token, held by no registered device: the target itself (DeliveryType 5) or the
    token ``by_activity`` holds for the activity id (6); an activity id nobody registered is
    kept pending like an unknown device token. A push that starts a Live Activity on devices
    (2) or a user's devices (3) goes to the push-to-start token ``start_tokens`` holds for each
    device (by pk); a device without one gets a row with no device, pending until it expires.
    An update or end of a Live Activity sent to a user (3) goes to every activity the user's
    devices registered, at its push token (``activity_tokens``, by device pk), and to a device
    whose own channel carries it (a HarmonyOS live view); the user's other devices cannot take
    it and get nothing, and with nowhere to send it the message waits, with no address, until
    it expires.
    """
    expired = task.expires_at <= now_ms
    # What a task shares is decided once for its messages: a dispatch plans thousands.
    status = Status.EXPIRED if expired else Status.PENDING
    if task.delivery_type in LIVE_ACTIVITY_TYPES:
        for message in messages:
            if task.delivery_type == ACTIVITY_TOKEN:
                push_token: str | None = message.target
            else:
                push_token = (by_activity or {}).get(message.target)
            yield _to_activity(message, push_token, router, expired)
    elif task.delivery_type == USER_TARGET:
        unbound = Status.EXPIRED if expired else Status.NO_BIND
        for message in messages:
            user_id = message.target
            devices = by_user.get(user_id, ())
            if not devices:
                yield _planned((message, None, user_id, None, unbound))
            elif activity_tokens is not None:
                yield from _to_users_activities(message, devices, activity_tokens, router, expired)
            elif start_tokens is not None:
                for device in devices:
                    yield _to_start_token(message, device, user_id, router, expired, start_tokens)
            else:
                for device in devices:
                    yield _planned((message, device, user_id, router(device), status))
    else:
        for message in messages:
            device = by_token.get(message.target)
            if device is None:
                yield _planned((message, None, None, None, status))
            elif start_tokens is not None:
                yield _to_start_token(message, device, None, router, expired, start_tokens)
            else:
                yield _planned((message, device, None, router(device), status))


# What the loops above make one of per delivery (contract.maker says why not Planned(...)).
_planned = maker(Planned)


def _to_start_token(
    message: MessageRow,
    device: DeviceAddress,
    user_id: str | None,
    router: Router,
    expired: bool,
    start_tokens: Mapping[int, str],
) -> Planned:
    """A push that starts a Live Activity on a device: to the device's push-to-start token."""
    assert device.pk is not None
    return _to_activity(message, start_tokens.get(device.pk), router, expired, user_id)


def _to_users_activities(
    message: MessageRow,
    devices: Sequence[DeviceAddress],
    activity_tokens: Mapping[int, Sequence[str]],
    router: Router,
    expired: bool,
) -> list[Planned]:
    """A Live Activity update or end to a user: the devices whose channel carries it on their
    own token, and the activities the devices registered; a row with no address when none."""
    user_id = message.target
    status = Status.EXPIRED if expired else Status.PENDING
    planned = []
    for device in devices:
        channel = router(device)
        if channel in LIVE_VIEW_VENDORS:
            planned.append(Planned(message, device, user_id, channel, status))
        for push_token in activity_tokens.get(device.pk or 0, ()):
            planned.append(_to_activity(message, push_token, router, expired, user_id))
    return planned or [_to_activity(message, None, router, expired, user_id)]


def activity_address(push_token: str) -> DeviceAddress:
    """The address of a Live Activity: its APNs push token, on no registered device."""
    return DeviceAddress(None, push_token, "ios", "ios", push_token)


def _to_activity(
    message: MessageRow,
    push_token: str | None,
    router: Router,
    expired: bool,
    user_id: str | None = None,
) -> Planned:
    """A Live Activity push: through the channel that carries them (APNs), or, without a
    token or with no such channel configured, a row left pending until it expires, since no
    device connection can carry it."""
    status = Status.EXPIRED if expired else Status.PENDING
    if push_token is None:
        return Planned(message, None, user_id, None, status)
    address = activity_address(push_token)
    channel = router(address)
    if channel == SELFBUILT:
        return Planned(message, None, user_id, None, status)
    return Planned(message, address, user_id, channel, status)
