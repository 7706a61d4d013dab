"""APNs benchmark: PushMultiple to 10,000 iOS devices through the APNs adapter into a fake APNs.

Starts the fake APNs (TLS + HTTP/2, ES256 tokens checked) in a process of its own and
``tidings serve`` on SQLite with the app's APNs channel pointed at it; registers ``--devices``
iOS devices with APNs tokens (written straight into the database: setup, not measured); pushes to
one of them and waits for it to be accepted, which opens the server's connection to the fake as
the ceiling's first request opens its own (a long-lived connection's setup is in neither figure);
then sends PushMultiple calls of 100 personalised targets to the others through the official SDK
from a few threads and times from the first call until every delivery is recorded as accepted by
APNs (status 2).

In the same run it measures the fake's own ceiling: the same number of notifications, with the
headers and payload the adapter builds (``apns.notification``, made before the clock starts) and
the same provider token, sent over one HTTP/2 connection by the bare client the adapter uses, as
many at once as the adapter may send (``--streams``, its ``concurrency``), with nothing of
Tidings around it. Both, ``--runs`` times (three by default), each run on a fresh server; it
prints both rates and their ratio as median [min–max] over the runs, and beside them the CPU each
message cost the Tidings server, the fake and the bare client (from /proc): unlike the rates,
those hold when other work shares the machine's cores. How busy the fake was in each leg (its CPU
seconds over the leg's seconds; 1.0 is a whole core) says whether it, not the client, set a rate.

    python bench/vendor.py [--devices 10000] [--streams 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alibabacloud_mpaas20201028 import models
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.channels.outbound import outbound  # noqa: E402
from tests.fakes.credentials import BUNDLE_ID, apns_config, apns_key  # noqa: E402
from tests.support.clients import new_sdk  # noqa: E402
from tests.support.servers import free_port, running_server  # noqa: E402

from procs import console, cpu_seconds, spread_table  # noqa: E402
from tidings.channels.apns import notification, provider_token  # noqa: E402
from tidings.channels.catalog import check_config  # noqa: E402
from tidings.channels.http import tls_context  # noqa: E402
from tidings.channels.http2 import Http2Connection  # noqa: E402
from tidings.store.tables import apps, devices  # noqa: E402

APP_ID = "ONEXBENCHAPNS001"
WORKSPACE = "bench"
TEMPLATE = "bench"
TARGETS = 100
TITLE, CONTENT = "Hello", "Hello #name#, your parcel has arrived"


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


def register_devices(database: str, count: int) -> list[str]:
    """Write ``count`` iOS devices with APNs tokens for the app, as PushReport would."""
    engine = create_engine(database)
    tokens = [uuid.uuid4().hex * 2 for _ in range(count)]
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


def accepted(database: str) -> int:
    engine = create_engine(database)
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM deliveries WHERE channel = 'apns' AND status = 2")
        ).scalar_one()


def wait_accepted(database: str, count: int, started: float) -> None:
    while (done := accepted(database)) < count:
        if time.perf_counter() - started > 300:
            raise RuntimeError(f"only {done} of {count} accepted after 300 s")
        time.sleep(0.05)


def push_all(client, tokens: list[str]) -> None:
    def call(chunk: list[str]) -> None:
        body = client.push_multiple(
            models.PushMultipleRequest(
                app_id=APP_ID, workspace_id=WORKSPACE, delivery_type=2, task_name="bench",
                template_name=TEMPLATE, expired_seconds=3600,
                target_msg=[
                    models.PushMultipleRequestTargetMsg(
                        target=t, msg_key=uuid.uuid4().hex,
                        template_key_value=json.dumps({"name": t[:8]}),  # see content()
                    )
                    for t in chunk
                ],
            )
        ).body  # fmt: skip
        assert body.result_code == "OK", body

    chunks = [tokens[i : i + TARGETS] for i in range(0, len(tokens), TARGETS)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(call, chunks))


def content(token: str) -> str:
    """The alert text the template gives a device: its ``name`` is the token's first 8."""
    return CONTENT.replace("#name#", token[:8])


