"""Scale-out benchmark: ingest and fan-out with 1, 2 and 3 nodes on PostgreSQL + Redis.

For each node count, a fresh PostgreSQL schema and Redis prefix, that many ``tidings serve``
processes on the loopback (one secret key), an app, a key and a template, and a short warm-up
of ingest followed by ANALYZE of the schema (what autovacuum would do by then; ``analyze``
says why it matters). Then:

- **ingest**: ``--connections`` keep-alive connections, spread over the nodes, send pre-signed
  PushMultiple calls of 100 user targets (ingest.py's client) for ``--seconds``; messages
  accepted per second over all nodes;
- **fan-out**: ``--devices`` devices (the Python device client, in this process) connected round
  robin to the nodes, then ``--messages`` messages addressed to them by DeliveryToken, 100 per
  call, sent to the nodes in turn; deliveries per second from the first call to the last message
  a device's app was handed.

``--database-url sqlite`` puts the nodes on one SQLite file instead (each node keeps a data
directory of its own, so its serve lock does not stop the others): the experiment that shows
what several processes on the embedded database would give (docs/operations.md, Cores).

During each phase it measures the cores each part kept busy: the Tidings nodes together, the
PostgreSQL backends serving them (found by the application name the nodes connect with, so
another workload's backends on the same server do not count), Redis, and this client; and the
CPU time per message of the nodes and of their backends, which the load of a shared machine
changes much less than the rates. The part nearest to a whole core per process (or the
machine, when everything together is near all of its cores) is where the limit is; the table
says which. On a machine shared with other work, figures are lower and noisier than on a quiet
one.

    python bench/cluster.py [--nodes 1,2,3] [--seconds 10] [--connections 24]
                            [--devices 300] [--messages 6000]
                            [--database-url postgresql://...|sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet
from rich.table import Table

import ingest
from procs import console, cpu_seconds, free_port, fresh_database, rss_kib
from tidings.device_client import Connected, DeviceClient, Message

REDIS_URL = os.environ.get("TIDINGS_TEST_REDIS", "redis://127.0.0.1:6379/0")
WARM_UP_SECONDS = 2.0  # of ingest before the measured phases, and ANALYZE after it
POSTGRES_URL = os.environ.get("TIDINGS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Figures:
    nodes: int
    ingest_per_second: float
    ingest_cores: dict[str, float]
    fanout_per_second: float
    fanout_cores: dict[str, float]
    kib_per_device: float


def pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
    return found


def backends_of(url: str | None, application: str) -> Callable[[], list[int]]:
    """What lists the PostgreSQL backends serving connections named ``application`` (none on
    SQLite): the server may be serving other work too."""
    if url is None:
        return list

    def pids() -> list[int]:
        with psycopg.connect(url, autocommit=True) as conn:
            query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
            return [pid for (pid,) in conn.execute(query, (application,))]

    return pids


class Parts:
    """The cores each part of the cluster keeps busy over a phase. Backends come and go: one
    that appeared during the phase counts all its CPU, one gone by the end counts nothing."""

    def __init__(
        self, nodes: Sequence[subprocess.Popen], backends: Callable[[], list[int]]
    ) -> None:
        self._nodes = [p.pid for p in nodes]
        self._backends = backends

    def _groups(self) -> dict[str, list[int]]:
        return {
            "tidings": self._nodes,
            "postgres": self._backends(),
            "redis": pids_named("redis-server"),
            "client": [os.getpid()],
        }

    def tidings_rss_kib(self) -> int:
        return sum(rss_kib(pid) for pid in self._nodes)

    def start(self) -> tuple[float, dict[int, float], float]:
        pids = [pid for pids in self._groups().values() for pid in pids]
        return time.perf_counter(), _cpu(pids), _machine_busy_seconds()

    def totals(self, started: tuple[float, dict[int, float], float]) -> dict[str, float]:
        """Cores per part, and ``machine``: the cores busy on the whole machine, this
        cluster and anything else running."""
        at, before, machine = started
        elapsed = time.perf_counter() - at
        totals = {"machine": (_machine_busy_seconds() - machine) / elapsed}
        for group, pids in self._groups().items():
            after = _cpu(pids)
            totals[group] = sum(after[p] - before.get(p, 0.0) for p in after) / elapsed
        return totals


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu(pids: Sequence[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            found[pid] = cpu_seconds(pid)
    return found


def start_nodes(count: int, directory: Path, url: str, prefix: str, secret: str):
    """``count`` nodes on ``url``, each with a data directory of its own; the processes, their
    ports and the AccessKey."""
    os.environ["TIDINGS_SECRET_KEY"] = secret  # the admin commands seal the key with it
    env, key = ingest.prepare(directory / "admin", url)
    env.update(TIDINGS_SECRET_KEY=secret, TIDINGS_REDIS_URL=REDIS_URL, TIDINGS_REDIS_PREFIX=prefix)
    nodes, ports = [], []
    for i in range(count):
        port = free_port()
        node_env = dict(env, TIDINGS_DATA_DIR=str(directory / f"node{i}"))
        nodes.append(
            subprocess.Popen([*ingest.TIDINGS, "serve", "--port", str(port)], env=node_env)
        )
        ports.append(port)
    for port in ports:
        asyncio.run(ingest.wait_ready(port))
    created = asyncio.run(
        ingest.call(
            ports[0],
            key,
            "CreateTemplate",
            {
                "AppId": ingest.APP_ID,
                "WorkspaceId": ingest.WORKSPACE,
                "TemplateName": ingest.TEMPLATE,
                "Title": "Hello #name#",
                "Content": "Hello #name#, congratulations on winning #money# yuan",
            },
        )
    )
    assert created.get("Success"), created
    return nodes, ports, key


async def ingest_phase(
    ports: list[int], key, seconds: float, connections: int, parts: Parts
) -> tuple[float, dict[str, float]]:
    """Messages accepted per second, and the cores each part kept busy meanwhile."""
    per_node = max(1, connections // len(ports))
    # Calls per node: more than a node answers in that time (one on a quiet machine: 214 a second).
    budget = int(seconds * 300)
    requests = [
        ingest.sign_calls(key, port, i * budget, budget, "acs3") for i, port in enumerate(ports)
    ]
    mark = parts.start()
    results = await asyncio.gather(
        *(
            ingest.drive(port, reqs, seconds, per_node)
            for port, reqs in zip(ports, requests, strict=True)
        )
    )
    accepted = sum(tally.accepted for tally, _ in results)
    elapsed = max(e for _, e in results)
    return accepted / elapsed, parts.totals(mark)


async def fanout_phase(
    ports: list[int], key, devices: int, messages: int, parts: Parts
) -> tuple[float, dict[str, float], float]:
    """Deliveries per second, the cores each part kept busy meanwhile, and the memory the
    nodes took per connected device (KiB)."""
    rss_before = parts.tidings_rss_kib()
    tokens: dict[int, str] = {}
    got = 0
    done = asyncio.Event()

    async def device(number: int) -> None:
        nonlocal got
        port = ports[number % len(ports)]
        client = DeviceClient(
            f"http://127.0.0.1:{port}", app_id=ingest.APP_ID, workspace_id=ingest.WORKSPACE
        )
        async with contextlib.aclosing(client.events()) as events:
            async for event in events:
                if isinstance(event, Connected):
                    tokens[number] = event.delivery_token
                elif isinstance(event, Message):
                    got += 1
                    if got >= messages:
                        done.set()

    tasks = [asyncio.create_task(device(n)) for n in range(devices)]
    while len(tokens) < devices:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)
    per_device = (parts.tidings_rss_kib() - rss_before) / devices
    calls = []
    for serial in range(messages // ingest.TARGETS):
        targets = [
            (
                tokens[(serial * ingest.TARGETS + i) % devices],
                uuid.uuid4().hex,
                {"name": "x", "money": "1"},
            )
            for i in range(ingest.TARGETS)
        ]
        params = ingest.push_params(ingest.TEMPLATE, f"fan {serial}", targets, delivery_type=1)
        port = ports[serial % len(ports)]
        calls.append(
            (port, ingest.signed_request(key, f"127.0.0.1:{port}", "PushMultiple", params, "acs3"))
        )
    mark = parts.start()
    started = time.perf_counter()
    by_port = {p: [r for q, r in calls if q == p] for p in ports}
    await asyncio.gather(
        *(ingest.drive(p, reqs, 600, 4, warn=False) for p, reqs in by_port.items())
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - started
    cores = parts.totals(mark)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return got / elapsed, cores, per_device


def analyze(url: str) -> None:
    """ANALYZE the schema's tables, as autovacuum does on a server that runs it.

    Without statistics the planner takes a fresh table for a tiny one: the msgKey check of
    every call then scans all the app's messages of the day instead of probing the index
    (11 to 150 ms a call at 22,000 messages), and PostgreSQL's CPU per message grows with the
    run. A test server may run without autovacuum; a deployment's runs it."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        for (table,) in tables.fetchall():
            conn.execute(f'ANALYZE "{table}"')


