"""The delivery service: what the rest of Tidings calls to get messages out.

- Acceptance (push/) and the scheduler (schedule/) call ``tasks_ready()`` after committing a
  task that is due; the dispatcher wakes and resolves it.
- Channels register with ``add_channel``; routing picks among the registered names.
- The gateway asks for a device's ``pending`` deliveries (and ``pending_recalls``) when it
  connects and reports ``acked``/``opened``/``revoke_confirmed`` as frames arrive.
- Revocation (revoke/) calls ``recall`` for devices that may hold a delivery it revoked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Sequence

from tidings import metrics
from tidings.channels.selfbuilt import SelfBuiltChannel
from tidings.contract import SELFBUILT, Channel, Outbound, Recall, Status
from tidings.delivery.dispatcher import Dispatcher
from tidings.delivery.outbound import outbound_from_rows
from tidings.delivery.outcomes import Recorder
from tidings.store import deliveries as store
from tidings.store.database import Database

# How long a device is told of a revocation it has not confirmed: MPS revokes messages of the
# last 7 days, so a notification older than that is not revoked either.
RECALL_DAYS = 7


class Delivery:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], float] = time.time,
        sweep_seconds: float = 10.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._channels: dict[str, Channel] = {}
        self._recorder = Recorder(db, clock=clock)
        self._dispatcher = Dispatcher(
            db, self._channels, self._recorder, clock=clock, sweep_seconds=sweep_seconds
        )

    def add_channel(self, channel: Channel) -> None:
        self._channels[channel.name] = channel

    @property
    def channel_names(self) -> frozenset[str]:
        return frozenset(self._channels)

    def start(self) -> None:
        """Start dispatching: at once for whatever is due, then on every wake-up and sweep."""
        self._dispatcher.start()

    async def tasks_ready(self) -> None:
        """Tasks in state 'accepted' with due_at <= now were committed: deliver them now."""
        self._dispatcher.wake()

    async def pending(self, device_pks: Sequence[int]) -> list[Outbound]:
        """What the self-built channel still owes these devices, oldest first."""
        rows = await self._db.read(
            store.pending_outbound,
            device_pks,
            Status.PENDING,
            SELFBUILT,
            int(self._clock() * 1000),
        )
        return outbound_from_rows(rows)

    async def pending_recalls(self, device_pks: Sequence[int]) -> list[Recall]:
        """The revoke frames these devices are owed: self-built deliveries revoked within
        RECALL_DAYS that the device has not confirmed."""
        since = int(self._clock() * 1000) - RECALL_DAYS * 86_400_000
        rows = await self._db.read(
            store.pending_recalls, device_pks, Status.REVOKED, SELFBUILT, since
        )
        return [Recall(row.id, row.device_pk, row.task_id, row.msg_key) for row in rows]

    async def recall(self, device_pks: Collection[int]) -> None:
        """Revocations for these devices were committed: send them their revoke frames."""
        channel = self._channels.get(SELFBUILT)
        if device_pks and isinstance(channel, SelfBuiltChannel):
            await channel.nudge(device_pks)

    def revoke_confirmed(self, ids: Iterable[int]) -> None:
        self._recorder.withdrawn(ids)

    async def send_stored(self, ids: Sequence[int]) -> None:
        """Send deliveries that already exist (a binding just handed them to a device)."""
        if ids:
            self._dispatcher.hand_over(
                outbound_from_rows(await self._db.read(store.outbound_by_id, ids))
            )

    def acked(self, ids: Sequence[int]) -> None:
        metrics.deliveries({(SELFBUILT, Status.ACKED): len(ids)})
        self._recorder.acked(ids)

    def opened(self, device_pk: int, ids: Iterable[int]) -> None:
        self._recorder.opened(device_pk, ids)

    def seen(self, device_pk: int) -> None:
        self._recorder.seen(device_pk)

    async def aclose(self) -> None:
        await self._dispatcher.aclose()
        await self._recorder.aclose()
        for channel in self._channels.values():
            await channel.aclose()
