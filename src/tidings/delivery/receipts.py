"""Taking vendors' receipts: a callback checked with the app's channel configuration, read by
the vendor's own ``ReceiptFormat`` and recorded on the deliveries it names.

A receipt can only speak for deliveries of the app it was posted for that the vendor took (a
receipt naming anything else is ignored), and each fact is recorded once: an arrival sets the
delivery's ``acked_at``, counts it as arrived in analytics and raises ``delivery.arrived`` for
the app's webhooks; an open sets ``opened_at``, counts it as opened and raises
``delivery.opened``; a failure the vendor reports after taking the message joins the delivery's
events for its trace. Receipts repeated by a vendor's retry change nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection

from tidings.analytics import counters
from tidings.channels.app_configs import ChannelSettings
from tidings.channels.catalog import BY_NAME
from tidings.channels.receipt_formats import Event, Receipt
from tidings.contract import Status
from tidings.store import deliveries as store
from tidings.store import tenancy as tenancy_store
from tidings.store.database import Database
from tidings.webhooks import events, outbox

# The column each receipt event sets, by the webhook event it raises.
_COLUMNS = {events.DELIVERY_ARRIVED: "acked_at", events.DELIVERY_OPENED: "opened_at"}


class NoReceipts(LookupError):
    """No receipts are taken at that address (answered 404)."""


class VendorReceipts:
    def __init__(
        self, db: Database, configs: ChannelSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._configs = configs
        self._clock = clock

    async def take(
        self, channel: str, workspace: str, app_id: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any]:
        """Record the receipts of one callback; the answer the vendor expects. Raises
        ``NoReceipts``, ``ReceiptRefused`` or ``ReceiptMalformed``."""
        vendor = BY_NAME.get(channel)
        if vendor is None or vendor.receipts is None:
            raise NoReceipts(f"no receipts are taken for channel {channel!r}")
        app = await self._db.read(tenancy_store.find_app, workspace, app_id)
        config = None if app is None else (await self._configs.of_app(app.pk)).get(channel)
        if app is None or config is None:
            raise NoReceipts(f"app {app_id!r} of workspace {workspace!r} has no {channel} channel")
        receipts = vendor.receipts.read(config, headers, body)
        if receipts:
            now_ms = int(self._clock() * 1000)
            await self._db.write(record, app.pk, channel, receipts, now_ms)
        return vendor.receipts.reply


def record(
    conn: Connection, app_pk: int, channel: str, receipts: list[Receipt], now_ms: int
) -> None:
    def ids(event: Event) -> list[int]:
        return [r.delivery_id for r in receipts if r.event is event]

    arrived = _mark(conn, app_pk, channel, ids(Event.ARRIVED), events.DELIVERY_ARRIVED, now_ms)
    counters.count(conn, counters.ARRIVED, arrived)
    opened = _mark(conn, app_pk, channel, ids(Event.OPENED), events.DELIVERY_OPENED, now_ms)
    counters.count(conn, counters.OPENED, opened)
    failed = [r for r in receipts if r.event is Event.FAILED]
    if failed:
        ours = store.of_app_and_channel(conn, app_pk, channel, [r.delivery_id for r in failed])
        store.insert_events(
            conn,
            [
                {"delivery_id": r.delivery_id, "at": now_ms, "status": Status.ACKED,
                 "reason": f"{channel} {r.detail}"}
                for r in failed
                if r.delivery_id in ours
            ],
        )  # fmt: skip


def _mark(
    conn: Connection, app_pk: int, channel: str, ids: list[int], event_type: str, now_ms: int
) -> list[int | None]:
    """Record one kind of fact on the deliveries it is new for, with its webhook event in the
    same transaction: the outbox call comes first, with the update's own conditions, so it sees
    exactly the rows the update changes (webhooks/outbox.py), and a repeated receipt raises
    no second event."""
    column = _COLUMNS[event_type]
    where = store.vendor_receipt_conditions(app_pk, channel, column, Status.ACKED)
    unique = sorted(set(ids))
    outbox.deliveries_settled(conn, event_type, unique, now_ms, where=where)
    return store.mark_by_vendor(conn, unique, column, where, now_ms)
