"""What ``/metrics`` shows, in the Prometheus text format (prometheus-client).

Counters count what happened in this process since it started: requests by action and result
code, and deliveries reaching a status by channel. Prometheus sums them over processes. Gauges
are read when scraped: devices connected to this process, and, from the database every process
shares, the work waiting (due tasks, pending deliveries, occurrences) and how late the scheduler
is running. docs/operations.md lists them.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
)
from sqlalchemy import Connection

from tidings.contract import Status, status_name
from tidings.store import health
from tidings.store.database import Database
from tidings.tasks import ACCEPTED, PENDING

__all__ = ["CONTENT_TYPE", "REGISTRY", "deliveries", "render", "request"]

disable_created_metrics()  # the *_created series only repeat when the process started
REGISTRY = CollectorRegistry(auto_describe=True)

_REQUESTS = Counter(
    "tidings_requests",
    "OpenAPI requests answered, by action and result code",
    ["action", "code"],
    registry=REGISTRY,
)
_DELIVERIES = Counter(
    "tidings_deliveries",
    "Deliveries that reached a status in this process, by channel and status",
    ["channel", "status"],
    registry=REGISTRY,
)
CONNECTED = Gauge(
    "tidings_connected_devices", "Devices connected to this process", registry=REGISTRY
)
QUEUES = Gauge(
    "tidings_queue_depth",
    "Work waiting, by queue: tasks due for delivery, deliveries pending or waiting for a "
    "binding, occurrences not yet fired",
    ["queue"],
    registry=REGISTRY,
)
SCHEDULER_LAG = Gauge(
    "tidings_scheduler_lag_seconds",
    "How long the most overdue occurrence has been waiting to fire (0 when none is overdue)",
    registry=REGISTRY,
)


def request(action: str, code: str) -> None:
    _REQUESTS.labels(action, code).inc()


def deliveries(made: Mapping[tuple[str | None, int], int]) -> None:
    """Count deliveries by (channel, status); the channel is None for a delivery without a
    device."""
    for (channel, status), count in made.items():
        _DELIVERIES.labels(channel or "none", status_name(status)).inc(count)


async def render(db: Database, connected: int, now_ms: int) -> bytes:
    """The metrics text, gauges read now."""
    depths, oldest = await db.read(_waiting, now_ms)
    for queue, depth in depths.items():
        QUEUES.labels(queue).set(depth)
    SCHEDULER_LAG.set(max(0, now_ms - oldest) / 1000 if oldest is not None else 0)
    CONNECTED.set(connected)
    return generate_latest(REGISTRY)


def _waiting(conn: Connection, now_ms: int) -> tuple[dict[str, int], int | None]:
    depths = {
        "tasks_due": health.tasks_due(conn, ACCEPTED, now_ms),
        "deliveries_pending": health.deliveries_open(conn, Status.PENDING, now_ms),
        "deliveries_no_binding": health.deliveries_open(conn, Status.NO_BIND, now_ms),
        "occurrences_waiting": health.tasks_in(conn, PENDING),
    }
    return depths, health.oldest_due(conn, PENDING)
