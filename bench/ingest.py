"""Ingest benchmark: signed PushMultiple calls of 100 personalised targets against a real server.

Starts ``tidings serve`` on the embedded SQLite database in a temporary data directory (or, with
``--database-url``, on a fresh PostgreSQL schema of its own), creates an app, a key and a
template, then, ``--runs`` times, keeps ``--connections`` keep-alive connections busy with
signed PushMultiple calls for ``--seconds``. ``--signature`` picks how the calls are signed:
``acs3`` (ACS3-HMAC-SHA256, the new SDK's default) or ``v1`` (RPC HMAC-SHA1, as the old Python
SDK and ``@alicloud/pop-core`` sign); the signing is the tests' client-side signer
(tests/support/signer.py), done for each run's calls before its clock starts. The server
dispatches what it accepts as it goes (the targets are users with no device bound, so each
message gets a NoBindInfo delivery).

After each run, two floors: the same rows inserted into a database of the same kind (same
tables and indexes; on SQLite the server's pragmas, on PostgreSQL a schema of its own) with raw
``executemany`` (stdlib sqlite3, or psycopg), 100 messages per transaction: the task and message
rows acceptance writes, and those plus the delivery and counter rows dispatch writes. Each floor
keeps its database from run to run, as the server keeps its own, so a later run's floor inserts
beside what the earlier runs stored, as the server does. It prints messages accepted per second,
server CPU per message and the ratio to each floor, as median [min–max] over the runs.

``--preload N`` first fills the server's database, and each floor's, with N stored messages
(with their tasks and deliveries, random msgKeys), raw and in large transactions, so ingest can
be compared on a full database against a fresh one. The messages are spread over the
``--preload-days`` before now (30, the default retention: a server keeping 30 days holds its
messages so); ``--preload-days 0`` stores them all as accepted now. With ``--beside-fresh`` a
fresh server runs too, the two driven in turns under the same load, and the preloaded one's
rate is printed as a ratio to the fresh one's, run by run (no floors).

The client is deliberately light (pre-signed requests, hand-written HTTP/1.1 on asyncio streams),
because it shares the machine's cores with the server.

    python bench/ingest.py [--seconds 15] [--connections 64] [--runs 3] [--signature acs3|v1]
                           [--database-url postgresql://...] [--preload 5000000]
                           [--preload-days 30] [--beside-fresh]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from rich.progress import Progress
from sqlalchemy import create_engine

from procs import console, cpu_seconds, free_port, fresh_database, spread_table
from tidings.config import Settings
from tidings.contract import Status
from tidings.instants import DAY_MS
from tidings.store.database import SQLITE_PRAGMAS
from tidings.store.tables import metadata

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.signer import SignedCall, sign_acs3, sign_v1  # noqa: E402

APP_ID = "ONEX570DA89211721"
WORKSPACE = "bench"
TEMPLATE = "bench template"
VERSION = "2020-10-28"
TARGETS = 100
PRELOAD_BATCH = 10_000
TIDINGS = (sys.executable, "-m", "tidings")
NO_BIND, EXPIRED = int(Status.NO_BIND), int(Status.EXPIRED)


@dataclass
class Tally:
    accepted: int = 0
    refused: int = 0
    latencies: list[float] = field(default_factory=list)


# ----------------------------------------------------------------------------- the client


def signed_request(
    key: tuple[str, str], authority: str, action: str, params: dict[str, str], signature: str
) -> bytes:
    """A whole HTTP/1.1 request (head and form body), signed as the SDKs sign."""
    if signature == "v1":
        signed: SignedCall = sign_v1(*key, action, params, VERSION)
    else:
        signed = sign_acs3(*key, authority, action, params, VERSION)
    headers = {"host": authority, **signed.headers, "content-length": str(len(signed.body))}
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"POST {signed.path_and_query} HTTP/1.1\r\n{lines}\r\n".encode() + signed.body


def push_params(
    template: str,
    task_name: str,
    targets: Sequence[tuple[str, str, dict[str, str]]],
    delivery_type: int = 3,
    extended: dict[str, str] | None = None,
    expired_seconds: int = 300,
) -> dict[str, str]:
    """PushMultiple's parameters: each target is (target, msgKey, template values)."""
    params = {
        "AppId": APP_ID,
        "WorkspaceId": WORKSPACE,
        "DeliveryType": str(delivery_type),
        "TemplateName": template,
        "TaskName": task_name,
        "ExpiredSeconds": str(expired_seconds),
    }
    if extended:
        params["ExtendedParams"] = json.dumps(extended)
    for i, (target, msg_key, values) in enumerate(targets, start=1):
        params[f"TargetMsg.{i}.Target"] = target
        params[f"TargetMsg.{i}.MsgKey"] = msg_key
        params[f"TargetMsg.{i}.TemplateKeyValue"] = json.dumps(values)
    return params


