"""WebSocket transports for the device gateway, measured on the same fan-out with no database.

For each transport of floors.py (uvicorn + ASGI as Tidings used before gateway/transport.py, a
hand-written ``asyncio.Protocol``, the ``websockets`` sans-I/O protocol, picows, and the same
protocols behind uvicorn on one port, the shape gateway/transport.py took), each run:

1. starts the server process, connects ``--idle`` devices from a client process (fanout.py's
   light hand-written client: handshake, ``register``, ack every message), and measures the
   connect rate, the server's CPU per connection and its memory per idle connection (RSS growth
   over the connections, two seconds after the last one registered);
2. drops those, connects ``--devices`` devices, sends one warm-up burst, then ``--bursts``
   bursts (one small JSON message per device each; the next burst starts when every device has
   acked the last), and measures delivered + acked messages per second and the cores the server
   and the client process kept busy.

Transports take turns within a run, so a change in the machine's load spreads over all of them;
every figure is printed as median [min–max] over ``--runs`` runs (three by default).
``--check`` also verifies, for each transport, that the HTTP API and the device channel answer on
one port, in the clear and over TLS (a trustme certificate): ``GET /healthz`` and a ``register``
over WebSocket with the ``websockets`` client.

    python bench/transports.py [--devices 10000] [--idle 20000] [--runs 3] [--bursts 5]
                               [--transports uvicorn,protocol,...] [--loop uvloop|asyncio] [--check]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fanout import Devices
from floors import TRANSPORTS
from procs import Busy, console, cpu_seconds, free_port, raise_open_files, rss_kib, spread_table

HERE = Path(__file__).resolve().parent
DEFAULT = ("uvicorn", "protocol", "sansio", "picows", "uvicorn+protocol", "uvicorn+picows")


class FloorServer:
    """A floors.py server process and its line protocol (see floors.py)."""

    def __init__(self, transport: str, loop: str, connections: int, tls: tuple = ()) -> None:
        self.port = free_port()
        command = [sys.executable, str(HERE / "floors.py"), "--transport", transport]
        command += ["--port", str(self.port), "--loop", loop, "--connections", str(connections)]
        if tls:
            command += ["--certfile", tls[0], "--keyfile", tls[1]]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        if self.read() != "ready":
            raise RuntimeError(f"{transport} did not start")

    @property
    def pid(self) -> int:
        return self.process.pid

    def read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the server exited with {self.process.wait()}")
        return line.strip()

    def tell(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def burst(self, tag: int) -> float:
        self.tell(f"burst {tag} 0")
        return float(self.read().split()[2])

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def run_one(transport: str, args: argparse.Namespace) -> dict[str, float]:
    """One run of one transport: connect and idle figures, then the bursts."""
    server = FloorServer(transport, args.loop, max(args.idle, args.devices))
    figures: dict[str, float] = {}
    devices = None
    try:
        if args.idle:
            before, cpu = rss_kib(server.pid), cpu_seconds(server.pid)
            devices = Devices("ws", server.port, args.idle, record=False)
            found = devices.report(900)
            connect_cpu = cpu_seconds(server.pid) - cpu
            time.sleep(2)
            figures["idle_kib"] = (rss_kib(server.pid) - before) / args.idle
            figures["connect_rate"] = args.idle / found["connect_seconds"]
            figures["connect_cpu_us"] = connect_cpu / args.idle * 1e6
            devices.stop()
            devices = None
            server.tell("reset")
            time.sleep(1)
        devices = Devices("ws", server.port, args.devices, record=False)
        devices.report(900)
        server.burst(0)  # warm-up
        busy = Busy({"server": server.pid, "client": devices.pid}, time.monotonic)
        took = [server.burst(tag) for tag in range(1, args.bursts + 1)]
        cores = busy.cores()
        figures["rate"] = args.devices * len(took) / sum(took)
        figures["burst_ms"] = sorted(took)[len(took) // 2] * 1000
        figures["server_cores"] = cores["server"]
        figures["client_cores"] = cores["client"]
        figures["server_us"] = cores["server"] * sum(took) / (args.devices * len(took)) * 1e6
    finally:
        if devices is not None:
            devices.stop()
        server.stop()
    return figures


# ----------------------------------------------------------------------------- one port, TLS


def check(transport: str, loop: str, tls: tuple[str, str] | None, ca: str | None) -> str:
    """Does ``GET /healthz`` and a device ``register`` answer on the server's one port?"""
    import httpx
    from websockets.sync.client import connect

    socket.setdefaulttimeout(10)  # a handshake that never comes fails instead of hanging
    server = FloorServer(transport, loop, 100, tls or ())
    scheme = "s" if tls else ""
    context = ssl.create_default_context(cafile=ca) if ca else None
    found = []
    try:
        try:
            answer = httpx.get(
                f"http{scheme}://127.0.0.1:{server.port}/healthz", verify=context or True
            )
            found.append("HTTP ok" if answer.status_code == 200 else f"HTTP {answer.status_code}")
        except httpx.HTTPError as exc:
            found.append(f"no HTTP ({type(exc).__name__})")
        try:
            uri = f"ws{scheme}://127.0.0.1:{server.port}/device"
            with connect(uri, ssl=context, compression=None, open_timeout=5) as ws:
                ws.send(json.dumps({"type": "register"}))
                registered = json.loads(ws.recv(timeout=5))
            found.append("WS ok" if registered["type"] == "registered" else "WS wrong answer")
        except Exception as exc:
            found.append(f"no WS ({type(exc).__name__})")
    finally:
        server.stop()
    return ", ".join(found)


