"""The delivery service: what the rest of Tidings calls to get messages out.

- Acceptance (push/) and the scheduler (schedule/) call ``tasks_ready()`` after committing a
  task that is due; the dispatcher wakes and resolves it.
- The channels this process runs (the self-built one and the vendors') are handed in when the
  services are put together; routing picks among their names.
- The gateway asks for a device's ``pending`` deliveries (and ``pending_recalls``) when it
  connects and reports ``acked``/``opened``/``revoke_confirmed`` as frames arrive.
- Devices (devices/) bind and unbind users through ``adopt_waiting`` and ``close_for_unbound``
  inside their own transactions (delivery/bindings.py), then ``send_stored`` what a binding
  handed a device.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from sqlalchemy import Connection, Row

from tidings.contract import (
    REVOCABLE_DAYS,
    SELFBUILT,
    Channel,
    Outbound,
    Recall,
    Status,
)
from tidings.delivery import bindings
from tidings.delivery.dispatcher import Dispatcher
from tidings.delivery.outbound import outbound_from_rows
from tidings.delivery.outcomes import Recorder
from tidings.instants import DAY_MS
from tidings.store import deliveries as store
from tidings.store.database import Database


class Delivery:
    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        owed: Callable[[Sequence[int]], Awaitable[None]],
        *,
        clock: Callable[[], float] = time.time,
        sweep_seconds: float = 10.0,
        batch_rows: int = 500,
    ) -> None:
        self._db = db
        self._clock = clock
        self._channels = channels
        self.channel_names = frozenset(channels)
        self._recorder = Recorder(db, clock=clock)
        # Devices acknowledged these self-built deliveries (written, and counted in the metrics,
        # with the others of the recorder's next batch). The gateway calls it for nearly every
        # frame a device sends: the recorder's own method, with no Python method around it.
        self.acked: Callable[[Iterable[int]], None] = self._recorder.acked
        self._dispatcher = Dispatcher(
            db,
            channels,
            self._recorder,
            owed,
            clock=clock,
            sweep_seconds=sweep_seconds,
            expire_batch_rows=batch_rows,
        )

    def start(self) -> None:
        """Start dispatching: at once for whatever is due, then on every wake-up and sweep."""
        self._dispatcher.start()

    async def tasks_ready(self) -> None:
        """Tasks in state 'accepted' with due_at <= now were committed: deliver them now."""
        self._dispatcher.wake()

    async def owed(
        self, device_pks: Sequence[int], per_device: int
    ) -> tuple[list[Outbound], list[Recall]]:
        """What the self-built channel still owes these devices, at most ``per_device`` of each
        kind, oldest first, in one read: pending deliveries, and the revoke frames for
        self-built deliveries revoked within REVOCABLE_DAYS that the device has not confirmed (a
        notification older than the revocable ones is not recalled either)."""
        now_ms = int(self._clock() * 1000)
        since = now_ms - REVOCABLE_DAYS * DAY_MS

        def read(conn: Connection) -> tuple[list[Row], list[Row]]:
            pending = store.pending_outbound(
                conn, device_pks, Status.PENDING, SELFBUILT, now_ms, per_device
            )
            recalls = store.pending_recalls(
                conn, device_pks, Status.REVOKED, SELFBUILT, since, per_device
            )
            return pending, recalls

        pending, recalls = await self._db.read(read)
        return outbound_from_rows(pending), [
            Recall(row.id, row.device_pk, row.task_id, row.msg_key) for row in recalls
        ]

    def revoke_confirmed(self, ids: Iterable[int]) -> None:
        self._recorder.withdrawn(ids)

    # In a binding's own transaction (devices/service.py): what it changes for deliveries.
    adopt_waiting = staticmethod(bindings.adopt_waiting)
    close_for_unbound = staticmethod(bindings.close_for_unbound)

    async def send_stored(self, ids: Sequence[int]) -> None:
        """Send deliveries that already exist (a binding just handed them to a device)."""
        if ids:
            self._dispatcher.hand_over(
                outbound_from_rows(await self._db.read(store.outbound_by_id, ids))
            )

    async def acks_written(self) -> None:
        """Returns once every ack reported so far is written (or its write failed)."""
        await self._recorder.written()

    def opened(self, device_pk: int, ids: Iterable[int]) -> None:
        self._recorder.opened(device_pk, ids)

    def seen(self, device_pk: int) -> None:
        self._recorder.seen(device_pk)

    async def aclose(self) -> None:
        await self._dispatcher.aclose()
        await self._recorder.aclose()
