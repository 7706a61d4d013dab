"""Vendor outcome micro-bench: the database threads' CPU to record what a vendor accepted, per
delivery.

bench/apns_send.py measures the event loop's side of sending to APNs with a recorder that only
keeps the outcomes; this measures the rest a vendor's batch costs the server once it is claimed:

- ``record``: the writer thread (store/database.py's group commit) recording the outcomes the
  delivery service's recorder is given (delivery/outcomes.py: the deliveries marked accepted,
  their ``delivery.sent`` events, counted for analytics), ``--batch`` at a time, each batch
  written before the next is handed over (the outcomes of a channel's batch reach the recorder
  together);
- ``configs``: the reader threads finding each batch's app configurations
  (``ChannelSettings.for_deliveries`` of its Outbounds, a read per batch: what
  ``VendorChannel.send`` asks first).

The database is bench/claim_cpu.py's ``fanout`` shape, claimed and committed (its deliveries are
the self-built channel's, which changes nothing of what is recorded); each run sets them back
to pending, not measured. It prints microseconds of CPU per delivery, min and median of
``--runs`` after one that warms the caches, with the load average. Compare trees with
PYTHONPATH:

    PYTHONPATH=/work/main/src python bench/outcome_cpu.py [--tasks 20] [--batch 500] [--runs 5]
        [--webhook] [--database-url postgresql://postgres@127.0.0.1:5432/test]

With ``--callgrind``, run under ``valgrind --tool=callgrind --instr-atstart=no``: only the
recording is instrumented (bench/procs.py's Callgrind), so the instruction count valgrind prints
is the record leg's, steady on a loaded machine where the CPU clock is not:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no \\
        python bench/outcome_cpu.py --webhook --tasks 5 --runs 2 --callgrind
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from pathlib import Path

from sqlalchemy import Connection, func, select, update

from ack_cpu import claim_all
from claim_cpu import build
from procs import Callgrind, on_fresh_database, print_cpu, threads_cpu
from tidings.config import Settings
from tidings.contract import Outbound, Outcome, Status
from tidings.delivery.outbound import outbound_from_rows
from tidings.services import Services
from tidings.store.deliveries import outbound_by_id
from tidings.store.tables import deliveries, push_stats

CALLGRIND = Callgrind()  # --callgrind: instrument the recording alone


def reset(conn: Connection) -> None:
    pending = {"status": int(Status.PENDING), "sent_at": None, "attempts": 0}
    conn.execute(update(deliveries).values({**pending, "updated_at": 0}))


def accepted(conn: Connection) -> tuple[int, int]:
    """How many deliveries are accepted, and the sum of their counter."""
    done = conn.execute(select(func.count()).where(deliveries.c.sent_at.is_not(None)))
    return done.scalar_one(), conn.execute(select(func.sum(push_stats.c.successful))).scalar_one()


async def record_once(services: Services, ids: list[int], batch: int) -> float:
    """Writer CPU seconds per delivery of recording every one accepted, ``batch`` at a time."""
    recorder = services.delivery._recorder
    await services.db.write(reset)
    _, before = await services.db.read(accepted)
    gc.collect()  # no run pays for the garbage the one before it left
    start = threads_cpu("tidings-write")
    CALLGRIND.instrument(True)
    for at in range(0, len(ids), batch):
        recorder.settled([Outcome(i, Status.ACKED) for i in ids[at : at + batch]])
        await recorder.written()
    CALLGRIND.instrument(False)
    spent = threads_cpu("tidings-write") - start
    done, counted = await services.db.read(accepted)
    if done != len(ids) or (counted or 0) - (before or 0) != len(ids):
        raise RuntimeError(f"{done} accepted, {counted} counted of {len(ids)}")
    return spent / len(ids)


async def configs_once(services: Services, outbound: list[Outbound], batch: int) -> float:
    """Reader CPU seconds per delivery of finding every batch's app configurations."""
    gc.collect()
    start = threads_cpu("tidings-read")
    for at in range(0, len(outbound), batch):
        await services.channel_configs.for_deliveries("apns", outbound[at : at + batch])
    return (threads_cpu("tidings-read") - start) / len(outbound)


async def measure(url: str | None, data: Path, args: argparse.Namespace) -> dict:
    services = await Services.open(Settings(data_dir=data, database_url=url))
    try:
        await build(services, "fanout", args.tasks)
        if args.webhook:
            (app,) = await services.tenancy.apps()
            await services.webhooks.add(app.pk, "http://127.0.0.1:9/hook", "delivery.sent")
        ids = [i for _, i in await asyncio.to_thread(claim_all, services, args.tasks)]
        outbound = outbound_from_rows(await services.db.read(outbound_by_id, ids))
        found: dict[str, list[float]] = {"record": [], "configs": []}
        for _ in range(args.runs + 1):  # the first warms the caches
            found["record"].append(await record_once(services, ids, args.batch))
            found["configs"].append(await configs_once(services, outbound, args.batch))
        return {leg: values[1:] for leg, values in found.items()}
    finally:
        await services.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--webhook", action="store_true")
    parser.add_argument("--database-url")
    parser.add_argument(
        "--callgrind", action="store_true", help="under callgrind: count the recording alone"
    )
    args = parser.parse_args()
    CALLGRIND.enabled = args.callgrind
    found = on_fresh_database(
        args.database_url, "outcomes", lambda url, directory: measure(url, directory, args)
    )
    shape = f"batch {args.batch}{' +webhook' * args.webhook}"
    print_cpu(args.database_url, f"{shape} record  writer CPU µs/outcome", found["record"])
    print_cpu(args.database_url, f"{shape} configs reader CPU µs/outcome", found["configs"])


if __name__ == "__main__":
    sys.exit(main())
