"""Ack micro-bench: the writer thread's CPU to record devices' acks (or opens), per ack.

Isolates what the server does with acks once the gateway has read them: the delivery service's
``acked`` (delivery/outcomes.py's Recorder), its batch's transaction on the writer thread
(store/database.py's group commit) settling the deliveries, counting them for analytics and,
with ``--webhook``, raising ``delivery.arrived`` for an endpoint. With ``--opens``, the same of
each device reporting its delivery opened (``opened``, a frame each: ``delivery.opened``). The
gateway and the event loop are left out; bench/fanout.py measures them with the rest.

The database is built in process through the services, as bench/claim_cpu.py builds its
``fanout`` shape: registered devices and ``--tasks`` PushMultiple calls of 100 personalised
targets, claimed (and committed) so that each has a pending self-built delivery. Each run hands
every delivery's ack to the service in batches, in the order of the deliveries' ids (the order
they are sent in), as the gateway's acks reach it during a burst (bench/fanout.py's 10,000
devices: batches of 48 to 800 acks, half of them above 480), each batch written before the
next is handed over, and reads the writer thread's CPU clock around them; then sets the
deliveries back to pending (not measured). With ``--vary`` the batch sizes are drawn between 1
and twice ``--batch``, other sizes in every run (the same ones in every tree), so that, as in a
server, statements of sizes not prepared before are run too. It prints microseconds of the
writer thread's CPU per ack, min and median of ``--runs`` after one run that warms the caches,
with the load average.

    python bench/ack_cpu.py [--tasks 20] [--batch 480] [--vary] [--runs 5] [--opens]
                            [--webhook] [--database-url postgresql://postgres@127.0.0.1:5432/test]

With ``--callgrind``, run under ``valgrind --tool=callgrind --instr-atstart=no``: only the
acks' hand-over and writing are instrumented (bench/procs.py's Callgrind), every thread of the
process, so the instruction count valgrind prints, divided by the acks (tasks × 100 × (runs + 1)),
is the ack's record leg alone, steady on a loaded machine where the CPU clock is not:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \\
        python bench/ack_cpu.py --tasks 5 --batch 100 --runs 2 --callgrind
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import time
from pathlib import Path

from sqlalchemy import Connection, func, select, update

from claim_cpu import build
from procs import Callgrind, on_fresh_database, print_cpu, threads_cpu
from tidings.config import Settings
from tidings.contract import Status
from tidings.services import Services
from tidings.store.tables import deliveries, push_stats

CALLGRIND = Callgrind()  # --callgrind: instrument the acks alone


def claim_all(services: Services, tasks: int) -> list[tuple[int, int]]:
    """Claim every task, committed: the deliveries made, (device_pk, id) each, by id."""
    dispatcher = services.delivery._dispatcher
    dispatcher._tasks_per_claim = tasks
    with services.db.engine.begin() as conn:
        dispatcher._claim(conn, int(time.time() * 1000), frozenset(services.channels))
        query = select(deliveries.c.device_pk, deliveries.c.id).order_by(deliveries.c.id)
        return [(device_pk, i) for device_pk, i in conn.execute(query)]


def batch_sizes(count: int, batch: int, vary: bool, run: int) -> list[int]:
    """Sizes of the batches ``count`` acks are handed over in, the ``run``th time."""
    draw = random.Random(run)
    sizes = []
    while count:
        size = min(count, draw.randint(1, 2 * batch) if vary else batch)
        sizes.append(size)
        count -= size
    return sizes


def reset(conn: Connection) -> None:
    pending = {"status": int(Status.PENDING), "acked_at": None, "opened_at": None}
    conn.execute(update(deliveries).values({**pending, "updated_at": 0}))


def settled(conn: Connection, opens: bool) -> tuple[int, int]:
    """How many deliveries are acked (``opens``: opened), and the sum of their counter."""
    column, counter = ("opened_at", "opened") if opens else ("acked_at", "arrived")
    done = conn.execute(select(func.count()).where(deliveries.c[column].is_not(None)))
    return done.scalar_one(), conn.execute(select(func.sum(push_stats.c[counter]))).scalar_one()


async def ack_once(
    services: Services, deliveries: list[tuple[int, int]], sizes: list[int], opens: bool
) -> float:
    """Writer CPU seconds per ack of acking every delivery (``opens``: reporting it opened by
    its device, a frame each), in batches of ``sizes``."""
    delivery = services.delivery
    await services.db.write(reset)
    _, counted_before = await services.db.read(settled, opens)
    gc.collect()  # no run pays for the garbage the one before it left
    start, at = threads_cpu("tidings-write"), 0
    CALLGRIND.instrument(True)
    for size in sizes:
        batch = deliveries[at : at + size]
        at += size
        if opens:
            for device_pk, delivery_id in batch:
                delivery.opened(device_pk, (delivery_id,))
        else:
            delivery.acked([delivery_id for _, delivery_id in batch])
        await delivery.acks_written()
    CALLGRIND.instrument(False)
    spent = threads_cpu("tidings-write") - start
    done, counted = await services.db.read(settled, opens)
    if done != len(deliveries) or counted - counted_before != len(deliveries):
        raise RuntimeError(f"{done} done, {counted - counted_before} counted of {len(deliveries)}")
    return spent / len(deliveries)


async def measure(url: str | None, data: Path, args: argparse.Namespace) -> list[float]:
    services = await Services.open(Settings(data_dir=data, database_url=url))
    try:
        await build(services, "fanout", args.tasks)
        if args.webhook:
            (app,) = await services.tenancy.apps()
            event = "delivery.opened" if args.opens else "delivery.arrived"
            await services.webhooks.add(app.pk, "http://127.0.0.1:9/hook", event)
        made = await asyncio.to_thread(claim_all, services, args.tasks)
        found = []
        for run in range(args.runs + 1):  # the first warms the caches
            sizes = batch_sizes(len(made), args.batch, args.vary, run)
            found.append(await ack_once(services, made, sizes, args.opens))
        return found[1:]
    finally:
        await services.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--batch", type=int, default=480)
    parser.add_argument("--vary", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--opens", action="store_true")
    parser.add_argument("--webhook", action="store_true")
    parser.add_argument("--database-url")
    parser.add_argument(
        "--callgrind", action="store_true", help="under callgrind: count the acks alone"
    )
    args = parser.parse_args()
    CALLGRIND.enabled = args.callgrind
    found = on_fresh_database(
        args.database_url, "acks", lambda url, directory: measure(url, directory, args)
    )
    shape = f"batch {args.batch}{' varied' * args.vary}{' +webhook' * args.webhook}"
    print_cpu(args.database_url, f"{shape} writer CPU µs/{'open' if args.opens else 'ack'}", found)


if __name__ == "__main__":
    sys.exit(main())
