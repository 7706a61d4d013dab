"""APNs benchmark: PushMultiple to 10,000 iOS devices through the APNs adapter into a fake APNs.

Starts the fake APNs (TLS + HTTP/2, ES256 tokens checked) in a process of its own and
``tidings serve`` on SQLite with the app's APNs channel pointed at it; registers ``--devices``
iOS devices with APNs tokens (written straight into the database: setup, not measured); pushes to
one of them and waits for it to be accepted, which opens the server's connection to the fake as
the ceiling's first request opens its own (a long-lived connection's setup is in neither figure);
then sends PushMultiple calls of 100 personalised targets to the others and times from the first
call until every delivery is recorded as accepted by APNs (status 2). The calls are ingest.py's:
signed before the clock starts and sent from one asyncio client over ``--callers`` keep-alive
connections, a call in flight on each, so that the server, not the client, sets the rate. 8 by
default: under load 20 on two cores, the server's threads wanted (ran or queued for) 1.27 cores
with 4 callers, 1.52 with 8 and 1.55 with 16, the client 1-2 µs of CPU a message at each. Through
the official SDK from four threads, as this bench first sent them, a run measured the client and
one call's latency instead: 72 µs of client CPU a message under one GIL on the server's two cores,
and the server, fed calls at the client's pace, spent 168-180 µs a message against 111-153. That
the APNs path works through the official SDK is tests/integration/test_vendor_delivery.py's to
show.

In the same run it measures the fake's own ceiling: the same number of notifications, with the
headers and payload the adapter builds (``apns.notification``, made before the clock starts) and
the same provider token, sent over one HTTP/2 connection by the bare client the adapter uses, as
many at once as the adapter may send (``--streams``, its ``concurrency``), with nothing of Tidings
around it. And a durable floor: the same bare requests, with the rows a server that answers a push
only once it is stored, and reports what APNs accepted, cannot leave out (``DurableRows``: each 100
notifications' task, messages and leased deliveries committed before they are sent, each acceptance
committed after), in Tidings' schema and SQLite pragmas, written by a thread of the client's
process. Where that floor itself stays below 0.8 of the ceiling, no server recording its deliveries
can reach 0.8 on one process either. All three, ``--runs`` times (three by default), each run on a
fresh server; it prints the rates, the server's ratios to both floors and the durable floor's to
the ceiling as median [min–max] over the runs, and beside them the CPU each message cost the
Tidings server (and of that, its event loop's thread: the rest is its database writer's and
readers'), the fake and the bare client (from /proc): unlike the rates, those hold when other work
shares the machine's cores. How busy the fake was in each leg (its CPU seconds over the leg's
seconds; 1.0 is a whole core) says whether it, not the client, set a rate. For the Tidings leg it
also prints the rate the calls were accepted at, the server's cores busy while they ran, the bench
client's CPU a message and cores busy for its calls, and how much of the time the server's
threads (summed, as cores), its event loop's alone (as a share) and the client's were running or
queued for a core (``procs.wanted_seconds``): on a machine other work keeps busy a process gets
less than a core, and a loop's share near 1 still says that it, not what it waits on, was the
limit.

The fake's HTTP/2 server is libnghttp2's (ngh2), as the client's is: on jh2 it spent 58-70 µs of
CPU a request, five times the bare client's 12, and was what set the ceiling; now 14-17.

With ``--profile FILE``, py-spy records the server's threads during each Tidings leg into
FILE.tidings.<time> (its raw format; py-spy must be on PATH).

    python bench/vendor.py [--devices 10000] [--streams 500] [--callers 8] [--runs 3]
                           [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.channels.outbound import outbound  # noqa: E402
from tests.fakes.credentials import BUNDLE_ID, apns_config, apns_key  # noqa: E402
from tests.support.servers import free_port, running_server  # noqa: E402

from ingest import (  # noqa: E402
    APP_ID,
    INSERT_MESSAGE,
    INSERT_STATS,
    INSERT_TASK,
    TARGETS,
    WORKSPACE,
    Ids,
    call,
    drive,
    push_params,
    signed_request,
)
from procs import console, cpu_seconds, profiled, spread_table, wanted_seconds  # noqa: E402
from tidings.channels.apns import notification, provider_token  # noqa: E402
from tidings.channels.catalog import check_config  # noqa: E402
from tidings.channels.http import tls_context  # noqa: E402
from tidings.channels.http2 import Http2Connection  # noqa: E402
from tidings.cli.serving import GC_THRESHOLD  # noqa: E402
from tidings.delivery.writing import VENDOR_LEASE_MS  # noqa: E402
from tidings.store.database import SQLITE_PRAGMAS  # noqa: E402
from tidings.store.tables import apps, devices, metadata, workspaces  # noqa: E402

TEMPLATE = "bench"
T = TypeVar("T")
FRACTIONS = ("ratio", "cores", "share")  # the figures printed with two decimals
TITLE, CONTENT = "Hello", "Hello #name#, your parcel has arrived"
INSERT_LEASED = (
    "INSERT INTO deliveries (id, task_id, message_pk, app_pk, device_pk, push_token, channel,"
    " status, attempts, created_at, expires_at, updated_at, next_attempt_at, stat_pk)"
    " VALUES (?, ?, ?, 1, ?, ?, 'apns', 0, 0, ?, ?, ?, ?, ?)"
)


def start_fake(directory: Path) -> tuple[subprocess.Popen, str, Path]:
    public = directory / "apns-public.pem"
    public.write_bytes(
        apns_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.apns", "--port", str(port), "--cert-dir",
         str(directory), "--public-key", str(public)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process, f"https://127.0.0.1:{port}", directory / "fake-apns-ca.pem"


def register_devices(database: str, tokens: list[str]) -> list[str]:
    """Write an iOS device for each APNs token for the app, as PushReport would."""
    engine = create_engine(database)
    now = int(time.time() * 1000)
    with engine.begin() as conn:
        app_pk = conn.execute(select(apps.c.pk).where(apps.c.app_id == APP_ID)).scalar_one()
        rows = [
            {"app_pk": app_pk, "token": t, "platform": "ios", "manufacturer": "ios",
             "third_channel": 1, "third_token": t, "created_at": now}
            for t in tokens
        ]  # fmt: skip
        conn.execute(insert(devices), rows)
    engine.dispose()
    return tokens


def wait_accepted(database: str, count: int, started: float) -> None:
    """Until ``count`` APNs deliveries are recorded as accepted (status 2), on one connection."""
    engine = create_engine(database)
    query = text("SELECT count(*) FROM deliveries WHERE channel = 'apns' AND status = 2")
    with engine.connect() as conn:
        while (done := conn.execute(query).scalar_one()) < count:
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"only {done} of {count} accepted after 300 s")
            conn.rollback()  # the next count reads what the server has committed since
            time.sleep(0.05)
    engine.dispose()


def pushed(tokens: Sequence[str]) -> dict[str, str]:
    """PushMultiple's parameters for notifications (DeliveryType 2) to these iOS devices."""
    return push_params(
        TEMPLATE, "bench", [(t, uuid.uuid4().hex, {"name": t[:8]}) for t in tokens],  # content()
        delivery_type=2, expired_seconds=3600,
    )  # fmt: skip