def measure(count: int, args: argparse.Namespace, secret: str) -> Figures:
    server = None if args.database_url == "sqlite" else args.database_url
    name = "b" + uuid.uuid4().hex[:8]  # the Redis prefix and the nodes' application name
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(server, Path(tmp), "cluster") as url,
    ):
        if server is not None:
            url += f"&application_name={name}"
        nodes, ports, key = start_nodes(count, Path(tmp), url, name, secret)
        parts = Parts(nodes, backends_of(server, name))
        try:
            asyncio.run(ingest_phase(ports, key, WARM_UP_SECONDS, args.connections, parts))
            if server is not None:
                analyze(url)
            ingest_rate, ingest_cores = asyncio.run(
                ingest_phase(ports, key, args.seconds, args.connections, parts)
            )
            fanout_rate, fanout_cores, per_device = asyncio.run(
                fanout_phase(ports, key, args.devices, args.messages, parts)
            )
        finally:
            for node in nodes:
                node.terminate()
            for node in nodes:
                node.wait(60)
    return Figures(count, ingest_rate, ingest_cores, fanout_rate, fanout_cores, per_device)


def limit(cores: dict[str, float], nodes: int) -> str:
    """Where the limit is: the machine's CPU when it is nearly all busy (by this run or not),
    else the part busiest for its size (Tidings and PostgreSQL per process, Redis one core)."""
    machine = os.cpu_count() or 1
    if cores.get("machine", 0.0) >= 0.85 * machine:
        ours = sum(v for k, v in cores.items() if k != "machine")
        return f"CPU: {cores['machine']:.1f} of {machine} cores busy, {ours:.1f} of them this run's"
    shares = {
        "Tidings": cores.get("tidings", 0.0) / nodes,
        "PostgreSQL": cores.get("postgres", 0.0) / machine,
        "Redis": cores.get("redis", 0.0),
        "the client": cores.get("client", 0.0),
    }
    busiest = max(shares, key=shares.__getitem__)
    return f"{busiest} ({shares[busiest]:.2f} of a core)"


