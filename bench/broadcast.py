"""Broadcast benchmark: one PushBroadcast to 100,000 registered devices, most of them offline.

Setup, not timed: a fresh data directory (or a fresh PostgreSQL schema with ``--database-url``),
an app, an AccessKey and a template made through the domain services, and ``--devices`` devices
written straight into the devices table in bulk with the store's multi-row insert (registering
100,000 devices over WebSocket would measure the gateway, not the broadcast). Then ``tidings
serve`` starts and ``--online`` devices connect for real with the Python device client.

Timed: the official SDK sends PushBroadcast (PushStatus 1: every device), and the run measures
how long the answer took (accepted and committed), how long until the broadcast is materialised
(a delivery for every device, the task marked dispatched, read from the database every 2 ms),
and how long until every online device had the message; then how long RevokePushTask takes to
withdraw it from every device again. The server keeps running and this happens ``--runs`` times
(three by default), a new broadcast each time, each run followed by its floor; every figure is
printed as median [min–max] over the runs. One untimed call first starts the SDK (its first
request spends 20-80 ms before it reaches the server).

Baselines, in the same run: the same delivery rows (every column the server fills) written into
a fresh copy of the schema, as many rows per transaction as the server resolves at a time (its
``BATCH``), with nothing else to do: sent from Python with ``executemany``, and made inside the
database with one ``INSERT ... SELECT`` from the devices table a batch (what the server does,
the app's devices of the platform picked by the same index, less routing, counting and telling
online devices): the floors for writing that many rows on this machine. Each ratio is the
floor's time over the materialising time. Seconds grow with whatever else the machine does; CPU
time does not, so each floor's CPU time a row is also set against the server's CPU time a
delivery from the call until the broadcast is materialised (the CPU ratio; on SQLite only,
since on PostgreSQL the rows cost the database server's CPU, not the process's). Each floor's
table first holds as many earlier broadcasts' deliveries as the server's does in that run
(written untimed, and revoked as the server's were), so both add to the same indexes.

    python bench/broadcast.py [--devices 100000] [--online 20] [--database-url URL]
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
from pathlib import Path

from alibabacloud_mpaas20201028 import models
from alibabacloud_mpaas20201028.client import Client
from alibabacloud_tea_openapi.models import Config
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    insert,
    literal,
    select,
    text,
)

from tidings.config import Settings
from tidings.contract import Status
from tidings.delivery.audience_batches import BATCH
from tidings.device_client import Connected, DeviceClient, Message
from tidings.devices.tokens import hash_secret
from tidings.revoke.rules import WITHDRAWABLE
from tidings.services import Services
from tidings.store.chunks import chunks
from tidings.store.database import Database
from tidings.store.revocations import Scope, revoke_deliveries
from tidings.store.rows import insert_rows
from tidings.store.tables import deliveries, devices, messages, metadata, tasks
from tidings.templates.rules import TemplateFields

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.rows import one_push  # noqa: E402

from procs import console, cpu_seconds, free_port, fresh_database, spread_table  # noqa: E402

WORKSPACE = "bench"
POLL_SECONDS = 0.002  # how often the task's state is read: the materialising time is as late
APP_ID = "ONEXBROADCAST0001"
TEMPLATE = "announcement"


async def setup(settings: Settings, count: int) -> tuple[str, str]:
    """The app, key and template; ``count`` offline devices written in bulk. The key."""
    services = await Services.open(settings)
    try:
        app = await services.tenancy.create_app(WORKSPACE, APP_ID, None, "Asia/Shanghai")
        key, secret = await services.tenancy.create_key(WORKSPACE, (), False)
        await services.templates.create(
            app.pk,
            TemplateFields(name=TEMPLATE, title="Notice", content="Dear #name#, #news#"),
        )
        for chunk in chunks(offline_devices(app.pk, count), 10_000):
            await services.db.write(insert_rows, "devices", DEVICE_COLUMNS, chunk)
        return key.access_key_id, secret
    finally:
        await services.aclose()


DEVICE_COLUMNS = ("app_pk", "token", "secret_hash", "platform", "manufacturer", "created_at")


def offline_devices(app_pk: int, count: int) -> list[tuple]:
    """``count`` Android devices of the app, in DEVICE_COLUMNS, as a device registers them:
    the server's and the floors' alike, since each delivery written checks that its device
    exists (a foreign key), reading the device's row, and bigger rows take more pages."""
    now = int(time.time() * 1000)
    secret_hash = hash_secret("offline devices never resume")
    return [
        (app_pk, uuid.uuid4().hex, secret_hash, "android", "android", now) for _ in range(count)
    ]