def user_push(serial: int, expired_seconds: int = 300) -> dict[str, str]:
    return push_params(
        TEMPLATE,
        f"bench {serial}",
        [
            (
                f"user{serial % 5000:05d}{i:03d}",
                uuid.uuid4().hex,
                {"name": f"User {serial}-{i}", "money": str(serial % 1000 + i)},
            )
            for i in range(1, TARGETS + 1)
        ],
        expired_seconds=expired_seconds,
    )


async def call(port: int, key: tuple[str, str], action: str, params: dict) -> dict:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(signed_request(key, f"127.0.0.1:{port}", action, params, "acs3"))
    answer = await read_response(reader)
    writer.close()
    return json.loads(answer)


async def read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return await reader.readexactly(length)


async def wait_ready(port: int) -> None:
    for _ in range(600):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.write(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        await read_response(reader)
        writer.close()
        return
    raise RuntimeError("the server did not start")


async def drive(
    port: int, requests: list[bytes], seconds: float, conns: int, warn: bool = True
) -> tuple[Tally, float]:
    tally = Tally()
    queue = iter(requests)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                request = next(queue, None)
                if request is None:
                    return
                started = time.perf_counter()
                writer.write(request)
                answer = await read_response(reader)
                tally.latencies.append(time.perf_counter() - started)
                if b'"ResultCode":"OK"' in answer:
                    tally.accepted += TARGETS
                else:
                    tally.refused += 1
                    if tally.refused == 1:
                        console.print(f"refused: {answer[:300]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    elapsed = time.perf_counter() - started
    if warn and next(queue, None) is None:
        console.print("[red]ran out of signed calls before the time was up: raise the budget")
    return tally, elapsed


def sign_calls(
    key: tuple[str, str],
    port: int,
    first: int,
    count: int,
    signature: str,
    expired_seconds: int = 300,
) -> list[bytes]:
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"building and signing {count:,} calls ({signature})", total=count)
        requests = []
        for serial in range(first, first + count):
            params = user_push(serial, expired_seconds)
            requests.append(
                signed_request(key, f"127.0.0.1:{port}", "PushMultiple", params, signature)
            )
            progress.advance(task)
    return requests


# ----------------------------------------------------------------------------- raw rows


class RawDatabase:
    """Plain DB-API access to a Tidings schema: stdlib sqlite3 (the server's pragmas) or psycopg.

    Statements are written with ``?`` placeholders and adapted for psycopg.
    """

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for pragma in SQLITE_PRAGMAS:
                self.conn.execute(pragma)
        else:
            plain = url.replace("postgresql+psycopg://", "postgresql://")
            self.conn = psycopg.connect(plain, autocommit=True)

    def _sql(self, statement: str) -> str:
        return statement if self.sqlite else statement.replace("?", "%s")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self.sqlite:
            self.conn.execute("BEGIN")
            yield
            self.conn.execute("COMMIT")
        else:
            with self.conn.transaction():
                yield

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self._sql(statement), params)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if self.sqlite:
            self.conn.executemany(statement, rows)
        else:
            with self.conn.cursor() as cursor:
                cursor.executemany(self._sql(statement), rows)

    def close(self) -> None:
        self.conn.close()


