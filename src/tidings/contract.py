"""The delivery contract: what acceptance hands to delivery and delivery hands to channels.

Everything that crosses the line between deciding *what* to send and *how* a channel sends it
is defined here, and nothing else: a delivery ready to go out (``Outbound``: its device's
``DeviceAddress``, the ``Payload`` every channel shows and the call's ``PushOptions``), what a
channel reports back (``Outcome``), the per-delivery ``Status`` codes, a revoked delivery a device
may still hold (``Recall``), and the ``Channel`` protocol itself. This module imports nothing of
Tidings, so the self-built channel, each vendor module, the dispatcher and the domain can all
depend on it without depending on one another.

Named tuples, not dataclasses, for what a burst builds one of per device, thousands at a time;
``from_rows`` reads them from database rows by column name at the cost of reading by position.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import Enum, IntEnum
from functools import partial
from operator import itemgetter
from typing import Any, NamedTuple, Protocol, TypeVar

SELFBUILT = "selfbuilt"  # Tidings' own device connection: every device can be reached through it
PLATFORMS = ("android", "ios", "harmonyos", "web")  # what a device registers as (devices.platform)
# MPS revokes what was pushed within the last 7 days; a device is told of a revocation as long.
REVOCABLE_DAYS = 7


class Status(IntEnum):
    """Per-delivery status codes: MPS's documented values, and the two Tidings adds.

    MPS reports one status per message and device; Tidings keeps the documented numbers so an app
    reading them sees what MPS would show, and adds EXPIRED and REVOKED for the two ends MPS
    leaves unnamed. Vendor channels record their own error codes (APNs 2001-2024 and so on) in
    the same column; docs/device-protocol.md lists them all.
    """

    WAITING_FOR_VERIFY = -1  # MPS's review step; Tidings does not hold messages for review
    PENDING = 0  # DeviceNotOnlineOrNoResponse: offline, or sent and not yet acknowledged
    NO_BIND = 1  # NoBindInfo: the user has no bound device (yet)
    ACKED = 2  # the device acknowledged it, or the vendor gateway accepted it
    EXPIRED = 3  # Tidings: its ExpiredSeconds ran out before the device acknowledged it
    REVOKED = 4  # Tidings: revoked before it was acknowledged
    NONE = 99999999  # MPS's "unknown"


# Each status as a word (traces, /metrics) and in a reader's words (the console); the codes a
# vendor refused with have neither of their own.
_NAMES: dict[int, tuple[str, str]] = {
    Status.WAITING_FOR_VERIFY: ("waiting_for_verify", "held for review"),
    Status.PENDING: ("pending", "waiting for the device"),
    Status.NO_BIND: ("no_bind", "no device bound to the user"),
    Status.ACKED: ("acked", "delivered"),
    Status.EXPIRED: ("expired", "expired"),
    Status.REVOKED: ("revoked", "revoked"),
}


def status_name(status: int) -> str:
    """A delivery status as a word: the MPS codes Tidings uses, or ``vendor_error``."""
    found = _NAMES.get(status)
    return found[0] if found is not None else "vendor_error"


def status_label(status: int) -> str:
    """A delivery status as a reader would say it."""
    found = _NAMES.get(status)
    return found[1] if found is not None else f"vendor refused ({status})"


# What an expiry sweep closes: still waiting for a device or a binding.
OPEN = frozenset({Status.PENDING, Status.NO_BIND})
# What a device's acknowledgement may settle: a late ack of a message the sweep had expired
# still proves the device has it.
ACKABLE = frozenset({Status.PENDING, Status.EXPIRED})


@dataclass(frozen=True, slots=True)
class PushOptions:
    """A push's channel, display, extension and vendor options, validated (openapi/options.py
    holds the rules); stored with the task as JSON and carried by every Outbound."""

    notify_type: str = "notify"
    silent: int = 0
    push_action: int = 0
    classification: str | None = None
    extended_params: dict[str, str] | None = None
    third_channel_category: dict[str, str] | None = None
    notify_level: dict[str, str] | None = None
    channel_id: str | None = None
    mi_channel_id: str | None = None
    transparent_payload: dict[str, Any] | None = None
    transparent_urgency: str | None = None
    vendor_template: dict[str, Any] | None = None
    activity_event: str | None = None
    activity_content_state: dict[str, Any] | None = None
    dismissal_date: int | None = None
    stale_date: int | None = None  # the Live Activity keys of ExtendedParams (push/activity.py)
    activity_attributes_type: str | None = None
    activity_attributes: dict[str, Any] | None = None
    push_style: int = 0
    image_urls: dict[str, str] | None = None
    icon_urls: dict[str, str] | None = None
    android_channel: int | None = None
    # The SMS supplement (push/sms.py): 0 none, 1 when the push has not arrived in time, 2 at
    # once; the provider's template code, sign name and template parameters.
    sms_strategy: int = 0
    sms_template_code: str | None = None
    sms_sign_name: str | None = None
    sms_template_param: dict[str, str] | None = None

    @property
    def live_activity(self) -> bool:
        """A Live Activity push (an iOS activity started, updated or ended; a HarmonyOS live
        view): any of MPS's three Activity fields given."""
        return (
            self.activity_event is not None
            or self.activity_content_state is not None
            or self.dismissal_date is not None
        )

    @property
    def live_update(self) -> bool:
        """An ``update`` or ``end`` of a running Live Activity (or live view), not a start:
        only an activity's own token, or a HarmonyOS device's, can take it."""
        return self.live_activity and self.activity_event != "start"

    def to_json(self) -> str:
        """The options that differ from their defaults, as compact JSON (read field by field:
        ``asdict`` copies every nested dict first, and each accepted call stores its options)."""
        return json.dumps(
            {k: v for k, d in _DEFAULTS.items() if (v := getattr(self, k)) != d},
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> PushOptions:
        return cls(**json.loads(text))


_DEFAULTS = asdict(PushOptions())


Named = TypeVar("Named", bound=tuple)


def from_rows(
    cls: type[Named], rows: Sequence[Any], columns: Sequence[str] | None = None
) -> list[Named]:
    """A ``cls`` (a named tuple) from each of ``rows`` (database rows, or anything with
    ``_fields``), each field read from the column of its name, or of the name in its place in
    ``columns``. The columns are found by name once for all the rows, each row then read by
    position: a dispatch reads thousands, and reading each by name costs several times more."""
    if not rows:
        return []
    present = rows[0]._fields
    pick = itemgetter(*(present.index(column) for column in columns or cls._fields))
    make = cls._make  # type: ignore[attr-defined]
    return [make(pick(row)) for row in rows]


def from_tuples(cls: type[Named], rows: Iterable[tuple[Any, ...]]) -> list[Named]:
    """A ``cls`` (a named tuple) from each of ``rows``, tuples of its fields in its order (a
    driver's rows of a query that names its columns so, as a test checks)."""
    return list(map(maker(cls), rows))


def maker(cls: type[Named]) -> Callable[[tuple[Any, ...]], Named]:
    """What makes a ``cls`` (a named tuple) of a tuple of all its fields, in its order, as
    ``cls(*fields)`` would, without the Python function a named tuple's constructor is: on
    Python 3.11 ~0.45 µs against ~0.25, for what dispatch makes one of per delivery."""
    return partial(tuple.__new__, cls)


class DeviceAddress(NamedTuple):
    """Where a delivery goes: the device and the vendor token it reported, if any.

    A Live Activity's push token (DeliveryType 5 and 6) is an address no registered device
    holds: ``pk`` is then None and ``third_token`` the activity's APNs push token.
    """

    pk: int | None
    token: str  # the DeliveryToken
    platform: str  # android, ios, harmonyos
    manufacturer: str  # android, ios, harmonyos, or the vendor of third_token (hms, miui, ...)
    third_token: str | None

    @classmethod
    def from_rows(cls, rows: Sequence[Any]) -> list[DeviceAddress]:
        """From rows holding store.devices.ADDRESS's columns by name, among others."""
        return from_rows(cls, rows, ADDRESS_COLUMNS)


ADDRESS_COLUMNS = ("device_pk", "token", "platform", "manufacturer", "third_token")


class Payload(NamedTuple):
    """One message as every channel shows it; extension parameters already merged."""

    task_id: int
    msg_key: str
    title: str
    content: str
    uri: str | None
    extended_params: dict[str, str]
    expires_at: int  # epoch ms
    request_id: str | None = None  # of the call that accepted it: logged, never sent


class Outbound(NamedTuple):
    """One delivery ready to send. ``options`` carries the call's vendor fields for vendor
    channels; ``id`` is the stable delivery id the device acknowledges."""

    id: int
    channel: str
    device: DeviceAddress
    payload: Payload
    options: PushOptions


class Recall(NamedTuple):
    """A revoked delivery its device may hold: the device is sent a revoke frame for it until
    the device confirms."""

    id: int
    device_pk: int
    task_id: int
    msg_key: str


class NotRecalled(NamedTuple):
    """A delivery a vendor did not take back when asked, and why."""

    id: int
    status: int  # the vendor's answer (a status code), or ACKED (delivered) when none came
    reason: str | None
    # The vendor could not be reached (no connection, a timeout, a 5xx or a 429): asking
    # again later may succeed, where a refusal is its last word.
    unreached: bool = False
    # Seconds the vendor asked to be left alone (its Retry-After, as Verdict.retry_after):
    # an unreached recall is not asked again sooner.
    retry_after: float | None = None


class Reroute(Enum):
    """Why a channel cannot take a delivery, which then goes over the self-built channel."""

    DEAD_TOKEN = "dead_token"  # the device's vendor token is gone: forget it
    UNCONFIGURED = "unconfigured"  # the app dropped the channel: the token stays


class Outcome(NamedTuple):
    delivery_id: int
    status: int  # a Status value or a vendor error code
    reason: str | None = None  # the vendor's own words, kept for the message trace
    retry_at: int | None = None  # epoch ms; with status PENDING, send it again from then on
    reroute: Reroute | None = None  # with status PENDING: not this channel's, send it otherwise
    # settled, and the token it went to is dead: a Live Activity's (no device to move it to),
    # whose registrations are then dropped
    dead_token: bool = False


class Channel(Protocol):
    name: str  # the value routing picks and deliveries.channel stores (SELFBUILT, "apns", ...)
    # Whether a delivered message can be taken back over this channel: revocation marks the
    # channel's acknowledged deliveries revoked (Recalled) and calls ``recall``; otherwise it
    # leaves them as they are (Unrecallable).
    can_recall: bool
    # Whether taking back asks a remote service per delivery (a vendor's recall API), which may
    # refuse: ``recall`` is then given the deliveries and says which it could not take back.
    recall_asks_vendor: bool

    async def send(self, batch: Sequence[Outbound]) -> Sequence[Outcome]:
        """Send the batch; the outcomes known now (an empty list is fine)."""
        ...

    async def recall(
        self, device_pks: Collection[int], delivered: Sequence[Outbound] = ()
    ) -> Sequence[NotRecalled]:
        """Deliveries of this channel to these devices were revoked, and the revocation is
        committed: take back what the devices may hold of them. What each device is owed is
        read from the database (delivery's ``pending_recalls``), so a device reached later is
        still told. A channel that asks a vendor is given the ``delivered`` deliveries it
        had taken and answers those the vendor did not take back."""
        ...

    async def aclose(self) -> None: ...