async def floor(url: str, count: int, how: str, earlier: int) -> tuple[float, float]:
    """Seconds, and CPU seconds, to write ``count`` delivery rows raw into a copy of the schema, on
    the server's own database settings (SQLite pragmas, foreign keys), its devices already
    there (rows like the server's: offline_devices) and, as in the server's table, the
    deliveries of ``earlier`` broadcasts before, revoked as the run revoked the server's (a
    pending delivery sorts first in the (status, expires_at) index: with the earlier ones
    pending the floor appended every row at the index's end, the server inserts in its middle):
    the rows the server writes (every column it fills, ``stat_pk`` too), ``BATCH`` a
    transaction, either sent from Python (``executemany``) or made inside the database from
    the devices table (``insert-select``: one INSERT ... SELECT a batch, the app's devices
    of the platform by pk range)."""
    db = Database(url)
    metadata.create_all(db.engine)
    now = int(time.time() * 1000)
    values = {
        "channel": "selfbuilt",
        "status": 0,
        "attempts": 0,
        "created_at": now,
        "expires_at": now + 600_000,
        "updated_at": now,
        "stat_pk": 1,
    }
    columns = (literal(v, deliveries.c[name].type) for name, v in values.items())
    made = select(
        devices.c.app_pk,
        devices.c.pk,
        *(bindparam("task", deliveries.c.task_id.type),) * 2,
        *columns,
    ).where(
        # the app's devices of the platform, as the server must pick them (by the same index)
        devices.c.app_pk == 1,
        devices.c.platform == "android",
        devices.c.pk > bindparam("after"),
        devices.c.pk <= bindparam("last"),
    )
    made_inside = insert(deliveries).from_select(
        ["app_pk", "device_pk", "task_id", "message_pk", *values], made
    )
    task = earlier + 1  # the earlier ones are 1 to earlier, each with its message of that pk
    with db.engine.begin() as conn:
        one_push(conn, action="PushBroadcast", delivery_type=1, now=now)
        for chunk in chunks(offline_devices(1, count), 10_000):  # pks 1 to count
            insert_rows(conn, "devices", DEVICE_COLUMNS, chunk)
        for number in range(1, task + 1):
            if number > 1:
                copy_push(conn, number)
            if number < task:  # written, then revoked as the server's were (RevokePushTask)
                conn.execute(made_inside, {"task": number, "after": 0, "last": count})
                ids = ((number - 1) * count, number * count)  # its message's, as one page
                revoke_deliveries(conn, now, Status.REVOKED, WITHDRAWABLE, Scope((number,)), ids)
    started = time.perf_counter()
    cpu = time.process_time()
    if how == "executemany":
        rows = [
            {**values, "app_pk": 1, "device_pk": pk, "task_id": task, "message_pk": task}
            for pk in range(1, count + 1)
        ]
        for chunk in chunks(rows, BATCH):
            with db.engine.begin() as conn:
                conn.execute(insert(deliveries), list(chunk))
    else:
        for after in range(0, count, BATCH):
            with db.engine.begin() as conn:
                conn.execute(made_inside, {"task": task, "after": after, "last": after + BATCH})
    took = time.perf_counter() - started, time.process_time() - cpu
    await db.aclose()
    return took


