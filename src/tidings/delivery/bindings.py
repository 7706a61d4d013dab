"""What a user binding changes for deliveries, run inside the binding's own transaction.

Binding a device to a user hands it the user's messages that found no device (NoBindInfo) and
are still valid, but for a Live Activity push its own token cannot take (routing's
``takes_on_own_token``): that one keeps waiting. Unbinding closes what the device was still owed
as that user's: those messages were addressed to the user, and the device no longer belongs to
them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import Connection

from tidings.contract import DeviceAddress, PushOptions, Status
from tidings.delivery.routing import router_for, takes_on_own_token
from tidings.delivery.writing import VENDOR_LEASE_MS, leased
from tidings.store import deliveries as store


def adopt_waiting(
    conn: Connection,
    app_pk: int,
    user_id: str,
    device: DeviceAddress,
    channels: Collection[str],
    now_ms: int,
) -> list[int]:
    """Give the user's waiting messages to ``device``; the ids of the deliveries it now has.

    ``channels`` names the channels this process runs; routing uses those the app configured.
    """
    usable = store.configured_channels(conn, [app_pk])[app_pk] & set(channels)
    by_channel: dict[str, list[int]] = defaultdict(list)
    for row in store.waiting_for_user(conn, app_pk, user_id, now_ms):
        options = PushOptions.from_json(row.options)
        channel = router_for(options, row.delivery_type, usable)(device)
        if takes_on_own_token(options, channel):
            by_channel[channel].append(row.id)
    for channel, ids in by_channel.items():
        # sent once the binding commits: a vendor delivery is leased, so if that send fails or
        # the process dies first, the retry sweep sends it when the lease runs out
        lease = now_ms + VENDOR_LEASE_MS if leased(channel, Status.PENDING) else None
        store.hand_to_device(conn, ids, device.pk, channel, Status.PENDING, now_ms, lease)
    return sorted(i for ids in by_channel.values() for i in ids)


def close_for_unbound(conn: Connection, device_pk: int, user_id: str, now_ms: int) -> int:
    return store.close_for_device(conn, device_pk, user_id, Status.PENDING, Status.NO_BIND, now_ms)