def through_tidings(
    directory: Path, fake_url: str, ca_file: Path, count: int, streams: int, fake_pid: int
) -> dict[str, float]:
    settings = {"SSL_CERT_FILE": str(ca_file), "TIDINGS_LOG_LEVEL": "warning"}
    with running_server("sqlite", directory / "data", settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        key = server.create_key(WORKSPACE)
        server.cli(
            "channels", "set", "--workspace", WORKSPACE, "--app-id", APP_ID, "--channel", "apns",
            "--config", json.dumps(apns_config(fake_url, concurrency=streams)),
        )  # fmt: skip
        client = new_sdk(server, key)
        client.create_template(
            models.CreateTemplateRequest(
                app_id=APP_ID, workspace_id=WORKSPACE, template_name=TEMPLATE,
                title=TITLE, content=CONTENT,
            )
        )  # fmt: skip
        database = f"sqlite:///{(directory / 'data' / 'tidings.db').resolve()}"
        first, *tokens = register_devices(database, count + 1)
        push_all(client, [first])  # opens the server's connection, as the ceiling's first does
        wait_accepted(database, 1, time.perf_counter())
        assert server.process is not None
        server_cpu, fake_cpu = cpu_seconds(server.process.pid), cpu_seconds(fake_pid)
        started = time.perf_counter()
        push_all(client, tokens)
        wait_accepted(database, count + 1, started)
        elapsed = time.perf_counter() - started
        server_used = cpu_seconds(server.process.pid) - server_cpu
        fake_used = cpu_seconds(fake_pid) - fake_cpu
        return {
            "rate": count / elapsed,
            "server_us": server_used / count * 1e6,
            "server_busy": server_used / elapsed,
            "fake_us": fake_used / count * 1e6,
            "fake_busy": fake_used / elapsed,
        }


async def ceiling(
    fake_url: str, ca_file: Path, count: int, streams: int, fake_pid: int
) -> dict[str, float]:
    """The fake's rate for bare requests over one connection (the adapter's headers and payload,
    the same token and concurrency), and the CPU each request cost the client and the fake."""
    os.environ["SSL_CERT_FILE"] = str(ca_file)
    config = check_config("apns", apns_config(fake_url))
    connection = Http2Connection(fake_url, tls_context(alpn=("h2",)))
    bearer = (b"authorization", b"bearer " + provider_token(config, time.time()).encode())
    now = time.time()
    requests = []
    for token in (uuid.uuid4().hex * 2 for _ in range(count + 1)):
        out = outbound(
            "apns", token, platform="ios", title=TITLE, content=content(token), expires_in=3600
        )
        headers, body = notification(out, BUNDLE_ID, now)
        requests.append((f"/3/device/{token}", [bearer, *headers], body))
    await connection.request(*requests.pop())  # connect first
    pending = iter(requests)

    async def worker() -> None:
        for path, headers, body in pending:
            response = await connection.request(path, headers, body)
            assert response.status == 200, response.body

    client_cpu, fake_cpu = time.process_time(), cpu_seconds(fake_pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(streams)))
    elapsed = time.perf_counter() - started
    fake_used = cpu_seconds(fake_pid) - fake_cpu
    found = {
        "rate": count / elapsed,
        "client_us": (time.process_time() - client_cpu) / count * 1e6,
        "fake_us": fake_used / count * 1e6,
        "fake_busy": fake_used / elapsed,
    }
    await connection.aclose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument(
        "--streams", type=int, default=500, help="requests at once: the adapter's concurrency"
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        fake, url, ca_file = start_fake(directory)
        try:
            for number in range(1, args.runs + 1):
                console.rule(f"run {number} of {args.runs} (load {os.getloadavg()[0]:.1f})")
                console.print(f"Fake APNs at {url}; measuring its ceiling ...")
                bare = ceiling(url, ca_file, args.devices, args.streams, fake.pid)
                try:
                    import uvloop

                    floor = uvloop.run(bare)
                except ImportError:
                    floor = asyncio.run(bare)
                console.print(f"PushMultiple to {args.devices} iOS devices through Tidings ...")
                found = through_tidings(
                    directory / f"run{number}", url, ca_file, args.devices, args.streams, fake.pid
                )
                for name, value in (
                    ("PushMultiple -> Tidings -> APNs adapter -> fake APNs (/s)", found["rate"]),
                    ("bare HTTP/2 client -> fake APNs, one connection (/s)", floor["rate"]),
                    ("ratio to the fake's ceiling", found["rate"] / floor["rate"]),
                    ("Tidings server CPU per message (µs)", found["server_us"]),
                    ("Tidings server busy (cores)", found["server_busy"]),
                    ("fake APNs CPU per request, through Tidings (µs)", found["fake_us"]),
                    ("fake APNs busy, through Tidings (cores)", found["fake_busy"]),
                    ("bare client CPU per request (µs)", floor["client_us"]),
                    ("fake APNs CPU per request, bare client (µs)", floor["fake_us"]),
                    ("fake APNs busy, bare client (cores)", floor["fake_busy"]),
                ):
                    figures.setdefault(name, []).append(value)
        finally:
            fake.terminate()
            fake.wait(10)
    rows = [
        (name, {"": values}, "{:.2f}" if "ratio" in name or "cores" in name else "{:,.0f}")
        for name, values in figures.items()
    ]
    console.print(spread_table(f"APNs adapter, {args.devices:,} iOS devices", rows))


if __name__ == "__main__":
    main()