def content(token: str) -> str:
    """The alert text the template gives a device: its ``name`` is the token's first 8."""
    return CONTENT.replace("#name#", token[:8])


def through_tidings(
    directory: Path,
    fake_url: str,
    ca_file: Path,
    count: int,
    streams: int,
    callers: int,
    fake_pid: int,
    profile: str = "",
) -> dict[str, float]:
    settings = {"SSL_CERT_FILE": str(ca_file), "TIDINGS_LOG_LEVEL": "warning"}
    with running_server("sqlite", directory / "data", settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        key = server.create_key(WORKSPACE)
        server.cli(
            "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID, "--channel", "apns",
            "--config", json.dumps(apns_config(fake_url, concurrency=streams)),
        )  # fmt: skip
        port, authority = server.port, f"127.0.0.1:{server.port}"
        template = {"AppId": APP_ID, "WorkspaceId": WORKSPACE, "TemplateName": TEMPLATE}
        made = asyncio.run(
            call(port, key, "CreateTemplate", template | {"Title": TITLE, "Content": CONTENT})
        )
        assert made.get("Success"), made
        database = f"sqlite:///{(directory / 'data' / 'tidings.db').resolve()}"
        first, *tokens = register_devices(
            database, [uuid.uuid4().hex * 2 for _ in range(count + 1)]
        )
        # opens the server's connection to the fake, as the ceiling's first request does
        opened = asyncio.run(call(port, key, "PushMultiple", pushed([first])))
        assert opened.get("ResultCode") == "OK", opened
        wait_accepted(database, 1, time.perf_counter())
        chunks = (tokens[at : at + TARGETS] for at in range(0, count, TARGETS))
        # signed before the clock starts, as ingest.py and fanout.py sign theirs
        calls = [signed_request(key, authority, "PushMultiple", pushed(c), "acs3") for c in chunks]
        assert server.process is not None
        pid = server.process.pid
        with profiled(profile, pid, "tidings"):
            start = meters(pid, fake_pid)
            tally, _ = run_loop(drive(port, calls, 300, callers, warn=False))
            called = meters(pid, fake_pid)
            wait_accepted(database, count + 1, start["clock"])
            end = meters(pid, fake_pid)
        assert tally.refused == 0, f"{tally.refused} calls refused"
        leg = {name: end[name] - start[name] for name in start}
        calls_leg = {name: called[name] - start[name] for name in start}
        return {
            "rate": count / leg["clock"],
            "server_us": leg["server"] / count * 1e6,
            "loop_us": leg["loop"] / count * 1e6,
            "server_busy": leg["server"] / leg["clock"],
            "wanted": leg["wanted"] / leg["clock"],
            "loop_wanted": leg["loop_wanted"] / leg["clock"],
            "calls_rate": count / calls_leg["clock"],
            "server_busy_calling": calls_leg["server"] / calls_leg["clock"],
            "wanted_calling": calls_leg["wanted"] / calls_leg["clock"],
            "loop_wanted_calling": calls_leg["loop_wanted"] / calls_leg["clock"],
            "client_us": calls_leg["client"] / count * 1e6,
            "client_busy": calls_leg["client"] / calls_leg["clock"],
            "client_wanted": calls_leg["client_wanted"] / calls_leg["clock"],
            "fake_us": leg["fake"] / count * 1e6,
            "fake_busy": leg["fake"] / leg["clock"],
        }


def meters(pid: int, fake_pid: int) -> dict[str, float]:
    """What the Tidings leg's figures are differences of, read now: the clock, the CPU seconds
    of the server, its event loop's thread, the fake and this process (the bench client), and
    the seconds the server's threads, its loop's and this process's ran or waited for a core
    (``wanted_seconds``)."""
    return {
        "clock": time.perf_counter(),
        "server": cpu_seconds(pid),
        "loop": cpu_seconds(pid, pid),
        "wanted": wanted_seconds(pid),
        "loop_wanted": wanted_seconds(pid, pid),
        "fake": cpu_seconds(fake_pid),
        "client": time.process_time(),
        "client_wanted": wanted_seconds(os.getpid()),
    }


async def connected(
    fake_url: str, ca_file: Path, tokens: list[str]
) -> tuple[Http2Connection, list[tuple[str, list, bytes]]]:
    """One connection to the fake, opened by a first request (as the server's is before its
    clock starts), and a request for each token after the first: the adapter's headers and
    payload (``apns.notification``) and the provider token."""
    os.environ["SSL_CERT_FILE"] = str(ca_file)
    config = check_config("apns", apns_config(fake_url))
    connection = Http2Connection(fake_url, tls_context(alpn=("h2",)))
    bearer = (b"authorization", b"bearer " + provider_token(config, time.time()).encode())
    now = time.time()
    requests = []
    for token in tokens:
        out = outbound(
            "apns", token, platform="ios", title=TITLE, content=content(token), expires_in=3600
        )
        headers, body = notification(out, BUNDLE_ID, now)
        requests.append((f"/3/device/{token}", [bearer, *headers], body))
    first = await connection.request(*requests[0])
    assert first.status == 200, first.body
    return connection, requests[1:]


async def ceiling(
    fake_url: str, ca_file: Path, count: int, streams: int, fake_pid: int
) -> dict[str, float]:
    """The fake's rate for bare requests over one connection (the adapter's headers and payload,
    the same token and concurrency), and the CPU each request cost the client and the fake."""
    tokens = [uuid.uuid4().hex * 2 for _ in range(count + 1)]
    connection, requests = await connected(fake_url, ca_file, tokens)
    found = await timed(bare_workers(connection, requests, streams), count, fake_pid)
    await connection.aclose()
    return found


def bare_workers(
    connection: Http2Connection, requests: list[tuple[str, list, bytes]], streams: int
) -> list[Coroutine[Any, Any, None]]:
    """``streams`` workers taking the requests one after another, each answered 200."""
    pending = iter(requests)

    async def worker() -> None:
        for path, headers, body in pending:
            response = await connection.request(path, headers, body)
            assert response.status == 200, response.body

    return [worker() for _ in range(streams)]


async def timed(legs: Sequence[Coroutine[Any, Any, None]], count: int, fake_pid: int) -> dict:
    """Run a leg to its end: its rate, and the CPU each of its ``count`` messages cost this
    process and the fake."""
    client_cpu, fake_cpu = time.process_time(), cpu_seconds(fake_pid)
    started = time.perf_counter()
    await asyncio.gather(*legs)
    elapsed = time.perf_counter() - started
    fake_used = cpu_seconds(fake_pid) - fake_cpu
    return {
        "rate": count / elapsed,
        "client_us": (time.process_time() - client_cpu) / count * 1e6,
        "fake_us": fake_used / count * 1e6,
        "fake_busy": fake_used / elapsed,
    }


class DurableRows:
    """The rows any server that answers a push only once it is stored, and reports what APNs
    accepted, must write for each notification: on Tidings' schema and SQLite pragmas, in one
    thread of its own (as the server's writer), raw ``executemany``.

    For each 100 notifications, one transaction of a task, its message rows, a counter row and a
    delivery row each (pending, leased as the adapter leases them), committed before they are
    sent; once APNs has accepted them, their deliveries marked so, many per statement.
    """

    def __init__(self, database: Path, tokens: list[str]) -> None:
        url = f"sqlite:///{database}"
        engine = create_engine(url)
        metadata.create_all(engine)  # the server's own tables and indexes
        with engine.begin() as conn:
            conn.execute(insert(workspaces).values(pk=1, name=WORKSPACE, created_at=0))
            conn.execute(
                insert(apps).values(
                    pk=1, workspace_pk=1, app_id=APP_ID, timezone="UTC", created_at=0
                )
            )
        engine.dispose()
        register_devices(url, tokens)
        self.database = database
        self.writer = ThreadPoolExecutor(1, initializer=self._open)
        self.ids = Ids()

    def _open(self) -> None:
        self.conn = sqlite3.connect(self.database, isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            self.conn.execute(pragma)
        self.device = dict(self.conn.execute("SELECT third_token, pk FROM devices"))

    def store(self, tokens: Sequence[str]) -> list[int]:
        """One push's rows, committed; its deliveries' ids."""
        now = int(time.time() * 1000)
        ids, task, stat = self.ids, self.ids.task, self.ids.stat
        ids.task += 1
        ids.stat += 1
        first_message, first_delivery = ids.message, ids.delivery
        ids.message += len(tokens)
        ids.delivery += len(tokens)
        self.conn.execute("BEGIN")
        self.conn.execute(INSERT_TASK, (task, 1, "dispatched", len(tokens), now))
        self.conn.executemany(
            INSERT_MESSAGE,
            [
                (
                    first_message + i,
                    task,
                    1,
                    uuid.uuid4().hex,
                    t,
                    TITLE,
                    content(t),
                    None,
                    None,
                    now,
                )
                for i, t in enumerate(tokens)
            ],
        )
        self.conn.execute(INSERT_STATS, (stat, 1, task, task, now, len(tokens)))
        delivery_ids = [first_delivery + i for i in range(len(tokens))]
        self.conn.executemany(
            INSERT_LEASED,
            [
                (d, task, first_message + i, self.device[t], t, now, now + 3_600_000, now,
                 now + VENDOR_LEASE_MS, stat)
                for i, (d, t) in enumerate(zip(delivery_ids, tokens, strict=True))
            ],
        )  # fmt: skip
        self.conn.execute("COMMIT")
        return delivery_ids

    def accepted(self, delivery_ids: Sequence[int]) -> None:
        """APNs took these: their deliveries marked so, committed."""
        now = int(time.time() * 1000)
        self.conn.execute("BEGIN")
        for at in range(0, len(delivery_ids), 500):
            chunk = delivery_ids[at : at + 500]
            marks = ",".join("?" * len(chunk))
            self.conn.execute(
                "UPDATE deliveries SET status = 2, sent_at = ?, updated_at = ?,"
                f" next_attempt_at = NULL WHERE id IN ({marks}) AND status = 0",
                (now, now, *chunk),
            )
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.writer.submit(self.conn.close).result()
        self.writer.shutdown()


async def durable_floor(
    fake_url: str, ca_file: Path, count: int, streams: int, fake_pid: int, database: Path
) -> dict[str, float]:
    """The ceiling's bare requests with what a durable server cannot leave out around them
    (``DurableRows``): a notification is sent once its push is committed, and the run ends when
    every acceptance is; the rate, and the CPU each message cost this process (client and writer)
    and the fake."""
    tokens = [uuid.uuid4().hex * 2 for _ in range(count + 1)]
    rows = DurableRows(database, tokens)
    connection, requests = await connected(fake_url, ca_file, tokens)
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue = asyncio.Queue()
    taken: list[int] = []
    more = asyncio.Event()

    async def store() -> None:
        for at in range(0, count, TARGETS):
            chunk = requests[at : at + TARGETS]
            paths = [path.rsplit("/", 1)[1] for path, _, _ in chunk]
            ids = await loop.run_in_executor(rows.writer, rows.store, paths)
            for delivery_id, request in zip(ids, chunk, strict=True):
                ready.put_nowait((delivery_id, request))
        for _ in range(streams):
            ready.put_nowait(None)

    async def worker() -> None:
        while (item := await ready.get()) is not None:
            delivery_id, (path, headers, body) = item
            response = await connection.request(path, headers, body)
            assert response.status == 200, response.body
            taken.append(delivery_id)
            more.set()

    async def record() -> None:
        recorded = 0
        while recorded < count:
            await more.wait()
            more.clear()
            done = taken[:]
            taken.clear()
            await loop.run_in_executor(rows.writer, rows.accepted, done)
            recorded += len(done)

    found = await timed([store(), record(), *(worker() for _ in range(streams))], count, fake_pid)
    await connection.aclose()
    rows.close()
    return found


def server_gc() -> None:
    """The collector as ``tidings serve`` sets it (cli/serving.py), for the legs this process
    runs: with CPython's defaults, a full collection of the requests built for a leg (100 ms
    and more) fell inside the bare client's timing in some runs and not others, which doubled
    its CPU per request."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a leg on uvloop, the server's loop, where it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument(
        "--streams", type=int, default=500, help="requests at once: the adapter's concurrency"
    )
    parser.add_argument(
        "--callers", type=int, default=8, help="PushMultiple calls in flight (connections)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--profile", default="", help="py-spy the server during the Tidings leg into FILE.*"
    )
    args = parser.parse_args()
    server_gc()
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        fake, url, ca_file = start_fake(directory)
        try:
            for number in range(1, args.runs + 1):
                console.rule(f"run {number} of {args.runs} (load {os.getloadavg()[0]:.1f})")
                console.print(f"Fake APNs at {url}; measuring its ceiling ...")
                floor = run_loop(ceiling(url, ca_file, args.devices, args.streams, fake.pid))
                console.print("... and the durable floor ...")
                durable = run_loop(
                    durable_floor(
                        url, ca_file, args.devices, args.streams, fake.pid,
                        directory / f"floor{number}.db",
                    )
                )  # fmt: skip
                console.print(f"PushMultiple to {args.devices} iOS devices through Tidings ...")
                found = through_tidings(
                    directory / f"run{number}", url, ca_file, args.devices, args.streams,
                    args.callers, fake.pid, args.profile,
                )  # fmt: skip
                for name, value in (
                    ("PushMultiple -> Tidings -> APNs adapter -> fake APNs (/s)", found["rate"]),
                    ("bare HTTP/2 client -> fake APNs, one connection (/s)", floor["rate"]),
                    ("ratio to the fake's ceiling", found["rate"] / floor["rate"]),
                    ("durable floor: stored, sent, recorded (/s)", durable["rate"]),
                    ("ratio to the durable floor", found["rate"] / durable["rate"]),
                    (
                        "durable floor's ratio to the fake's ceiling",
                        durable["rate"] / floor["rate"],
                    ),
                    ("Tidings server CPU per message (µs)", found["server_us"]),
                    ("of which its event loop's thread (µs)", found["loop_us"]),
                    ("Tidings server busy (cores)", found["server_busy"]),
                    ("calls accepted, all 100 targets each (messages/s)", found["calls_rate"]),
                    ("Tidings server busy while calls ran (cores)", found["server_busy_calling"]),
                    ("bench client CPU per message, its calls (µs)", found["client_us"]),
                    ("bench client busy while its calls ran (cores)", found["client_busy"]),
                    ("server's threads running or queued for a core (cores)", found["wanted"]),
                    ("... while the calls ran (cores)", found["wanted_calling"]),
                    ("server's event loop running or queued (share)", found["loop_wanted"]),
                    ("... while the calls ran (share)", found["loop_wanted_calling"]),
                    ("bench client running or queued, its calls (cores)", found["client_wanted"]),
                    ("fake APNs CPU per request, through Tidings (µs)", found["fake_us"]),
                    ("fake APNs busy, through Tidings (cores)", found["fake_busy"]),
                    ("bare client CPU per request (µs)", floor["client_us"]),
                    ("fake APNs CPU per request, bare client (µs)", floor["fake_us"]),
                    ("fake APNs busy, bare client (cores)", floor["fake_busy"]),
                    ("durable floor CPU per message, client + writer (µs)", durable["client_us"]),
                    ("fake APNs CPU per request, durable floor (µs)", durable["fake_us"]),
                ):
                    figures.setdefault(name, []).append(value)
        finally:
            fake.terminate()
            fake.wait(10)
    rows = [
        (name, {"": values}, "{:.2f}" if any(w in name for w in FRACTIONS) else "{:,.0f}")
        for name, values in figures.items()
    ]
    console.print(spread_table(f"APNs adapter, {args.devices:,} iOS devices", rows))


if __name__ == "__main__":
    main()
