"""Ack micro-bench: the writer thread's CPU to record devices' acks, per ack.

Isolates what the server does with acks once the gateway has read them: the delivery service's
``acked`` (delivery/outcomes.py's Recorder), its batch's transaction on the writer thread
(store/database.py's group commit) settling the deliveries, counting them for analytics and,
with ``--webhook``, raising ``delivery.arrived`` for an endpoint. The gateway and the event loop
are left out; bench/fanout.py measures them with the rest.

The database is built in process through the services, as bench/claim_cpu.py builds its
``fanout`` shape: registered devices and ``--tasks`` PushMultiple calls of 100 personalised
targets, claimed (and committed) so that each has a pending self-built delivery. Each run hands
every delivery's ack to the service in batches, in the order of the deliveries' ids (the order
they are sent in), as the gateway's acks reach it during a burst
(bench/fanout.py's 10,000 devices: batches of 48 to 800 acks, half of them above 480), each
batch written before the next is handed over, and reads the writer thread's CPU clock around
them; then sets the deliveries back to pending (not measured). With ``--vary`` the batch sizes
are drawn between 1 and twice ``--batch``, other sizes in every run (the same ones in every
tree), so that, as in a server, statements of sizes not prepared before are run too. It prints
microseconds of the writer thread's CPU per ack, min and median of ``--runs`` after one run
that warms the caches, with the load average.

    python bench/ack_cpu.py [--tasks 20] [--batch 480] [--vary] [--runs 5] [--webhook]
                            [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Connection, func, select, update

from claim_cpu import build
from procs import on_fresh_database, print_cpu
from tidings.config import Settings
from tidings.contract import Status
from tidings.services import Services
from tidings.store.tables import deliveries, push_stats


def claim_all(services: Services, tasks: int) -> list[int]:
    """Claim every task, committed: the ids of the deliveries made."""
    dispatcher = services.delivery._dispatcher
    dispatcher._tasks_per_claim = tasks
    with services.db.engine.begin() as conn:
        dispatcher._claim(conn, int(time.time() * 1000), frozenset(services.channels))
        return list(conn.execute(select(deliveries.c.id).order_by(deliveries.c.id)).scalars())


def batch_sizes(count: int, batch: int, vary: bool, run: int) -> list[int]:
    """Sizes of the batches ``count`` acks are handed over in, the ``run``th time."""
    draw = random.Random(run)
    sizes = []
    while count:
        size = min(count, draw.randint(1, 2 * batch) if vary else batch)
        sizes.append(size)
        count -= size
    return sizes


def writer_cpu() -> float:
    """CPU seconds of every group-commit writer thread so far."""
    return sum(
        time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        for t in threading.enumerate()
        if t.name.startswith("tidings-write")
    )


def reset(conn: Connection) -> None:
    conn.execute(update(deliveries).values(status=int(Status.PENDING), acked_at=None, updated_at=0))


def settled(conn: Connection) -> tuple[int, int]:
    acked = conn.execute(
        select(func.count()).where(deliveries.c.status == int(Status.ACKED))
    ).scalar_one()
    return acked, conn.execute(select(func.sum(push_stats.c.arrived))).scalar_one()


async def ack_once(services: Services, ids: list[int], sizes: list[int]) -> float:
    """Writer CPU seconds per ack of acking every delivery, in batches of ``sizes``."""
    delivery = services.delivery
    await services.db.write(reset)
    _, arrived_before = await services.db.read(settled)
    gc.collect()  # no run pays for the garbage the one before it left
    start, at = writer_cpu(), 0
    for size in sizes:
        delivery.acked(ids[at : at + size])
        at += size
        await delivery.acks_written()
    spent = writer_cpu() - start
    acked, arrived = await services.db.read(settled)
    if acked != len(ids) or arrived - arrived_before != len(ids):
        raise RuntimeError(f"{acked} acked, {arrived - arrived_before} counted of {len(ids)}")
    return spent / len(ids)


async def measure(
    url: str | None, data: Path, tasks: int, batch: int, vary: bool, runs: int, webhook: bool
) -> list[float]:
    services = await Services.open(Settings(data_dir=data, database_url=url))
    try:
        await build(services, "fanout", tasks)
        if webhook:
            (app,) = await services.tenancy.apps()
            await services.webhooks.add(app.pk, "http://127.0.0.1:9/hook", "delivery.arrived")
        ids = await asyncio.to_thread(claim_all, services, tasks)
        found = []
        for run in range(runs + 1):  # the first warms the caches
            found.append(await ack_once(services, ids, batch_sizes(len(ids), batch, vary, run)))
        return found[1:]
    finally:
        await services.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--batch", type=int, default=480)
    parser.add_argument("--vary", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--webhook", action="store_true")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    found = on_fresh_database(
        args.database_url,
        "acks",
        lambda url, directory: measure(
            url, directory, args.tasks, args.batch, args.vary, args.runs, args.webhook
        ),
    )
    shape = f"batch {args.batch}{' varied' * args.vary}{' +webhook' * args.webhook}"
    print_cpu(args.database_url, f"{shape} writer CPU µs/ack", found)


if __name__ == "__main__":
    sys.exit(main())