INSERT_TASK = (
    "INSERT INTO tasks (id, app_pk, action, name, delivery_type, expired_seconds,"
    " strategy_type, options, state, digest, message_count, created_at)"
    " VALUES (?, ?, 'PushMultiple', 'bench', 3, 300, 0, '{}', ?, '', ?, ?)"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (pk, task_id, app_pk, msg_key, target, title, content, uri,"
    " extended_params, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_STATS = (
    "INSERT INTO push_stats (pk, app_pk, task_id, push_id, action, slot, platform, channel,"
    " pushed, successful, arrived, opened) VALUES (?, ?, ?, ?, 'PushMultiple', ?, '', '', ?,"
    " 0, 0, 0)"
)
INSERT_DELIVERY = (
    "INSERT INTO deliveries (id, task_id, message_pk, app_pk, user_id, status, attempts,"
    " created_at, expires_at, updated_at, stat_pk) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)"
)


@dataclass
class Ids:
    """The next id of each table, so raw rows never collide with each other or earlier rows."""

    task: int = 1
    message: int = 1
    stat: int = 1
    delivery: int = 1


def write_push(
    db: RawDatabase,
    app_pk: int,
    ids: Ids,
    size: int,
    *,
    deliveries: bool,
    state: str,
    now: int | None = None,
) -> None:
    """One push of ``size`` personalised messages (random msgKeys), as acceptance stores it at
    ``now`` (epoch ms; default: now); with ``deliveries``, also what dispatch writes for user
    targets with no device bound: a NoBindInfo delivery per message (expired, once its validity
    has ended) and the task's counter row.
    The caller holds a transaction.
    """
    now = int(time.time() * 1000) if now is None else now
    task = ids.task
    ids.task += 1
    db.execute(INSERT_TASK, (task, app_pk, state, size, now))
    first = ids.message
    ids.message += size
    rows = [
        (
            first + i,
            task,
            app_pk,
            uuid.uuid4().hex,
            f"user{task % 5000:05d}{i:03d}",
            f"Hello User {task}-{i}",
            f"Hello User {task}-{i}, congratulations on winning {task % 1000 + i} yuan",
            None,
            None,
            now,
        )
        for i in range(size)
    ]
    db.executemany(INSERT_MESSAGE, rows)
    if deliveries:
        # NoBindInfo while valid; one whose validity has ended is stored as the delivery sweep
        # leaves it, expired, as on a server that ran through that time.
        expires = now + 300_000
        status = NO_BIND if expires > time.time() * 1000 else EXPIRED
        stat = ids.stat
        ids.stat += 1
        db.execute(INSERT_STATS, (stat, app_pk, task, task, now, size))
        start = ids.delivery
        ids.delivery += size
        db.executemany(
            INSERT_DELIVERY,
            [
                (start + i, task, row[0], app_pk, row[4], status, now, expires, now, stat)
                for i, row in enumerate(rows)
            ],
        )


class Floor:
    """The same rows as the server stores, inserted raw: executemany, 100 messages a transaction.

    Without ``with_deliveries``: the task and its message rows (what acceptance writes). With it,
    also what dispatch writes for those messages in this benchmark. One database serves every
    run, as one server does: run N inserts into a database holding what runs 1 to N-1 inserted
    (and the preload), so a run's floor and the server meet an index of the same size.
    """

    def __init__(self, url: str, *, with_deliveries: bool) -> None:
        engine = create_engine(Settings(database_url=url).database)
        metadata.create_all(engine)  # the server's own tables and indexes
        engine.dispose()
        self.url = url
        self.with_deliveries = with_deliveries
        self.db = RawDatabase(url)
        self.db.execute("INSERT INTO workspaces (pk, name, created_at) VALUES (1, 'w', 0)")
        self.db.execute(
            "INSERT INTO apps (pk, workspace_pk, app_id, timezone, created_at)"
            f" VALUES (1, 1, '{APP_ID}', 'UTC', 0)"
        )
        self.ids = Ids()

    def preload(self, count: int, days: float) -> None:
        preload(self.url, count, days)
        self.ids = next_ids(self.db)

    def rate(self, messages: int) -> float:
        """Messages inserted per second, for ``messages`` more."""
        started = time.perf_counter()
        for _ in range(messages // TARGETS):
            with self.db.transaction():
                write_push(
                    self.db, 1, self.ids, TARGETS, deliveries=self.with_deliveries, state="accepted"
                )
        return messages // TARGETS * TARGETS / (time.perf_counter() - started)

    def close(self) -> None:
        self.db.close()


def next_ids(db: RawDatabase) -> Ids:
    """The ids past every row already in the database."""
    ids = Ids()
    for table, column, name in (
        ("tasks", "id", "task"),
        ("messages", "pk", "message"),
        ("push_stats", "pk", "stat"),
        ("deliveries", "id", "delivery"),
    ):
        top = db.execute(f"SELECT max({column}) FROM {table}").fetchone()[0]
        setattr(ids, name, (top or 0) + 1)
    return ids


def preload(url: str, count: int, days: float) -> None:
    """Fill the server's database with ``count`` stored (dispatched) messages of the bench app,
    with their tasks, deliveries and counters: raw, ``PRELOAD_BATCH`` messages a transaction.

    They are spread evenly over the ``days`` before now, as a server that keeps that many days
    (retention) holds them; ``days`` 0 stores them all as accepted now.
    """
    started = int(time.time() * 1000) - int(days * DAY_MS)
    db = RawDatabase(url)
    app_pk = db.execute("SELECT pk FROM apps WHERE app_id = ?", (APP_ID,)).fetchone()[0]
    ids = next_ids(db)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"preloading {count:,} stored messages", total=count)
        done = 0
        while done < count:
            with db.transaction():
                for _ in range(PRELOAD_BATCH // 1000):
                    size = min(1000, count - done)
                    if size <= 0:
                        break
                    at = started + int(days * DAY_MS * done / count)
                    write_push(db, app_pk, ids, size, deliveries=True, state="dispatched", now=at)
                    done += size
            progress.update(task, completed=done)
    if not db.sqlite:  # explicit ids leave the identity sequences behind: move them on
        for table, column in (
            ("tasks", "id"),
            ("messages", "pk"),
            ("push_stats", "pk"),
            ("deliveries", "id"),
        ):
            db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                f" (SELECT max({column}) FROM {table}))"
            )
        db.execute("ANALYZE")
    db.close()


# ----------------------------------------------------------------------------- the run


def prepare(data: Path, url: str | None) -> tuple[dict[str, str], tuple[str, str]]:
    """The server's environment, with the bench app and an AccessKey made through the CLI."""
    env = dict(os.environ, TIDINGS_DATA_DIR=str(data), TIDINGS_LOG_LEVEL="warning")
    env.pop("TIDINGS_DATABASE_URL", None)
    if url:
        env["TIDINGS_DATABASE_URL"] = url
    run = {"env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run(
        [*TIDINGS, "apps", "create", "--workspace", WORKSPACE, "--app-id", APP_ID], **run
    )
    made = json.loads(
        subprocess.run(
            [*TIDINGS, "keys", "create", "--workspace", WORKSPACE, "--json"], **run
        ).stdout
    )
    return env, (made["AccessKeyId"], made["AccessKeySecret"])


def start_server(
    directory: Path,
    url: str | None,
    preloaded: int = 0,
    days: float = 0,
    settings: dict[str, str] | None = None,
) -> tuple[Any, int, tuple]:
    """Set up the app, the key (and the preload), start the server (with ``settings``, extra
    ``TIDINGS_*`` variables); the process, port, key."""
    env, key = prepare(directory / "data", url)
    env.update(settings or {})
    if preloaded:
        preload(Settings(data_dir=directory / "data", database_url=url).database, preloaded, days)
    port = free_port()
    server = subprocess.Popen([*TIDINGS, "serve", "--port", str(port)], env=env)
    asyncio.run(wait_ready(port))
    created = asyncio.run(
        call(
            port,
            key,
            "CreateTemplate",
            {
                "AppId": APP_ID,
                "WorkspaceId": WORKSPACE,
                "TemplateName": TEMPLATE,
                "Title": "Hello #name#",
                "Content": "Hello #name#, congratulations on winning #money# yuan",
            },
        )
    )
    assert created.get("Success"), created
    return server, port, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--signature", choices=("acs3", "v1"), default="acs3")
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite (fresh schemas)")
    parser.add_argument("--preload", type=int, default=0, help="stored messages to start with")
    parser.add_argument(
        "--preload-days",
        type=float,
        default=30.0,
        help="the days before now the preloaded messages spread over (default retention: 30)",
    )
    parser.add_argument(
        "--budget", type=int, default=400, help="calls signed per second of a run (a ceiling)"
    )
    parser.add_argument(
        "--beside-fresh",
        action="store_true",
        help="with --preload: run a fresh server too, in turns, and print preloaded / fresh",
    )
    args = parser.parse_args()
    if args.beside_fresh:
        if not args.preload:
            parser.error("--beside-fresh needs --preload")
        beside_fresh(args)
        return
    kind = "PostgreSQL" if args.database_url else "SQLite"
    figures: dict[str, list[float]] = {}

    def keep(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    with (
        tempfile.TemporaryDirectory(prefix="tidings-bench-") as tmp,
        fresh_database(args.database_url, Path(tmp), "ingest") as url,
        fresh_database(args.database_url, Path(tmp), "floor_bare") as bare_url,
        fresh_database(args.database_url, Path(tmp), "floor_full") as full_url,
    ):
        directory = Path(tmp)
        server, port, key = start_server(
            directory, url if args.database_url else None, args.preload, args.preload_days
        )
        floors = (
            Floor(bare_url, with_deliveries=False),
            Floor(full_url, with_deliveries=True),
        )
        try:
            for raw in floors:
                if args.preload:
                    raw.preload(args.preload, args.preload_days)
            needed = int(args.seconds * args.budget) + 100
            serial = 0
            warm_up = sign_calls(key, port, serial, 100, args.signature)
            asyncio.run(drive(port, warm_up, 60, 8, warn=False))
            serial += 100
            for number in range(1, args.runs + 1):
                console.rule(f"run {number} of {args.runs}")
                requests = sign_calls(key, port, serial, needed, args.signature)
                serial += needed
                console.print(f"{args.seconds:.0f} s of PushMultiple ({args.signature}) ...")
                server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
                tally, elapsed = asyncio.run(drive(port, requests, args.seconds, args.connections))
                server_cpu = cpu_seconds(server.pid) - server_cpu
                client_cpu = time.process_time() - client_cpu
                del requests
                console.print(f"measuring the raw {kind} floors ...")
                wanted = max(tally.accepted, 20_000)
                bare, full = (raw.rate(wanted) for raw in floors)
                rate = tally.accepted / elapsed
                latencies = sorted(tally.latencies) or [0.0]
                keep("messages accepted per second", rate)
                keep("calls refused", tally.refused)
                keep("call latency p50 (ms)", latencies[len(latencies) // 2] * 1000)
                keep("call latency p99 (ms)", latencies[int(len(latencies) * 0.99)] * 1000)
                keep("server CPU (cores busy)", server_cpu / elapsed)
                keep("server CPU per message (µs)", server_cpu / max(tally.accepted, 1) * 1e6)
                keep("bench client CPU (cores busy)", client_cpu / elapsed)
                keep("raw floor: task + messages (messages/s)", bare)
                keep("ratio to the acceptance-only floor", rate / bare)
                keep("raw floor with dispatch's rows too (messages/s)", full)
                keep("ratio to the floor with dispatch's rows", rate / full)
        finally:
            server.terminate()
            server.wait(timeout=30)
            for raw in floors:
                raw.close()

    rows = figure_rows(figures)
    preloaded = (
        f", {args.preload:,} messages stored first (over {args.preload_days:g} days)"
        if args.preload
        else ""
    )
    title = (
        f"PushMultiple ingest: 100 personalised targets per call, {kind}, "
        f"{args.signature} signatures{preloaded}"
    )
    console.print(spread_table(title, rows))


def figure_rows(figures: dict[str, list[float]]) -> list[tuple]:
    """The rows ``spread_table`` prints, each figure shaped by what its name says it is."""
    shapes = {"ratio": "{:.2f}", "cores": "{:.2f}", "ms": "{:.1f}", "µs": "{:.1f}"}
    rows = []
    for name, values in figures.items():
        shape = next((s for word, s in shapes.items() if word in name), "{:,.0f}")
        rows.append((name, {"": values}, shape))
    return rows


def beside_fresh(args: argparse.Namespace) -> None:
    """A preloaded server and a fresh one, driven in turns (the order alternating from run to
    run) under the same load; their rates and the ratio, run by run. No floors."""
    kind = "PostgreSQL" if args.database_url else "SQLite"
    figures: dict[str, list[float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="tidings-bench-") as tmp,
        fresh_database(args.database_url, Path(tmp), "preloaded") as preloaded_url,
        fresh_database(args.database_url, Path(tmp), "fresh") as fresh_url,
    ):
        servers = {
            "preloaded": start_server(
                Path(tmp) / "preloaded",
                preloaded_url if args.database_url else None,
                args.preload,
                args.preload_days,
            ),
            "fresh": start_server(Path(tmp) / "fresh", fresh_url if args.database_url else None),
        }
        try:
            needed = int(args.seconds * args.budget) + 100
            serial = 0
            for _, port, key in servers.values():
                warm_up = sign_calls(key, port, 0, 100, args.signature)
                asyncio.run(drive(port, warm_up, 60, 8, warn=False))
            serial += 100
            for number in range(1, args.runs + 1):
                console.rule(f"run {number} of {args.runs}")
                rates = {}
                order = list(servers) if number % 2 else list(reversed(servers))
                for name in order:
                    server, port, key = servers[name]
                    requests = sign_calls(key, port, serial, needed, args.signature)
                    console.print(f"{args.seconds:.0f} s of PushMultiple on the {name} server ...")
                    cpu = cpu_seconds(server.pid)
                    tally, elapsed = asyncio.run(
                        drive(port, requests, args.seconds, args.connections)
                    )
                    cpu = cpu_seconds(server.pid) - cpu
                    rates[name] = tally.accepted / elapsed
                    figures.setdefault(f"{name}: messages accepted per second", []).append(
                        rates[name]
                    )
                    figures.setdefault(f"{name}: server CPU per message (µs)", []).append(
                        cpu / max(tally.accepted, 1) * 1e6
                    )
                serial += needed
                figures.setdefault("ratio preloaded / fresh", []).append(
                    rates["preloaded"] / rates["fresh"]
                )
        finally:
            for server, _, _ in servers.values():
                server.terminate()
                server.wait(timeout=30)
    rows = figure_rows(figures)
    title = (
        f"PushMultiple ingest, {kind}: {args.preload:,} messages stored first (over "
        f"{args.preload_days:g} days) beside a fresh database, in turns"
    )
    console.print(spread_table(title, rows))


if __name__ == "__main__":
    main()