def report(figures: list[Figures]) -> None:
    table = Table(title="Tidings cluster on this machine")
    for column in (
        "nodes",
        "ingest msg/s",
        "cores: tidings / pg / redis / client",
        "limit",
        "fan-out deliveries/s",
        "cores: tidings / pg / redis / client",
        "limit",
    ):
        table.add_column(column, justify="right")

    def cores(c: dict[str, float]) -> str:
        return " / ".join(
            f"{c.get(k, 0.0):.2f}" for k in ("tidings", "postgres", "redis", "client")
        )

    for f in figures:
        table.add_row(
            str(f.nodes),
            f"{f.ingest_per_second:,.0f}",
            cores(f.ingest_cores),
            limit(f.ingest_cores, f.nodes),
            f"{f.fanout_per_second:,.0f}",
            cores(f.fanout_cores),
            limit(f.fanout_cores, f.nodes),
        )
    console.print(table)
    console.print(per_message_table(figures))
    one = figures[0]
    per_ingest = one.ingest_per_second / max(one.ingest_cores.get("tidings", 0.0), 1e-9)
    per_fanout = one.fanout_per_second / max(one.fanout_cores.get("tidings", 0.0), 1e-9)
    console.print(
        f"one node: {per_ingest:,.0f} messages accepted and {per_fanout:,.0f} deliveries "
        f"per second per core of Tidings; {one.kib_per_device:,.0f} KiB of memory per device"
    )


def per_message_table(figures: list[Figures]) -> Table:
    """CPU time per message of the nodes and of their PostgreSQL backends: what a second node
    costs or saves, which a loaded machine distorts much less than it does the rates."""
    table = Table(title="CPU time per message (µs)")
    for column in ("nodes", "ingest: tidings / pg", "fan-out: tidings / pg"):
        table.add_column(column, justify="right")

    def micros(cores: dict[str, float], rate: float) -> str:
        return " / ".join(
            f"{cores.get(k, 0.0) / max(rate, 1e-9) * 1e6:,.0f}" for k in ("tidings", "postgres")
        )

    for f in figures:
        table.add_row(
            str(f.nodes),
            micros(f.ingest_cores, f.ingest_per_second),
            micros(f.fanout_cores, f.fanout_per_second),
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="1,2,3", help="node counts to measure, e.g. 1,2,3")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the ingest phase")
    parser.add_argument("--connections", type=int, default=24, help="ingest connections in all")
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--messages", type=int, default=6000, help="fan-out messages (x100)")
    parser.add_argument(
        "--database-url",
        default=POSTGRES_URL,
        help="the PostgreSQL server, or 'sqlite' for one SQLite file shared by the nodes",
    )
    args = parser.parse_args()
    secret = Fernet.generate_key().decode()
    figures = []
    for count in (int(n) for n in args.nodes.split(",")):
        console.print(f"[bold]{count} node(s)[/bold]")
        figures.append(measure(count, args, secret))
    report(figures)


if __name__ == "__main__":
    sys.exit(main())
