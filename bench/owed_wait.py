"""What the gateway's wait for the acks being written costs a read of what devices are owed.

Since 739ddb3 every read of what devices are owed (a resume, a poke, a catch-up: gateway/
server.py's ``_send_owed``) first awaits ``delivery.acks_written()``, so that an ack sent
before the read is not read back as pending and its delivery sent again. While devices ack a
burst, a batch of acks is nearly always being written, and the read then waits for it (and for
the next, if acks wait behind it) before it starts. This bench measures that delay where it
happens: in process, on a real database built as bench/claim_cpu.py builds its ``fanout``
shape (``--tasks`` × 100 devices with a pending self-built delivery each), a task hands the
delivery service acks at ``--rate`` a second in batches of ``--batch`` (as the gateway's acks
reach it), and meanwhile, every few milliseconds, a probe reads what ``--devices`` random
devices are owed, alternately with the wait (``acks_written`` then ``owed``, as the gateway
reads now) and without it (``owed`` alone, as before 739ddb3). It prints the wall time of each
kind, median, 90th percentile and max, with acks in flight and with none, the wait alone, and
the load average. The two kinds differ only by the wait, so one tree measures both.

    python bench/owed_wait.py [--tasks 200] [--rate 10000] [--batch 480] [--devices 100]
                              [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from pathlib import Path

from ack_cpu import claim_all, reset
from claim_cpu import build
from procs import on_fresh_database
from tidings.config import Settings
from tidings.services import Services

WINDOW = Settings().device_window  # at most this many deliveries a device per read
WAITS: list[float] = []  # the wait part of each waiting probe


async def probe(services: Services, pks: list[int], wait: bool) -> float:
    """Seconds to read what ``pks`` are owed (``wait``: after the acks being written)."""
    delivery = services.delivery
    began = time.perf_counter()
    if wait:
        await delivery.acks_written()
        WAITS.append(time.perf_counter() - began)
    await delivery.owed(pks, WINDOW)
    return time.perf_counter() - began


async def probes(
    services: Services, device_pks: list[int], size: int, count: int, stop: asyncio.Event | None
) -> dict[bool, list[float]]:
    """``count`` probes of each kind, alternating, a few ms apart (until ``stop``, if given)."""
    draw = random.Random(1)
    found: dict[bool, list[float]] = {True: [], False: []}
    for i in range(2 * count):
        if stop is not None and stop.is_set():
            break
        pks = draw.sample(device_pks, size)
        found[i % 2 == 0].append(await probe(services, pks, i % 2 == 0))
        await asyncio.sleep(draw.uniform(0.002, 0.008))
    return found


async def ack_stream(
    services: Services, made: list[tuple[int, int]], rate: float, batch: int, stop: asyncio.Event
) -> None:
    """Hand every delivery's ack over at ``rate`` a second, ``batch`` at a time, in id order."""
    began = time.perf_counter()
    for at in range(0, len(made), batch):
        services.delivery.acked([i for _, i in made[at : at + batch]])
        due = began + (at + batch) / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    await services.delivery.acks_written()
    stop.set()


def summary(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    return (
        f"{label:34} n={len(ms):4}  median {statistics.median(ms):6.2f} ms"
        f"  p90 {p90:6.2f}  max {ms[-1]:6.2f}"
    )


async def measure(url: str | None, data: Path, args: argparse.Namespace) -> list[float]:
    services = await Services.open(Settings(data_dir=data, database_url=url))
    try:
        await build(services, "fanout", args.tasks)
        made = await asyncio.to_thread(claim_all, services, args.tasks)
        device_pks = sorted({pk for pk, _ in made})
        quiet: dict[bool, list[float]] = {True: [], False: []}
        busy: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.runs):
            await services.db.write(reset)
            for wait, found in (await probes(services, device_pks, args.devices, 50, None)).items():
                quiet[wait] += found
            stop = asyncio.Event()
            acking = asyncio.ensure_future(ack_stream(services, made, args.rate, args.batch, stop))
            during = await probes(services, device_pks, args.devices, 10**6, stop)
            for wait, found in during.items():
                busy[wait] += found
            await acking
        load = os.getloadavg()[0]
        print(
            f"{'sqlite' if url is None or url.startswith('sqlite') else 'postgresql'}, "
            f"{len(made)} devices, acks at {args.rate:.0f}/s in batches of {args.batch}, "
            f"reads of {args.devices} devices (load {load:.1f})"
        )
        print(summary("no acks in flight, owed alone", quiet[False]))
        print(summary("no acks in flight, wait + owed", quiet[True]))
        print(summary("acks in flight, owed alone", busy[False]))
        print(summary("acks in flight, wait + owed", busy[True]))
        print(summary("(the wait alone, all probes)", WAITS))
        return []
    finally:
        await services.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10000)
    parser.add_argument("--batch", type=int, default=480)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    on_fresh_database(
        args.database_url, "owed", lambda url, directory: measure(url, directory, args)
    )


if __name__ == "__main__":
    main()
