"""What ``/metrics`` shows, in the Prometheus text format (prometheus-client).

Counters count what happened in this process since it started: requests by action and result
code, and deliveries reaching a status by channel; whatever counts them calls ``request`` or
``deliveries``, so this module depends on nothing it counts. Prometheus sums them over
processes. Gauges are read when scraped (app.py reads them and calls ``render``): devices
connected to this process, and, from the database every process shares, the work waiting (due
tasks, pending deliveries, occurrences) and how late the scheduler is running.
docs/operations.md lists them.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from tidings.contract import SELFBUILT, Status, status_name

__all__ = [
    "CONTENT_TYPE",
    "REGISTRY",
    "deliveries",
    "prune_batch",
    "pruned",
    "render",
    "request",
    "selfbuilt_acked",
    "webhook_request",
    "webhooks",
]

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
_WEBHOOKS = Counter(
    "tidings_webhook_events",
    "Webhook events this process sent, by result: delivered (the endpoint answered 2xx), "
    "retried (it did not; tried again later), expired (dropped after the retry period)",
    ["result"],
    registry=REGISTRY,
)
_WEBHOOK_REQUESTS = Counter(
    "tidings_webhook_requests",
    "Webhook requests this process made, by the answer's status code ('error': none came)",
    ["code"],
    registry=REGISTRY,
)
_SMS = Counter(
    "tidings_sms_supplements",
    "SMS supplements this process settled, by result: sent, failed, skipped (no phone number, "
    "revoked), arrived (the push arrived in time, so none was needed)",
    ["result"],
    registry=REGISTRY,
)
_SELFBUILT_ACKED = _DELIVERIES.labels(SELFBUILT, status_name(Status.ACKED))
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
_PRUNED = Counter(
    "tidings_retention_pruned_rows",
    "Rows retention deleted in this process: finished work (tasks, messages, deliveries and "
    "their events) and analytics counters",
    ["what"],
    registry=REGISTRY,
)
_PRUNE_BATCH = Histogram(
    "tidings_retention_batch_seconds",
    "How long each pruning batch held the database writer",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
    registry=REGISTRY,
)


def request(action: str, code: str) -> None:
    _REQUESTS.labels(action, code).inc()


def deliveries(made: Mapping[tuple[str | None, int], int]) -> None:
    """Count deliveries by (channel, status); the channel is None for a delivery without a
    device."""
    for (channel, status), count in made.items():
        _DELIVERIES.labels(channel or "none", status_name(status)).inc(count)


def webhooks(result: str, count: int) -> None:
    if count:
        _WEBHOOKS.labels(result).inc(count)


def webhook_request(code: int | None) -> None:
    _WEBHOOK_REQUESTS.labels(str(code) if code is not None else "error").inc()


def sms(result: str, count: int = 1) -> None:
    if count:
        _SMS.labels(result).inc(count)


def selfbuilt_acked(count: int) -> None:
    """Count a batch of acks from devices (the counter's child is looked up once)."""
    _SELFBUILT_ACKED.inc(count)


def pruned(work_rows: int, counter_rows: int) -> None:
    _PRUNED.labels("work").inc(work_rows)
    _PRUNED.labels("counters").inc(counter_rows)


def prune_batch(seconds: float) -> None:
    _PRUNE_BATCH.observe(seconds)


def render(depths: Mapping[str, int], oldest_due: int | None, connected: int, now_ms: int) -> bytes:
    """The metrics text, with the gauges as read now: the depth of each queue, the due time of
    the most overdue occurrence (None: none waits) and the devices connected here."""
    for queue, depth in depths.items():
        QUEUES.labels(queue).set(depth)
    SCHEDULER_LAG.set(max(0, now_ms - oldest_due) / 1000 if oldest_due is not None else 0)
    CONNECTED.set(connected)
    return generate_latest(REGISTRY)
