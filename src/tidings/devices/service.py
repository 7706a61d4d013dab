"""The device registry: registration and resume for the gateway, PushBind, PushUnBind,
PushReport and PushQueryDeviceState for the OpenAPI.

Bindings change what delivery owes a device, so bind and unbind settle the affected deliveries
in the same transaction and hand what a binding unlocked to delivery once it is committed. What
that means for deliveries is delivery's to say (delivery/bindings.py): the ``Deliveries`` it
offers for it are handed in when the services are put together.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tidings.broker.base import Broker
from tidings.channels import webpush
from tidings.channels.app_configs import ChannelSettings
from tidings.channels.catalog import MANUFACTURERS, THIRD_CHANNELS
from tidings.contract import PLATFORMS, DeviceAddress
from tidings.devices import tokens
from tidings.devices.models import Device, DeviceState
from tidings.devices.rules import (
    ActivityRegistration,
    Binding,
    Report,
    check_vendor_platform,
    read_token,
    read_user_id,
)
from tidings.errors import Code, ServiceError, refused
from tidings.fields import read_int
from tidings.secretbox import SecretBox
from tidings.store import devices as store
from tidings.store import live_activities as activities
from tidings.store.database import Database

TARGET_DEVICE = 1
TARGET_USER = 2


class Deliveries(Protocol):
    """What binding and unbinding change for deliveries (delivery/service.py's Delivery)."""

    channel_names: frozenset[str]  # the channels this process runs

    def adopt_waiting(
        self,
        conn: Connection,
        app_pk: int,
        user_id: str,
        device: DeviceAddress,
        channels: Collection[str],
        now_ms: int,
    ) -> list[int]:
        """In the binding's transaction: give the user's waiting messages to ``device``; the
        ids of the deliveries it now has."""
        ...

    def close_for_unbound(self, conn: Connection, device_pk: int, user_id: str, now_ms: int) -> int:
        """In the unbinding's transaction: close what the device was owed as that user's."""
        ...

    async def send_stored(self, ids: Sequence[int]) -> None:
        """After the binding committed: send the deliveries it handed the device."""
        ...


class Devices:
    def __init__(
        self,
        db: Database,
        broker: Broker,
        deliveries: Deliveries,
        box: SecretBox,
        configs: ChannelSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``box`` seals the phone number a binding gives (only the SMS supplement opens it);
        ``configs`` tells which Web Push hosts an app exempts from the endpoint guard."""
        self._db = db
        self._box = box
        self._broker = broker
        self._deliveries = deliveries
        self._configs = configs
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def seal_plain_phone_numbers(self, batch: int = 500) -> int:
        """Seal the phone numbers bindings kept in plain text before the SMS supplement existed.

        The migration that added sealed numbers could not do it (it has no key), and dropping
        them would lose what an app gave with an answered PushBind. Runs at every start; after
        the first it finds nothing. Returns how many were sealed.
        """
        sealed = 0
        while count := await self._db.write(self._seal_plain_phone_numbers, batch):
            sealed += count
        return sealed

    def _seal_plain_phone_numbers(self, conn: Connection, batch: int) -> int:
        rows = store.plain_phone_numbers(conn, batch)
        for row in rows:
            store.update_device(
                conn,
                row.pk,
                {"phone_ciphertext": self._box.seal(row.phone_number), "phone_number": None},
            )
        return len(rows)

    async def register(self, app_pk: int, platform: str) -> tuple[Device, str]:
        """A new device on the self-built channel, and its secret (shown to it once)."""
        if platform not in PLATFORMS:
            raise ValueError(f"platform must be one of {', '.join(PLATFORMS)}")
        secret = tokens.new_secret()
        now = self._now_ms()
        values = {
            "app_pk": app_pk,
            "token": tokens.new_token(),
            "secret_hash": tokens.hash_secret(secret),
            "platform": platform,
            "manufacturer": platform,
            "created_at": now,
            "last_seen_at": now,
        }
        # Devices register in storms (a fleet after an outage, a new app's launch): the
        # registrations of one loop turn share one INSERT.
        row = await self._db.write_together(store.register_devices, values)
        return Device.from_row(row), secret

    async def authenticate(self, app_pk: int, token: str, secret: str) -> Device | None:
        """The device these credentials belong to, or None (which of the two was wrong is not
        said: that would confirm a DeliveryToken to whoever guesses one)."""
        row = await self._db.read_together(store.find_each, (app_pk, token))
        if row is None or not tokens.secret_matches(secret, row.secret_hash):
            return None
        return Device.from_row(row)

    async def bind(self, app_pk: int, binding: Binding) -> None:
        ids = await self._db.write(
            self._bind, app_pk, binding, self._deliveries.channel_names, self._now_ms()
        )
        await self._deliveries.send_stored(ids)

    def _bind(
        self,
        conn: Connection,
        app_pk: int,
        binding: Binding,
        channels: frozenset[str],
        now_ms: int,
    ) -> list[int]:
        device = _known(conn, app_pk, binding.token)
        users = {binding.user_id} | ({device.user_id} if device.user_id else set())
        store.lock_users(conn, app_pk, sorted(users), exclusive=True)
        if device.platform != binding.platform:
            raise ServiceError(
                Code.INVALID_PARAM,
                f"OsType says {binding.platform}, but device {binding.token} registered as "
                f"{device.platform}",
            )
        if device.user_id is not None and device.user_id != binding.user_id:
            self._deliveries.close_for_unbound(conn, device.pk, device.user_id, now_ms)
        store.update_device(
            conn,
            device.pk,
            {
                "user_id": binding.user_id,
                "phone_ciphertext": (
                    self._box.seal(binding.phone_number) if binding.phone_number else None
                ),
                "bound_at": now_ms,
                "unbound_at": None,
            },
        )
        return self._deliveries.adopt_waiting(
            conn, app_pk, binding.user_id, device.address, channels, now_ms
        )

    async def unbind(self, app_pk: int, raw_token: str | None, raw_user_id: str | None) -> None:
        token = read_token(raw_token)
        user_id = read_user_id(raw_user_id)
        await self._db.write(self._unbind, app_pk, token, user_id, self._now_ms())

    def _unbind(self, conn: Connection, app_pk: int, token: str, user_id: str, now_ms: int) -> None:
        device = _known(conn, app_pk, token)
        if device.user_id is None:
            return  # unbinding twice is not an error
        if device.user_id != user_id:
            raise ServiceError(
                Code.INVALID_PARAM, f"device {token} is not bound to UserId {user_id!r}"
            )
        store.lock_users(conn, app_pk, [user_id], exclusive=True)
        store.update_device(
            conn, device.pk, {"user_id": None, "phone_ciphertext": None, "unbound_at": now_ms}
        )
        self._deliveries.close_for_unbound(conn, device.pk, user_id, now_ms)

    async def report(self, app_pk: int, report: Report) -> None:
        """Record a device's vendor token and facts, adding the device if it is new (an iOS
        device is known by its APNs token, which never passes through the self-built channel).
        A Web Push subscription whose endpoint may not be reached is refused here (and checked
        again at each send: channels/destinations.py)."""
        if report.manufacturer == webpush.NAME and report.third_token is not None:
            config = (await self._configs.of_app(app_pk)).get(webpush.NAME)
            try:
                await webpush.check_endpoint(report.third_token, config)
            except ValueError as exc:
                raise refused(
                    Code.INVALID_PARAM, "ThirdChannelDeviceToken", f"is refused: {exc}"
                ) from None
        for _ in range(2):
            try:
                await self._db.write(self._report, app_pk, report, self._now_ms())
                return
            except IntegrityError:  # the same new token reported twice at once: update it
                continue
        raise RuntimeError("reporting the device kept colliding")

    def _report(self, conn: Connection, app_pk: int, report: Report, now_ms: int) -> None:
        row = store.find(conn, app_pk, report.token)
        vendor: dict[str, object] = {}
        if report.third_token is not None:
            vendor = {
                "third_channel": report.third_channel,
                "third_token": report.third_token,
                "manufacturer": report.manufacturer,
            }
        if row is None:
            store.insert_device(
                conn,
                {
                    "app_pk": app_pk,
                    "token": report.token,
                    "platform": report.platform,
                    "manufacturer": report.platform,
                    "facts": json.dumps(report.facts) if report.facts else None,
                    "created_at": now_ms,
                    **vendor,
                },
            )
            return
        if row.platform != report.platform:
            raise ServiceError(
                Code.INVALID_PARAM,
                f"OsType says {report.platform}, but device {report.token} registered as "
                f"{row.platform}",
            )
        facts = {**(json.loads(row.facts) if row.facts else {}), **report.facts}
        store.update_device(conn, row.pk, {"facts": json.dumps(facts) or None, **vendor})

    async def report_vendor(self, device_pk: int, vendor: str, token: str) -> None:
        """A connected device reports its push token on a vendor channel (the device protocol's
        ``report`` frame): recorded as PushReport records ThirdChannel and its token."""
        await self._db.write(self._report_vendor, device_pk, vendor, token)

    def _report_vendor(self, conn: Connection, device_pk: int, vendor: str, token: str) -> None:
        row = store.by_pk(conn, device_pk)
        assert row is not None, "a connected device exists"
        check_vendor_platform(vendor, row.platform)
        vendor_fields = {
            "third_channel": THIRD_CHANNELS[vendor],
            "third_token": token,
            "manufacturer": MANUFACTURERS[vendor],
        }
        store.update_device(conn, device_pk, vendor_fields)

    async def register_activity(self, device_pk: int, activity_id: str, push_token: str) -> None:
        """A connected device started a Live Activity (the device protocol's ``activity``
        frame): DeliveryType 6 pushes to its id go to this APNs push token until one ends it."""
        await self._db.write(self._register_activity, device_pk, activity_id, push_token)

    def _register_activity(
        self, conn: Connection, device_pk: int, activity_id: str, push_token: str
    ) -> None:
        app_pk = _ios_app(conn, device_pk)
        activities.register(conn, app_pk, device_pk, activity_id, push_token, self._now_ms())

    async def register_start_token(
        self, device_pk: int, attributes_type: str, push_token: str
    ) -> None:
        """A connected device's push-to-start token for an ActivityAttributes type (the
        ``activityStartToken`` frame): a push with ActivityEvent ``start`` to the device, or to
        its user, starts a Live Activity of that type through it."""
        await self._db.write(self._register_start_token, device_pk, attributes_type, push_token)

    def _register_start_token(
        self, conn: Connection, device_pk: int, attributes_type: str, push_token: str
    ) -> None:
        _ios_app(conn, device_pk)
        activities.register_start_token(
            conn, device_pk, attributes_type, push_token, self._now_ms()
        )

    async def register_live_activity(self, app_pk: int, given: ActivityRegistration) -> None:
        """RegisterLiveActivity (a Tidings extension action): what the ``activity`` and
        ``activityStartToken`` frames register, for a device known by its DeliveryToken, so an
        app server can register the tokens its iOS app sends it."""
        await self._db.write(self._register_live_activity, app_pk, given)

    def _register_live_activity(
        self, conn: Connection, app_pk: int, given: ActivityRegistration
    ) -> None:
        row = store.find(conn, app_pk, given.token)
        if row is None:
            raise refused(Code.INVALID_PARAM, "DeliveryToken", f"{given.token} is no device here")
        if given.activity_id is not None:
            self._register_activity(conn, row.pk, given.activity_id, given.push_token)
        else:
            assert given.attributes_type is not None
            self._register_start_token(conn, row.pk, given.attributes_type, given.push_token)

    async def state(self, app_pk: int, raw_type: str | None, raw_target: str | None) -> DeviceState:
        """PushQueryDeviceState: the device, or for a user the device to show (an online one
        first, then the most recently bound)."""
        found, online = await self._present(app_pk, raw_type, raw_target)
        return _state(next((d for d in found if d.pk in online), found[0]), online)

    async def states(
        self, app_pk: int, raw_type: str | None, raw_target: str | None
    ) -> list[DeviceState]:
        """Every device the target names (a user's: most recently bound first), for the console;
        refused as PushQueryDeviceState refuses."""
        found, online = await self._present(app_pk, raw_type, raw_target)
        return [_state(device, online) for device in found]

    async def _present(
        self, app_pk: int, raw_type: str | None, raw_target: str | None
    ) -> tuple[list[Device], set[int]]:
        target_type = read_int(
            raw_type, "TargetType", Code.INVALID_PARAM, allowed=(TARGET_DEVICE, TARGET_USER)
        )
        if target_type is None:
            raise ServiceError(Code.INVALID_PARAM, "TargetType is required (1 device, 2 user)")
        if not raw_target:
            raise ServiceError(Code.INVALID_PARAM, "Target is required")
        if target_type == TARGET_DEVICE:
            row = await self._db.read(store.find, app_pk, raw_target)
            found = [Device.from_row(row)] if row else []
        else:
            found = [
                Device.from_row(r) for r in await self._db.read(store.by_user, app_pk, raw_target)
            ]
        if not found:
            what = "device" if target_type == TARGET_DEVICE else "device bound to user"
            raise ServiceError(Code.INVALID_PARAM, f"no {what} {raw_target!r} in this app")
        return found, await self._broker.online([d.pk for d in found])


def _state(device: Device, online: set[int]) -> DeviceState:
    if device.platform != "android":
        return DeviceState(device, None)
    return DeviceState(device, device.pk in online)


def _known(conn: Connection, app_pk: int, token: str) -> Device:
    row = store.find(conn, app_pk, token)
    if row is None:
        raise ServiceError(
            Code.INVALID_PARAM,
            f"DeliveryToken {token!r} is not a device of this app (devices register over the "
            "device channel, or are reported with PushReport)",
        )
    return Device.from_row(row)


def _ios_app(conn: Connection, device_pk: int) -> int:
    """The app of a connected device that may hold Live Activity tokens (APNs tokens: an iOS
    device; any other is refused)."""
    row = store.by_pk(conn, device_pk)
    assert row is not None, "a connected device exists"
    check_vendor_platform("apns", row.platform)
    return row.app_pk
