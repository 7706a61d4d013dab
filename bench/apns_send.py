"""The APNs send path alone, in process: event-loop CPU per message from the dispatcher's hand-over
to the outcomes it records, beside the bare HTTP/2 client sending the same requests.

bench/vendor.py's server figure holds everything the server does for a message (the PushMultiple
call, the writer's rows, the claim, the send, the recording); this isolates the send. It starts
the fake APNs in a process of its own, as bench/vendor.py does, and in this one process times
(``time.thread_time`` of the event loop's thread, so other work on the machine barely moves it):

- ``adapter``: ``Dispatcher._send`` of ``--batches`` batches of ``--devices`` deliveries at once,
  each through the APNs ``VendorChannel`` (its sender, lanes, retries, the request built per
  delivery) into the fake, and the outcomes counted and handed to a recorder that keeps them (the
  writer's side of recording is not here). The app configurations come from memory: the real
  lookup is a database read per batch.
- ``bare``: the same number of requests, built before the clock starts (``apns.notification``),
  sent by ``--streams`` workers over one ``Http2Connection``: bench/vendor.py's ceiling.

The garbage collector is tuned as ``tidings serve`` tunes it. The difference is what the adapter
costs above the wire. Each ``--rounds`` times, alternating;
it prints min and median µs per message and the load average.

With ``--callgrind``, run under ``valgrind --tool=callgrind --instr-atstart=no``: the timed part
of each leg alone is instrumented (``callgrind_control -i on`` around it), so the instruction
count valgrind prints is theirs, steady on a loaded machine where the CPU clock is not (one leg,
compare trees with the same arguments and PYTHONHASHSEED).

    python bench/apns_send.py [--devices 500] [--batches 10] [--streams 500] [--rounds 5]
    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no \
        python bench/apns_send.py --legs adapter --rounds 1 --callgrind
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.channels.outbound import outbound  # noqa: E402
from tests.fakes.credentials import apns_config  # noqa: E402

from procs import Callgrind  # noqa: E402
from tidings.channels import apns  # noqa: E402
from tidings.channels.catalog import check_config  # noqa: E402
from tidings.channels.vendor_channel import VendorChannel  # noqa: E402
from tidings.contract import Outbound, Outcome, Status  # noqa: E402
from tidings.delivery.dispatcher import Dispatcher  # noqa: E402
from vendor import (  # noqa: E402
    TITLE,
    bare_workers,
    connected,
    content,
    run_loop,
    server_gc,
    start_fake,
)

CALLGRIND = Callgrind()  # --callgrind: instrument the timed part of each leg alone


class _Configs:
    """Every delivery's app has the one configuration."""

    def __init__(self, config) -> None:
        self.config = config

    async def for_deliveries(self, channel: str, batch: Sequence[Outbound]) -> dict:
        return dict.fromkeys([out.id for out in batch], self.config)


class _Kept:
    """A recorder that keeps the outcomes it is given."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def settled(self, outcomes) -> None:
        self.outcomes.extend(outcomes)


def deliveries(count: int) -> list[Outbound]:
    tokens = [uuid.uuid4().hex * 2 for _ in range(count)]
    return [
        outbound("apns", t, platform="ios", title=TITLE, content=content(t), expires_in=3600)
        for t in tokens
    ]


async def adapter(url: str, devices: int, batches: int, streams: int) -> float:
    """Event-loop CPU per message through Dispatcher._send and the APNs channel."""
    config = check_config("apns", apns_config(url, concurrency=streams))
    channel = VendorChannel(apns.VENDOR, _Configs(config))
    kept = _Kept()
    dispatcher = Dispatcher(None, {"apns": channel}, kept, None)  # type: ignore[arg-type]
    await dispatcher._send(channel, deliveries(1))  # the connection opened, untimed
    work = [deliveries(devices) for _ in range(batches)]
    CALLGRIND.instrument(True)
    started = time.thread_time()
    await asyncio.gather(*(dispatcher._send(channel, batch) for batch in work))
    used = time.thread_time() - started
    CALLGRIND.instrument(False)
    assert len(kept.outcomes) == devices * batches + 1, len(kept.outcomes)
    assert all(o.status == Status.ACKED for o in kept.outcomes)
    await channel.aclose()
    return used / (devices * batches) * 1e6


async def bare(url: str, ca_file: Path, count: int, streams: int) -> float:
    """Event-loop CPU per request for the requests alone (bench/vendor.py's ceiling)."""
    tokens = [uuid.uuid4().hex * 2 for _ in range(count + 1)]
    connection, requests = await connected(url, ca_file, tokens)
    CALLGRIND.instrument(True)
    started = time.thread_time()
    await asyncio.gather(*bare_workers(connection, requests, streams))
    used = time.thread_time() - started
    CALLGRIND.instrument(False)
    await connection.aclose()
    return used / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=500, help="deliveries per batch")
    parser.add_argument("--batches", type=int, default=10, help="batches sent at once")
    parser.add_argument("--streams", type=int, default=500, help="the adapter's concurrency")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--legs", default="adapter,bare", help="which to run (one alone, to profile it)"
    )
    parser.add_argument(
        "--callgrind", action="store_true", help="under callgrind: count the timed part alone"
    )
    args = parser.parse_args()
    CALLGRIND.enabled = args.callgrind
    server_gc()
    legs = args.legs.split(",")
    figures: dict[str, list[float]] = {leg: [] for leg in legs}
    with tempfile.TemporaryDirectory() as tmp:
        fake, url, ca_file = start_fake(Path(tmp))
        os.environ["SSL_CERT_FILE"] = str(ca_file)
        try:
            for _ in range(args.rounds):
                if "adapter" in legs:
                    figures["adapter"].append(
                        run_loop(adapter(url, args.devices, args.batches, args.streams))
                    )
                if "bare" in legs:
                    figures["bare"].append(
                        run_loop(bare(url, ca_file, args.devices * args.batches, args.streams))
                    )
        finally:
            fake.terminate()
            fake.wait(10)
    print(f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, values in figures.items():
        print(
            f"{name:8} µs/message: min {min(values):6.1f}  median {statistics.median(values):6.1f}"
            f"  ({' '.join(f'{v:.1f}' for v in values)})"
        )
    if len(legs) == 2:
        print(f"adapter - bare (min): {min(figures['adapter']) - min(figures['bare']):.1f} µs")


if __name__ == "__main__":
    main()
