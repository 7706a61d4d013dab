"""Soak benchmark: a steady stream of pushes through several retention periods, on a short clock.

Starts ``tidings serve`` on the embedded SQLite database (or ``--database-url`` PostgreSQL)
with retention at its least, 7 days, and a retention day (``retention_day_seconds``) of
``--day-seconds``, so one retention period lasts 7 x ``--day-seconds`` seconds instead of a
week; pruning sweeps every half day. It then sends signed PushMultiple calls of 100
personalised user targets (no device bound: each message gets a delivery that waits, then
expires after ``--expired-seconds``, real seconds) at a steady ``--rate`` calls per second over
``--connections`` connections, for ``--periods`` retention periods.

For each period it prints the messages accepted per second (against the rate asked), the call
latency, the database's size on disk at the period's end (file and write-ahead log), the
messages stored, and what pruning did (rows deleted, its batches and how long they held the
writer, from /metrics). Once the first period has passed, pruning deletes as much as is pushed:
the size and the stored messages stay flat, and ingest keeps its rate and latency.

Analytics counters are kept 90 retention days at the least, longer than a soak: their rows (one
per call) keep growing, a few bytes a call.

    python bench/soak.py [--rate 10] [--day-seconds 10] [--periods 4] [--connections 8]
                         [--expired-seconds 5] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ingest import read_response, sign_calls, start_server
from procs import console, fresh_database

RETENTION_DAYS = 7
TARGETS = 100


@dataclass
class Period:
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    latencies: list[float] = field(default_factory=list)


async def steady(
    port: int,
    requests: list[bytes],
    rate: float,
    connections: int,
    period_seconds: float,
    on_period_end: Callable[[int], Awaitable[None]],
) -> list[Period]:
    """Send ``requests`` at ``rate`` a second, each at its own time, whether or not earlier
    ones were answered; the figures per period. ``on_period_end`` hears each period's end."""
    periods = [Period() for _ in range(int(len(requests) / rate / period_seconds + 0.999))]
    free: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    pending: set[asyncio.Task] = set()

    async def send(request: bytes, period: Period) -> None:
        reader, writer = await free.get()
        started = time.perf_counter()
        writer.write(request)
        answer = await read_response(reader)
        period.latencies.append(time.perf_counter() - started)
        free.put_nowait((reader, writer))
        if b'"ResultCode":"OK"' in answer:
            period.accepted += TARGETS
        else:
            period.refused += 1
            if period.refused == 1:
                console.print(f"refused: {answer[:300]!r}")

    start = time.perf_counter()
    current = 0
    for n, request in enumerate(requests):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        number = int((due - start) / period_seconds)
        if number != current:
            await on_period_end(current)
            current = number
        period = periods[number]
        period.sent += 1
        task = asyncio.create_task(send(request, period))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    await on_period_end(current)
    while not free.empty():
        _, writer = free.get_nowait()
        writer.close()
    return periods


def disk_bytes(data_dir: Path) -> int:
    return sum(
        path.stat().st_size
        for name in ("tidings.db", "tidings.db-wal")
        if (path := data_dir / name).exists()
    )


def stored_messages(data_dir: Path, url: str | None) -> int:
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    with sqlite3.connect(f"file:{data_dir / 'tidings.db'}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM messages").fetchone()[0]


