"""Ingest benchmark: signed PushMultiple calls of 100 personalised targets against a real server.

Starts ``tidings serve`` on the embedded SQLite database in a temporary data directory, creates
an app, a key and a template, then keeps ``--connections`` keep-alive connections busy with
ACS3-signed PushMultiple calls for ``--seconds``. The server dispatches what it accepts as it
goes (the targets are users with no device bound, so each message gets a NoBindInfo delivery).
In the same run it measures two floors, each the same rows inserted into a fresh SQLite database
(same pragmas, same tables and indexes) with ``executemany``, 100 messages per transaction: the
task and message rows acceptance writes, and those plus the delivery and counter rows dispatch
writes. It prints messages accepted per second and its ratio to each floor.

The client is deliberately light (pre-built bodies, hand-written HTTP/1.1 on asyncio streams),
because it shares the machine's cores with the server.

    python bench/ingest.py [--seconds 15] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine

from tidings.openapi.signing import Claim, SignedRequest, acs3_string_to_sign
from tidings.store.database import SQLITE_PRAGMAS
from tidings.store.tables import metadata

APP_ID = "ONEX570DA89211721"
WORKSPACE = "bench"
TEMPLATE = "bench template"
TARGETS = 100
console = Console()


@dataclass
class Tally:
    accepted: int = 0
    refused: int = 0
    latencies: list[float] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign(key_id: str, secret: str, host: str, action: str, body: bytes) -> bytes:
    """The request head of an ACS3-HMAC-SHA256 signed call, as the new SDK builds it."""
    headers = {
        "accept": "application/json",
        "content-type": "application/x-www-form-urlencoded",
        "host": host,
        "user-agent": "tidings-bench",
        "x-acs-action": action,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-version": "2020-10-28",
    }
    names = tuple(sorted(headers))
    claim = Claim("ACS3-HMAC-SHA256", key_id, "", "", 0, action, "", "", names)
    request = SignedRequest("POST", {}, {}, headers, body)
    to_sign = acs3_string_to_sign(claim, request)
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={';'.join(names)},"
        f"Signature={signature}"
    )
    headers["content-length"] = str(len(body))
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"POST / HTTP/1.1\r\n{lines}\r\n".encode()


def push_body(serial: int) -> bytes:
    pairs = [
        ("AppId", APP_ID),
        ("WorkspaceId", WORKSPACE),
        ("DeliveryType", "3"),
        ("TemplateName", TEMPLATE),
        ("TaskName", f"bench {serial}"),
        ("ExpiredSeconds", "300"),
    ]
    for i in range(1, TARGETS + 1):
        pairs += [
            (f"TargetMsg.{i}.Target", f"user{serial % 5000:05d}{i:03d}"),
            (f"TargetMsg.{i}.MsgKey", uuid.uuid4().hex),
            (
                f"TargetMsg.{i}.TemplateKeyValue",
                json.dumps({"name": f"User {serial}-{i}", "money": str(serial % 1000 + i)}),
            ),
        ]
    return urlencode(sorted(pairs)).encode()


async def call(host: str, port: int, key: tuple[str, str], action: str, params: dict) -> dict:
    reader, writer = await asyncio.open_connection(host, port)
    body = urlencode(params).encode()
    writer.write(sign(*key, f"{host}:{port}", action, body) + body)
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


async def drive(
    host: str, port: int, key: tuple[str, str], bodies: list[bytes], seconds: float, conns: int
) -> tuple[Tally, float]:
    tally = Tally()
    queue = iter(bodies)
    deadline = time.perf_counter() + seconds
    authority = f"{host}:{port}"

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                body = next(queue, None)
                if body is None:
                    return
                started = time.perf_counter()
                writer.write(sign(*key, authority, "PushMultiple", body) + body)
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
    return tally, time.perf_counter() - started


def floor(rows_wanted: int, directory: Path, *, with_deliveries: bool) -> float:
    """Messages per second for the same rows inserted raw: executemany, 100 a transaction.

    Without ``with_deliveries``: the task and its message rows (what acceptance writes). With it,
    also what dispatch writes for those messages in this benchmark (targets are users with no
    device bound): one NoBindInfo delivery per message and the task's analytics counter row.
    """
    path = directory / f"floor-{with_deliveries}.db"
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)  # the server's own tables and indexes
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:  # the server's own settings
        db.execute(pragma)
    db.execute("INSERT INTO workspaces (pk, name, created_at) VALUES (1, 'w', 0);")
    db.execute(
        "INSERT INTO apps (pk, workspace_pk, app_id, timezone, created_at)"
        " VALUES (1, 1, 'a', 'UTC', 0)"
    )
    now = int(time.time() * 1000)
    batches = [
        [
            (
                b + 1,
                1,
                uuid.uuid4().hex,
                f"user{b % 5000:05d}{i:03d}",
                f"Hello User {b}-{i}",
                f"Hello User {b}-{i}, congratulations on winning {b % 1000 + i} yuan",
                None,
                None,
                now,
            )
            for i in range(1, TARGETS + 1)
        ]
        for b in range(rows_wanted // TARGETS)
    ]
    insert_task = (
        "INSERT INTO tasks (id, app_pk, action, name, delivery_type, expired_seconds,"
        " strategy_type, options, state, digest, message_count, created_at)"
        " VALUES (?, 1, 'PushMultiple', 'bench', 3, 300, 0, '{}', 'accepted', '', 100, ?)"
    )
    insert_messages = (
        "INSERT INTO messages (task_id, app_pk, msg_key, target, title, content, uri,"
        " extended_params, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    insert_stats = (
        "INSERT INTO push_stats (app_pk, task_id, push_id, action, slot, platform, channel,"
        " pushed, successful, arrived, opened) VALUES (1, ?, ?, 'PushMultiple', ?, '', '', ?,"
        " 0, 0, 0)"
    )
    insert_deliveries = (
        "INSERT INTO deliveries (task_id, message_pk, app_pk, user_id, status, attempts,"
        " created_at, expires_at, updated_at, stat_pk) VALUES (?, ?, 1, ?, 1, 0, ?, ?, ?, ?)"
    )
    started = time.perf_counter()
    for number, rows in enumerate(batches, start=1):
        db.execute("BEGIN")
        db.execute(insert_task, (number, now))
        db.executemany(insert_messages, rows)
        if with_deliveries:
            last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
            stat = db.execute(insert_stats, (number, number, now, len(rows))).lastrowid
            db.executemany(
                insert_deliveries,
                [
                    (number, last - len(rows) + i + 1, row[3], now, now + 300_000, now, stat)
                    for i, row in enumerate(rows)
                ],
            )
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return len(batches) * TARGETS / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tidings-bench-") as tmp:
        directory = Path(tmp)
        port = free_port()
        env = dict(
            os.environ, TIDINGS_DATA_DIR=str(directory / "data"), TIDINGS_LOG_LEVEL="warning"
        )
        env.pop("TIDINGS_DATABASE_URL", None)
        tidings = [sys.executable, "-m", "tidings"]
        server = subprocess.Popen([*tidings, "serve", "--port", str(port)], env=env)
        try:
            subprocess.run(
                [*tidings, "apps", "create", "--workspace", WORKSPACE, "--app-id", APP_ID],
                env=env,
                check=True,
                capture_output=True,
            )
            made = subprocess.run(
                [*tidings, "keys", "create", "--workspace", WORKSPACE, "--json"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            secret = json.loads(made.stdout)
            key = (secret["AccessKeyId"], secret["AccessKeySecret"])
            asyncio.run(_wait_ready(port))
            created = asyncio.run(
                call(
                    "127.0.0.1",
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
            needed = int(args.seconds * 400) + 200
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("building request bodies", total=needed)
                bodies = []
                for serial in range(needed):
                    bodies.append(push_body(serial))
                    progress.advance(task)
            console.print(f"warming up, then {args.seconds:.0f} s of PushMultiple ...")
            asyncio.run(drive("127.0.0.1", port, key, bodies[:100], 60, 8))
            server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
            tally, elapsed = asyncio.run(
                drive("127.0.0.1", port, key, bodies[100:], args.seconds, args.connections)
            )
            server_cpu = cpu_seconds(server.pid) - server_cpu
            client_cpu = time.process_time() - client_cpu
        finally:
            server.terminate()
            server.wait(timeout=30)
        console.print("measuring the raw SQLite floors ...")
        wanted = max(tally.accepted, 20_000)
        floor_rate = floor(wanted, directory, with_deliveries=False)
        full_floor_rate = floor(wanted, directory, with_deliveries=True)

    rate = tally.accepted / elapsed
    latencies = sorted(tally.latencies)
    p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0
    table = Table(title="PushMultiple ingest (100 personalised targets per call, SQLite)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("calls answered OK", f"{tally.accepted // TARGETS:,}")
    table.add_row("calls refused", f"{tally.refused:,}")
    table.add_row("messages accepted per second", f"{rate:,.0f}")
    table.add_row("call latency p50 / p99 (ms)", f"{p50:.1f} / {p99:.1f}")
    table.add_row("server CPU (cores busy)", f"{server_cpu / elapsed:.2f}")
    table.add_row("benchmark client CPU (cores busy)", f"{client_cpu / elapsed:.2f}")
    table.add_row("raw SQLite floor: task + messages, messages/s", f"{floor_rate:,.0f}")
    table.add_row("ratio to that floor", f"{rate / floor_rate:.2f}")
    table.add_row(
        "raw floor with dispatch's rows too (deliveries, counters), messages/s",
        f"{full_floor_rate:,.0f}",
    )
    table.add_row("ratio to that floor", f"{rate / full_floor_rate:.2f}")
    console.print(table)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _wait_ready(port: int) -> None:
    for _ in range(200):
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


if __name__ == "__main__":
    main()