def checks(transports: list[str], loop: str) -> None:
    import trustme

    authority = trustme.CA()
    with tempfile.TemporaryDirectory(prefix="tidings-tls-") as tmp:
        ca = Path(tmp) / "ca.pem"
        authority.cert_pem.write_to_path(ca)
        cert = authority.issue_cert("127.0.0.1")
        chain, key = Path(tmp) / "chain.pem", Path(tmp) / "key.pem"
        cert.private_key_pem.write_to_path(key)
        with chain.open("wb") as out:
            for blob in cert.cert_chain_pems:
                out.write(blob.bytes())
        rows = []
        for transport in transports:
            plain = check(transport, loop, None, None)
            secure = check(transport, loop, (str(chain), str(key)), str(ca))
            rows.append((transport, plain, secure))
    from rich.table import Table

    table = Table(title="One port for the API and the devices, in the clear and over TLS")
    for column in ("transport", "plain", "TLS"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument(
        "--idle",
        type=int,
        default=19_800,
        help="connections for memory (near 20,000: a process here may hold 20,000 files at most)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--transports", default=",".join(DEFAULT))
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--check", action="store_true", help="also check port sharing and TLS")
    args = parser.parse_args()
    chosen = args.transports.split(",")
    for name in chosen:
        if name not in TRANSPORTS:
            raise SystemExit(f"unknown transport {name!r}: one of {', '.join(TRANSPORTS)}")
    limit = raise_open_files(max(args.idle, args.devices) + 1000)
    if limit < max(args.idle, args.devices) + 100:
        raise SystemExit(f"the open-file limit ({limit}) is too low for {args.idle} connections")
    with contextlib.suppress(ImportError):
        import uvloop

        console.print(f"uvloop {uvloop.__version__} available; servers run on {args.loop}")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in chosen}
    for number in range(1, args.runs + 1):
        for name in chosen:
            console.print(f"run {number} of {args.runs}: {name} ...")
            results[name].append(run_one(name, args))

    def cells(field: str) -> dict[str, list[float]]:
        return {name: [r[field] for r in runs if field in r] for name, runs in results.items()}

    rows = [
        ("delivered + acked messages/s", cells("rate"), "{:,.0f}"),
        (f"one burst to {args.devices:,} devices (ms)", cells("burst_ms"), "{:,.0f}"),
        ("server cores busy", cells("server_cores"), "{:.2f}"),
        ("client process cores busy", cells("client_cores"), "{:.2f}"),
        ("server CPU per message (µs)", cells("server_us"), "{:.1f}"),
        (f"memory per idle connection at {args.idle:,} (KiB)", cells("idle_kib"), "{:.2f}"),
        ("connect rate (devices/s)", cells("connect_rate"), "{:,.0f}"),
        ("server CPU per connect (µs)", cells("connect_cpu_us"), "{:,.0f}"),
    ]
    title = f"Fan-out with no database: {args.devices:,} devices, {args.bursts} bursts a run"
    console.print(spread_table(title, rows))
    if "protocol" in results:
        ratios = [
            (
                f"{name} / protocol, messages/s",
                {
                    "": [
                        a["rate"] / b["rate"]
                        for a, b in zip(runs, results["protocol"], strict=True)
                    ]
                },
                "{:.2f}",
            )
            for name, runs in results.items()
            if name != "protocol"
        ]
        console.print(spread_table("Ratios to the hand-written protocol, same run", ratios))
    if args.check:
        checks(chosen, args.loop)


if __name__ == "__main__":
    main()