def pruning(port: int) -> dict[str, float]:
    """Rows pruned so far and the batches' count and summed seconds, from /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found = {}
    for name in (
        r'tidings_retention_pruned_rows_total\{what="work"\}',
        r"tidings_retention_batch_seconds_count",
        r"tidings_retention_batch_seconds_sum",
        r'tidings_retention_batch_seconds_bucket\{le="0.05"\}',
    ):
        match = re.search(rf"^{name} (\S+)$", text, re.M)
        found[name] = float(match.group(1)) if match else 0.0
    return {
        "rows": found[r'tidings_retention_pruned_rows_total\{what="work"\}'],
        "batches": found["tidings_retention_batch_seconds_count"],
        "seconds": found["tidings_retention_batch_seconds_sum"],
        "under_50ms": found[r'tidings_retention_batch_seconds_bucket\{le="0.05"\}'],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=10.0, help="calls a second (100 messages)")
    parser.add_argument("--day-seconds", type=int, default=10, help="a retention day, in seconds")
    parser.add_argument("--periods", type=int, default=4, help="retention periods to run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--expired-seconds", type=int, default=5)
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite (a fresh schema)")
    args = parser.parse_args()
    period_seconds = RETENTION_DAYS * args.day_seconds
    total = int(args.rate * period_seconds * args.periods)
    settings = {
        "TIDINGS_RETENTION_DAYS": str(RETENTION_DAYS),
        "TIDINGS_RETENTION_DAY_SECONDS": str(args.day_seconds),
        "TIDINGS_RETENTION_SWEEP_SECONDS": str(max(1.0, args.day_seconds / 2)),
        "TIDINGS_DELIVERY_SWEEP_SECONDS": "1",
    }
    with (
        tempfile.TemporaryDirectory(prefix="tidings-soak-") as tmp,
        fresh_database(args.database_url, Path(tmp), "soak") as url,
    ):
        data = Path(tmp) / "data"
        server, port, key = start_server(
            Path(tmp), url if args.database_url else None, settings=settings
        )
        try:
            requests = sign_calls(key, port, 0, total, "acs3", args.expired_seconds)
            database = url if args.database_url else None
            rows = asyncio.run(run(port, data, database, requests, args, period_seconds))
        finally:
            server.terminate()
            server.wait(timeout=60)
    console.print(report(rows, args, period_seconds))


async def run(
    port: int,
    data: Path,
    url: str | None,
    requests: list[bytes],
    args: argparse.Namespace,
    period_seconds: int,
) -> list[tuple]:
    """Push through every period; a row of figures per period."""
    ends: list[tuple[int, int, dict[str, float]]] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task(
            f"period 1 of {args.periods}", total=args.periods * period_seconds, status=""
        )
        started = time.perf_counter()

        async def tick() -> None:
            while True:
                progress.update(bar, completed=time.perf_counter() - started)
                await asyncio.sleep(0.5)

        async def period_end(number: int) -> None:
            size = disk_bytes(data)
            stored = await asyncio.to_thread(stored_messages, data, url)
            pruned = await asyncio.to_thread(pruning, port)
            ends.append((size, stored, pruned))
            progress.update(
                bar,
                description=f"period {min(number + 2, args.periods)} of {args.periods}",
                status=f"{size / 1e6:,.1f} MB, {stored:,} messages stored",
            )

        ticker = asyncio.create_task(tick())
        try:
            periods = await steady(
                port, requests, args.rate, args.connections, period_seconds, period_end
            )
        finally:
            ticker.cancel()
    rows = []
    before = {"rows": 0.0, "batches": 0.0, "seconds": 0.0, "under_50ms": 0.0}
    for number, (period, (size, stored, pruned)) in enumerate(
        zip(periods, ends, strict=True), start=1
    ):
        latencies = sorted(period.latencies) or [0.0]
        delta = {name: pruned[name] - before[name] for name in before}
        before = pruned
        rows.append(
            (
                number,
                period.accepted / period_seconds,
                period.refused,
                latencies[len(latencies) // 2] * 1000,
                latencies[int(len(latencies) * 0.99)] * 1000,
                size / 1e6,
                stored,
                delta["rows"],
                delta["batches"],
                delta["seconds"] / delta["batches"] * 1000 if delta["batches"] else 0.0,
                delta["under_50ms"] / delta["batches"] if delta["batches"] else 1.0,
            )
        )
    return rows


def report(rows: list[tuple], args: argparse.Namespace, period_seconds: int) -> Table:
    kind = "PostgreSQL" if args.database_url else "SQLite"
    table = Table(
        title=(
            f"Soak, {kind}: {args.rate:g} PushMultiple calls/s of {TARGETS} targets "
            f"({args.rate * TARGETS:,.0f} messages/s asked), retention 7 days of "
            f"{args.day_seconds} s ({period_seconds} s a period)"
        )
    )
    for name in (
        "period",
        "accepted msg/s",
        "refused",
        "p50 ms",
        "p99 ms",
        "DB on disk MB",
        "messages stored",
        "rows pruned",
        "prune batches",
        "mean batch ms",
        "batches < 50 ms",
    ):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            str(row[0]),
            f"{row[1]:,.0f}",
            str(row[2]),
            f"{row[3]:.1f}",
            f"{row[4]:.1f}",
            f"{row[5]:,.1f}",
            f"{row[6]:,}",
            f"{row[7]:,.0f}",
            f"{row[8]:,.0f}",
            f"{row[9]:.1f}",
            f"{row[10]:.0%}",
        )
    return table


if __name__ == "__main__":
    main()