def copy_push(conn: Connection, number: int) -> None:
    """Task and message ``number``, copies of the first (one_push's)."""
    task = conn.execute(select(tasks).where(tasks.c.id == 1)).one()._asdict()
    conn.execute(insert(tasks).values({**task, "id": number}))
    message = conn.execute(select(messages).where(messages.c.pk == 1)).one()._asdict()
    conn.execute(
        insert(messages).values(
            {**message, "pk": number, "task_id": number, "msg_key": f"k{number}"}
        )
    )


FLOORS = {
    "executemany": "floor: raw executemany, {batch} a transaction (s)",
    "insert-select": "floor: raw INSERT ... SELECT, {batch} a transaction (s)",
}


async def listen(client: DeviceClient, ready: asyncio.Event, got: list[float]) -> None:
    async with contextlib.aclosing(client.events()) as events:
        async for event in events:
            if isinstance(event, Connected):
                ready.set()
            elif isinstance(event, Message):
                got.append(time.perf_counter())
                return


async def run(args: argparse.Namespace, data_dir: Path) -> None:
    database_url = None if args.base_url is None else args.database_url
    settings = Settings(data_dir=data_dir, database_url=database_url)
    console.print(f"writing {args.devices:,} offline devices ...")
    key = await setup(settings, args.devices)
    port = free_port()
    env = dict(os.environ, TIDINGS_DATA_DIR=str(data_dir))
    if database_url:
        env["TIDINGS_DATABASE_URL"] = database_url
    server = subprocess.Popen(
        [sys.executable, "-m", "tidings", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # one kept connection for the polling: opening one per look cost 0.5 ms of CPU, ten times
    # a look's, on the cores the server uses
    engine = create_engine(settings.database, pool_size=1)
    figures: dict[str, list[float]] = {}
    try:
        await wait_for_server(port)
        sdk = Client(
            Config(
                access_key_id=key[0],
                access_key_secret=key[1],
                endpoint=f"127.0.0.1:{port}",
                protocol="http",
            )
        )
        warm_up(sdk)
        for number in range(1, args.runs + 1):
            console.rule(f"run {number} of {args.runs} (load {os.getloadavg()[0]:.1f})")
            # each run's online devices register anew: the earlier runs' are offline now
            total = args.devices + args.online * number
            run = await one_broadcast(args, port, sdk, engine, total, server.pid)
            for name, value in run.items():
                figures.setdefault(name, []).append(value)
            materialised = run["materialised: a delivery per device (s)"]
            cpu = run["server CPU until materialised (µs a delivery)"]
            for how, label in FLOORS.items():
                name = f"floor{number}{how.replace('-', '')}"
                with fresh_database(args.base_url, data_dir, name) as floor_url:
                    database = Settings(database_url=floor_url).database
                    seconds, floor_cpu = await floor(database, total, how, earlier=number - 1)
                floor_cpu *= 1e6 / total
                figures.setdefault(label.format(batch=BATCH), []).append(seconds)
                figures.setdefault(f"ratio to the {how} floor (1 = the floor)", []).append(
                    seconds / materialised
                )
                if args.base_url is None:  # on PostgreSQL the rows cost the database's CPU
                    figures.setdefault(f"{how} floor CPU (µs a row)", []).append(floor_cpu)
                    figures.setdefault(f"CPU ratio to the {how} floor", []).append(floor_cpu / cpu)
    finally:
        server.terminate()
        server.wait()
        engine.dispose()
    rows = [(name, {"": values}, _shape(name)) for name, values in figures.items()]
    title = f"PushBroadcast to {args.devices:,} offline + {args.online} online devices"
    console.print(spread_table(title, rows))


def warm_up(sdk: Client) -> None:
    """One untimed call before the runs: the SDK's first request pays for its own start (20-80 ms
    in this process, before the request reaches the server), which the first run's figures
    charged to the server. A read (the app's scheduled pushes) leaves the broadcast path cold."""
    now = int(time.time() * 1000)
    request = models.QueryPushSchedulerListRequest(
        app_id=APP_ID,
        workspace_id=WORKSPACE,
        start_time=now - 60_000,
        end_time=now,
        page_number=1,
        page_size=10,
    )
    answer = sdk.query_push_scheduler_list(request)
    assert answer.body.result_code == "OK", answer.body


def _shape(name: str) -> str:
    if "(s)" in name or "ratio" in name:
        return "{:.2f}"
    return "{:.1f}" if "µs" in name else "{:,.0f}"


async def one_broadcast(
    args: argparse.Namespace, port: int, sdk: Client, engine: Engine, total: int, pid: int
) -> dict[str, float]:
    """One PushBroadcast to every device, then its revocation; the figures of this run. The
    server's CPU from the call until the broadcast is materialised (user and system time of
    process ``pid``) does not grow with other processes' load as the seconds do."""
    url = f"http://127.0.0.1:{port}"
    readies = [asyncio.Event() for _ in range(args.online)]
    got: list[float] = []
    clients = [
        asyncio.create_task(
            listen(DeviceClient(url, app_id=APP_ID, workspace_id=WORKSPACE), ready, got)
        )
        for ready in readies
    ]
    await asyncio.gather(*(r.wait() for r in readies))
    request = models.PushBroadcastRequest(
        app_id=APP_ID,
        workspace_id=WORKSPACE,
        task_name="everyone",
        delivery_type=1,
        template_name=TEMPLATE,
        template_key_value='{"name": "user", "news": "maintenance"}',
        msgkey=uuid.uuid4().hex,
        expired_seconds=3600,
        push_status=1,
        un_bind_period=4,
    )
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    answer = await asyncio.to_thread(sdk.push_broadcast, request)
    accepted = time.perf_counter() - started
    assert answer.body.result_code == "OK", answer.body
    task_id = int(answer.body.push_result.data)
    done, cpu_done = await wait_materialised(engine, task_id, total, pid)
    materialised = done - started
    cpu = cpu_done - cpu
    await asyncio.wait_for(asyncio.gather(*clients), 60)
    online = max(got) - started
    revoke = models.RevokePushTaskRequest(
        app_id=APP_ID, workspace_id=WORKSPACE, task_id=str(task_id)
    )
    started = time.perf_counter()
    revoked = await asyncio.to_thread(sdk.revoke_push_task, revoke)
    revoking = time.perf_counter() - started
    assert revoked.body.result_code == "OK", revoked.body
    console.print(f"RevokePushTask: {revoked.body.push_result.data}")
    return {
        "accepted: PushBroadcast answered (s)": accepted,
        "online devices had it (s)": online,
        "materialised: a delivery per device (s)": materialised,
        "server CPU until materialised (µs a delivery)": cpu * 1e6 / total,
        "deliveries per second": total / materialised,
        "RevokePushTask answered (s)": revoking,
    }


async def wait_for_server(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError("tidings serve did not start in 30 s")


async def wait_materialised(
    engine: Engine, task_id: int, total: int, pid: int
) -> tuple[float, float]:
    """The moment the task is seen marked dispatched (in the transaction of its last batch: up
    to POLL_SECONDS after it committed, a millisecond on average), and
    the CPU seconds process ``pid`` had used then: read before the deliveries are counted, so
    the server's work after the broadcast (its online devices' sends and acks) stays out of
    the CPU figure as it does out of the seconds."""
    state = text("SELECT state FROM tasks WHERE id = :id")
    while True:
        with engine.connect() as conn:
            if conn.execute(state, {"id": task_id}).scalar() == "dispatched":
                done = time.perf_counter()
                cpu = cpu_seconds(pid)
                count = text("SELECT count(*) FROM deliveries WHERE task_id = :id")
                made = conn.execute(count, {"id": task_id}).scalar()
                assert made == total, f"{made} deliveries, expected {total}"
                return done, cpu
        await asyncio.sleep(POLL_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--online", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite (a fresh schema)")
    args = parser.parse_args()
    args.base_url = args.database_url
    with (
        tempfile.TemporaryDirectory(prefix="tidings-broadcast-") as directory,
        fresh_database(args.base_url, Path(directory), "server") as url,
    ):
        args.database_url = url
        asyncio.run(run(args, Path(directory)))


if __name__ == "__main__":
    main()
