"""Claim micro-bench: the writer thread's CPU for dispatch's claim of accepted pushes, per message.

Isolates ``Dispatcher._claim`` (delivery/dispatcher.py): claiming due tasks, reading their
messages and devices, planning, counting and writing the deliveries, marking the tasks
dispatched. Acceptance, the event loop and the hand-over to channels are left out; the other
benches measure them with the rest. The database is built in process through the services, as
the server builds it: an app, a template, registered devices, and ``--tasks`` PushMultiple calls
of 100 personalised targets each, in one of five shapes:

* ``fanout``: to DeliveryTokens of registered devices (bench/fanout.py's burst): one pending
  self-built delivery and one Outbound per message;
* ``users``: to userIds, each bound to one registered device;
* ``unbound``: to userIds with no device bound (bench/ingest.py's calls): a NoBindInfo row each;
* ``mixed``: to userIds of whom a random half are bound to a device (the same half every time);
* ``vendor``: to the APNs tokens of iOS devices (DeliveryType 2, bench/vendor.py's calls), the
  app's APNs channel configured: one leased APNs delivery and one Outbound per message.

Each run claims every task in one transaction, timed by the thread's CPU clock around the claim
alone, and rolls it back, so every run claims the same rows; one run first warms the caches.
With ``--vary`` run N claims N tasks fewer than ``--tasks`` instead, so that, as in a server,
claims differ in size and the statements they write are not all ones prepared before. It
prints microseconds of CPU per message, min and median of ``--runs``, with the load average.

With ``--callgrind``, run under ``valgrind --tool=callgrind --instr-atstart=no``: the claims
alone are instrumented (``callgrind_control -i on`` around each, building the database is not),
so the instruction count valgrind prints is theirs, steady on a loaded machine where the CPU
clock is not (compare trees with the same arguments and PYTHONHASHSEED).

    python bench/claim_cpu.py [--shapes fanout,users,unbound,mixed,vendor] [--tasks 20] [--runs 5]
                              [--vary] [--database-url postgresql://postgres@127.0.0.1:5432/test]
    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no \
        python bench/claim_cpu.py --shapes fanout --tasks 5 --runs 4 --callgrind
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import time
import uuid
from pathlib import Path

from procs import Callgrind, on_fresh_database, print_cpu
from tidings.config import Settings
from tidings.devices.rules import Binding, Report
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import MultipleFields, target_inputs
from tidings.openapi.strategy import read_timing
from tidings.services import Services
from tidings.templates.rules import TemplateFields

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fakes.credentials import apns_config

TARGETS = 100
DELIVERY_TYPE = {"fanout": "1", "users": "3", "unbound": "3", "mixed": "3", "vendor": "2"}
CALLGRIND = Callgrind()  # --callgrind: instrument the claims alone


async def build(services: Services, shape: str, tasks: int) -> None:
    """The app, its template, its devices and ``tasks`` accepted PushMultiple calls."""
    app = await services.tenancy.create_app("bench", "ONEX570DA89211721")
    if shape == "vendor":
        await services.channel_configs.set(
            "bench", app.app_id, "apns", apns_config("https://127.0.0.1:9")
        )
    await services.templates.create(
        app.pk, TemplateFields(name="t", title="Hello #name#", content="You have #money# coins")
    )
    count = tasks * TARGETS
    targets = [f"user{i:06d}" for i in range(count)]
    bound = targets
    if shape == "mixed":
        bound = sorted(random.Random(7).sample(targets, count // 2))
    if shape == "vendor":
        targets = [f"{i:064x}" for i in range(count)]
        for token in targets:
            report = Report(token, "ios", 1, token, "ios", {})
            await services.devices.report(app.pk, report)
    elif shape != "unbound":
        devices = await asyncio.gather(
            *(services.devices.register(app.pk, "android") for _ in range(len(bound)))
        )
        if shape == "fanout":
            targets = [device.token for device, _ in devices]
        else:
            await asyncio.gather(
                *(
                    services.devices.bind(
                        app.pk,
                        Binding(
                            token=device.token, platform="android", user_id=user, phone_number=None
                        ),
                    )
                    for (device, _), user in zip(devices, bound, strict=True)
                )
            )
    for start in range(0, count, TARGETS):
        fields = MultipleFields(
            task_name=f"claim {start}",
            delivery_type=DELIVERY_TYPE[shape],
            template_name="t",
            expired_seconds="600",
            timing=lambda: read_timing(None, None),
            target_count=TARGETS,
            options=OptionFields(extended_params='{"campaign":"claim"}'),
        )
        entries = [
            {
                "Target": target,
                "MsgKey": uuid.uuid4().hex,
                "TemplateKeyValue": f'{{"name":"User {start + i}","money":"{start + i}"}}',
            }
            for i, target in enumerate(targets[start : start + TARGETS])
        ]
        await services.pushes.push_multiple(app, fields.call(), lambda e=entries: target_inputs(e))


def claim_once(services: Services, tasks: int, counted: bool = True) -> float:
    """Thread CPU seconds per message of one claim of every task, rolled back afterwards."""
    dispatcher = services.delivery._dispatcher
    dispatcher._tasks_per_claim = tasks
    channels = frozenset(services.channels)
    now_ms = int(time.time() * 1000)
    with services.db.engine.connect() as conn:
        transaction = conn.begin()
        gc.collect()  # no run pays for the garbage the one before it left
        try:
            CALLGRIND.instrument(counted)
            start = time.thread_time()
            claimed, written = dispatcher._claim(conn, now_ms, channels)
            spent = time.thread_time() - start
            CALLGRIND.instrument(False)
        finally:
            transaction.rollback()
    made = sum(written.made.values())
    if claimed != tasks or made != tasks * TARGETS:
        raise RuntimeError(f"claimed {claimed} tasks, {made} deliveries")
    return spent / made


async def measure(
    url: str | None, data: Path, shape: str, tasks: int, runs: int, vary: bool
) -> list[float]:
    services = await Services.open(Settings(data_dir=data, database_url=url))
    try:
        await build(services, shape, tasks)
        claim_once(services, tasks, counted=False)  # warms the statement caches
        return [claim_once(services, tasks - run if vary else tasks) for run in range(1, runs + 1)]
    finally:
        await services.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default="fanout,users,unbound,mixed")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--vary", action="store_true")
    parser.add_argument("--database-url")
    parser.add_argument(
        "--callgrind", action="store_true", help="under callgrind: count the claims alone"
    )
    args = parser.parse_args()
    CALLGRIND.enabled = args.callgrind
    for shape in args.shapes.split(","):
        found = on_fresh_database(
            args.database_url,
            "claim",
            lambda url, directory, shape=shape: measure(
                url, directory, shape, args.tasks, args.runs, args.vary
            ),
        )
        print_cpu(args.database_url, f"{shape:8} claim CPU µs/msg", found)


if __name__ == "__main__":
    sys.exit(main())
