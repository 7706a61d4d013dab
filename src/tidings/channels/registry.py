"""The vendor channels a process runs, wired to the app configurations and to delivery.

Each vendor channel finds a delivery's configuration through the delivery's app. When a vendor
cannot take a delivery (its token died, or the app dropped the channel), the delivery moves to the
self-built channel in one transaction (a dead token is removed from the device in the same one)
and is handed over at once: a device connected now gets it now, any other when it connects,
while the message is valid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from tidings.channels import apns, fcm, hms, honor, oppo, vivo, xiaomi
from tidings.channels.config import ChannelConfig
from tidings.channels.routing import SELFBUILT
from tidings.channels.settings import ChannelSettings
from tidings.channels.vendor import MakeSender, VendorChannel
from tidings.contract import Outbound, Status
from tidings.delivery.service import Delivery
from tidings.store import channels as store
from tidings.store.database import Database

SENDERS: dict[str, Callable[[], MakeSender]] = {
    "apns": apns.sender_factory,
    "fcm": lambda: fcm.make_sender,
    "hms": lambda: hms.make_sender,
    "honor": lambda: honor.make_sender,
    "xiaomi": lambda: xiaomi.make_sender,
    "oppo": lambda: oppo.make_sender,
    "vivo": lambda: vivo.make_sender,
}


def vendor_channels(
    db: Database,
    settings: ChannelSettings,
    delivery: Delivery,
    *,
    clock: Callable[[], float] = time.time,
) -> list[VendorChannel]:
    async def fallback(batch: Sequence[Outbound], forget: bool) -> None:
        dead = [(out.device.pk, out.device.third_token or "") for out in batch] if forget else []
        ids = [out.id for out in batch]
        await db.write(
            store.move_to_channel, ids, dead, SELFBUILT, Status.PENDING, int(clock() * 1000)
        )
        await delivery.send_stored(ids)

    def configs_of(name: str):
        async def find(ids: Sequence[int]) -> dict[int, ChannelConfig]:
            found: dict[int, ChannelConfig] = {}
            for delivery_id, app_pk in (await db.read(store.apps_of_deliveries, ids)).items():
                config = (await settings.of_app(app_pk)).get(name)
                if config is not None:
                    found[delivery_id] = config
            return found

        return find

    return [
        VendorChannel(name, make(), configs_of(name), fallback, clock=clock)
        for name, make in SENDERS.items()
    ]
