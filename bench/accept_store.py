"""Acceptance's store micro-bench: the writer thread's CPU per message for PushMultiple's write.

Isolates ``PushService._store`` (push/service.py), what the one writer thread does for each
accepted call: the msgKey check, the task row, the message rows, the supplement and outbox
rows. Signature checks, form decoding, rendering, the event loop and dispatch (which the
writer runs between calls) are left out; bench/accept_loop.py measures them with the rest. Real
calls go through ``PushService.push_multiple`` on a
SQLite file (or PostgreSQL) built in process as the server builds it; the thread's CPU clock is
read around each ``_store`` alone, in the writer's thread.

Each run makes ``--calls`` calls of ``--targets`` personalised userIds (no uri, no extended
parameters of their own, as bench/ingest.py's), or with ``--vary`` of a count drawn from
1..``--targets`` (the same draws for every tree), so that, as in a server, the statements are
not all of sizes prepared before. It prints µs of writer CPU per message, min and median of
``--runs``, with the load average. Compare trees with PYTHONPATH:

    PYTHONPATH=/work/main/src python bench/accept_store.py [--calls 100] [--targets 100]
        [--runs 5] [--vary] [--database-url postgresql://postgres@127.0.0.1:5432/test]

With ``--callgrind``, under ``valgrind --tool=callgrind --instr-atstart=no``, each ``_store``
of the measured runs alone is instrumented, so the instruction count valgrind prints is theirs
(divide by the messages: calls x targets x runs):

    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no \
        python bench/accept_store.py --calls 20 --runs 2 --callgrind
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from procs import Callgrind, on_fresh_database, print_cpu
from tidings.config import Settings
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import MultipleFields, target_inputs
from tidings.openapi.strategy import read_timing
from tidings.services import Services
from tidings.templates.rules import TemplateFields

CALLGRIND = Callgrind()  # --callgrind: instrument the measured stores alone


def timed(store: Any, spent: list[float], counted: list[bool]) -> Any:
    """``store`` that adds the thread CPU seconds of each of its calls to ``spent``, and
    instruments them for callgrind while ``counted[0]``."""

    def run(*args: Any) -> Any:
        CALLGRIND.instrument(counted[0])
        start = time.thread_time()
        try:
            return store(*args)
        finally:
            spent.append(time.thread_time() - start)
            CALLGRIND.instrument(False)

    return run


async def run_calls(services: Services, app: Any, counts: list[int]) -> None:
    """One PushMultiple call of each of ``counts`` targets."""
    for n, count in enumerate(counts):
        fields = MultipleFields(
            task_name=f"accept {n}",
            delivery_type="3",
            template_name="t",
            expired_seconds="600",
            timing=lambda: read_timing(None, None),
            target_count=count,
            options=OptionFields(),
        )
        entries = [
            {
                "Target": f"user{i:06d}",
                "MsgKey": uuid.uuid4().hex,
                "TemplateKeyValue": f'{{"name":"User {i}","money":"{i}"}}',
            }
            for i in range(count)
        ]
        await services.pushes.push_multiple(app, fields.call(), lambda e=entries: target_inputs(e))


async def measure(url: str, data: Path, calls: int, targets: int, runs: int, vary: bool) -> list:
    services = await Services.open(Settings(data_dir=data, database_url=url))
    try:
        app = await services.tenancy.create_app("bench", "ONEX570DA89211721")
        await services.templates.create(
            app.pk, TemplateFields(name="t", title="Hello #name#", content="You have #money# coins")
        )
        draws = random.Random(7)
        spent: list[float] = []
        counted = [False]
        pushes = services.pushes
        pushes._store = timed(pushes._store, spent, counted)  # type: ignore[method-assign]
        found = []
        for run in range(runs + 1):  # the first warms the caches
            counted[0] = bool(run)
            counts = [draws.randint(1, targets) if vary else targets for _ in range(calls)]
            spent.clear()
            gc.collect()
            await run_calls(services, app, counts)
            if run:
                found.append(sum(spent) / sum(counts))
        return found
    finally:
        await services.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--vary", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--callgrind", action="store_true", help="under callgrind: count the stores alone"
    )
    args = parser.parse_args()
    CALLGRIND.enabled = args.callgrind
    found = on_fresh_database(
        args.database_url,
        "accept",
        lambda url, directory: measure(
            url, directory, args.calls, args.targets, args.runs, args.vary
        ),
    )
    print_cpu(args.database_url, f"vary={args.vary!s:5} store CPU µs/msg", found)


if __name__ == "__main__":
    sys.exit(main())
