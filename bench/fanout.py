"""Fan-out benchmark: one burst of personalised messages to N connected devices, against Mosquitto.

Starts ``tidings serve`` (embedded SQLite, temporary data directory) and a client process holding
N device connections on the self-built channel; measures the server's memory per idle
connection; then pushes one burst of N personalised messages (one per device) through signed
PushMultiple calls of 100 targets and waits until every device has received and acknowledged its
message. In the same run it repeats the workload over a Mosquitto broker it starts itself (one
topic per device, QoS 1 both ways, TCP_NODELAY on), and prints the two side by side with their
ratio and how busy each process was, so the saturated side is visible.

Both client sides are equally light: hand-written framing on asyncio protocols (uvloop), one
process for all N connections, no library client per connection. A client masks its WebSocket
frames with a zero key, which servers accept and which saves the client the XOR.

    python bench/fanout.py [--devices 5000] [--callers 8] [--skip-mosquitto]

Latency is measured from the moment the call (or MQTT publish) carrying a message was sent to
the moment its device had it; throughput is messages delivered and acknowledged per second,
from the first call sent to the last ack written by a device.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from rich.console import Console
from rich.table import Table

from ingest import APP_ID, WORKSPACE, _wait_ready, call, cpu_seconds, free_port, read_response, sign

TEMPLATE = "fanout template"
TARGETS = 100
PROFILE = ""  # set by --profile
ALL_ACCEPTED = "(every call answered)"
PORTS_PER_SOURCE = 20_000  # below the ~28,000 ephemeral ports one source address has
console = Console()


# ----------------------------------------------------------------------------- device side


class Fleet:
    """What all connections of one client process share: counts, receipt times, completion."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.tokens: list[str | None] = [None] * count
        self.connected = 0
        self.receipts: dict[str, float] = {}
        self.last_ack = 0.0

    def hello(self, index: int, token: str) -> None:
        self.tokens[index] = token
        self.connected += 1
        if self.connected == self.count and not self.ready.done():
            self.ready.set_result(None)

    def received(self, msg_key: str) -> None:
        self.receipts[msg_key] = time.monotonic()

    def acked(self) -> None:
        self.last_ack = time.monotonic()
        if len(self.receipts) == self.count and not self.done.done():
            self.done.set_result(None)


def ws_frame(text: bytes) -> bytes:
    """A masked client text frame (mask key zero: the payload goes out as it is)."""
    size = len(text)
    if size < 126:
        return bytes((0x81, 0x80 | size)) + b"\0\0\0\0" + text
    return struct.pack("!BBH", 0x81, 0x80 | 126, size) + b"\0\0\0\0" + text


class WsDevice(asyncio.Protocol):
    def __init__(self, fleet: Fleet, index: int, host: str, hello: bytes) -> None:
        self.fleet = fleet
        self.index = index
        self.host = host
        self.hello = hello
        self.buffer = b""
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /device HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(buffer[:200])
            self.upgraded = True
            buffer = buffer[end + 4 :]
            assert self.transport is not None
            self.transport.write(ws_frame(self.hello))
        while len(buffer) >= 2:
            size = buffer[1] & 0x7F
            start = 2
            if size == 126:
                if len(buffer) < 4:
                    break
                size = struct.unpack_from("!H", buffer, 2)[0]
                start = 4
            elif size == 127:
                if len(buffer) < 10:
                    break
                size = struct.unpack_from("!Q", buffer, 2)[0]
                start = 10
            if len(buffer) < start + size:
                break
            opcode = buffer[0] & 0x0F
            payload = buffer[start : start + size]
            buffer = buffer[start + size :]
            if opcode == 1:
                self.frame(payload)
            elif opcode == 8:
                raise RuntimeError(f"device {self.index} closed: {payload!r}")
        self.buffer = buffer

    def frame(self, payload: bytes) -> None:
        frame = json.loads(payload)
        kind = frame["type"]
        if kind == "message":
            self.fleet.received(frame["msgKey"])
            assert self.transport is not None
            self.transport.write(ws_frame(b'{"type":"ack","ids":[%d]}' % frame["id"]))
            self.fleet.acked()
        elif kind == "registered":
            self.fleet.hello(self.index, frame["deliveryToken"])
        elif kind == "error":
            raise RuntimeError(frame)


def mqtt_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def mqtt_packet(kind: int, body: bytes) -> bytes:
    size = len(body)
    length = bytearray()
    while True:
        byte, size = size % 128, size // 128
        length.append(byte | (0x80 if size else 0))
        if not size:
            break
    return bytes((kind,)) + bytes(length) + body


def mqtt_packets(buffer: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Whole packets at the front of ``buffer`` (first byte, body), and what is left."""
    packets = []
    while len(buffer) >= 2:
        size, shift, at = 0, 0, 1
        while True:
            if at >= len(buffer):
                return packets, buffer
            byte = buffer[at]
            size |= (byte & 0x7F) << shift
            shift += 7
            at += 1
            if not byte & 0x80:
                break
        if len(buffer) < at + size:
            break
        packets.append((buffer[0], buffer[at : at + size]))
        buffer = buffer[at + size :]
    return packets, buffer


def mqtt_connect(client_id: str) -> bytes:
    # protocol "MQTT" level 4 (3.1.1), clean session, keep-alive off
    return mqtt_packet(0x10, mqtt_string("MQTT") + b"\x04\x02\x00\x00" + mqtt_string(client_id))


class MqttDevice(asyncio.Protocol):
    def __init__(self, fleet: Fleet, index: int) -> None:
        self.fleet = fleet
        self.index = index
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(mqtt_connect(f"dev{self.index}"))

    def data_received(self, data: bytes) -> None:
        packets, self.buffer = mqtt_packets(self.buffer + data)
        assert self.transport is not None
        for first, body in packets:
            kind = first >> 4
            if kind == 3:  # PUBLISH, QoS 1: topic, packet id, payload
                topic_size = struct.unpack_from("!H", body)[0]
                packet_id = body[2 + topic_size : 4 + topic_size]
                frame = json.loads(body[4 + topic_size :])
                self.fleet.received(frame["msgKey"])
                self.transport.write(b"\x40\x02" + packet_id)
                self.fleet.acked()
            elif kind == 2:  # CONNACK: subscribe to this device's topic
                topic = mqtt_string(f"dev/{self.index}")
                self.transport.write(mqtt_packet(0x82, b"\x00\x01" + topic + b"\x01"))
            elif kind == 9:  # SUBACK
                self.fleet.hello(self.index, f"dev/{self.index}")


def report(text: str) -> None:
    """Hand a (large) result to the parent: written to a file, its path on stdout."""
    fd, path = tempfile.mkstemp(prefix="fanout-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    print(path, flush=True)


async def hold_devices(kind: str, host: str, port: int, count: int) -> None:
    """The client process: connect everything, report, then record the burst's receipts."""
    loop = asyncio.get_running_loop()
    fleet = Fleet(count)
    hello = json.dumps(
        {"type": "register", "appId": APP_ID, "workspaceId": WORKSPACE, "platform": "android"}
    ).encode()
    opening = asyncio.Semaphore(200)

    devices: list[asyncio.Protocol] = []

    async def open_one(index: int) -> None:
        source = f"127.0.0.{1 + index // PORTS_PER_SOURCE}"
        async with opening:
            if kind == "ws":
                _, device = await loop.create_connection(
                    lambda: WsDevice(fleet, index, f"{host}:{port}", hello),
                    host,
                    port,
                    local_addr=(source, 0),
                )
            else:
                _, device = await loop.create_connection(
                    lambda: MqttDevice(fleet, index), host, port, local_addr=(source, 0)
                )
            devices.append(device)

    async def heartbeats() -> None:
        """Tidings closes devices silent for 2.5 heartbeat intervals (30 s each)."""
        ping = ws_frame(b'{"type":"ping"}')
        while True:
            await asyncio.sleep(20)
            for device in devices:
                if isinstance(device, WsDevice) and device.transport is not None:
                    device.transport.write(ping)

    beating = loop.create_task(heartbeats())
    await asyncio.gather(*(open_one(i) for i in range(count)))
    await fleet.ready
    report(json.dumps({"tokens": fleet.tokens}))
    await fleet.done
    report(json.dumps({"receipts": fleet.receipts, "last_ack": fleet.last_ack}))
    await beating  # until the parent ends this process


# ----------------------------------------------------------------------------- the pushers


def push_bodies(tokens: list[str]) -> tuple[list[bytes], list[list[str]]]:
    bodies, keys = [], []
    for start in range(0, len(tokens), TARGETS):
        pairs = [
            ("AppId", APP_ID),
            ("WorkspaceId", WORKSPACE),
            ("DeliveryType", "1"),
            ("TemplateName", TEMPLATE),
            ("TaskName", f"fanout {start}"),
            ("ExpiredSeconds", "300"),
            ("ExtendedParams", json.dumps({"campaign": "fanout"})),
        ]
        batch = []
        for i, token in enumerate(tokens[start : start + TARGETS], start=1):
            msg_key = uuid.uuid4().hex
            batch.append(msg_key)
            pairs += [
                (f"TargetMsg.{i}.Target", token),
                (f"TargetMsg.{i}.MsgKey", msg_key),
                (
                    f"TargetMsg.{i}.TemplateKeyValue",
                    json.dumps({"name": f"User {start + i}", "money": str(start + i)}),
                ),
            ]
        bodies.append(urlencode(sorted(pairs)).encode())
        keys.append(batch)
    return bodies, keys


async def push_burst(
    port: int, key: tuple[str, str], bodies: list[bytes], keys: list[list[str]], callers: int
) -> dict[str, float]:
    """Send every call over ``callers`` keep-alive connections; when each message's call left."""
    sent_at: dict[str, float] = {}
    work = iter(range(len(bodies)))
    authority = f"127.0.0.1:{port}"
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(callers)]

    async def caller(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for index in work:
            body = bodies[index]
            now = time.monotonic()
            for msg_key in keys[index]:
                sent_at[msg_key] = now
            writer.write(sign(*key, authority, "PushMultiple", body) + body)
            answer = await read_response(reader)
            if b'"ResultCode":"OK"' not in answer:
                raise RuntimeError(answer[:300])

    await asyncio.gather(*(caller(r, w) for r, w in streams))
    for _, writer in streams:
        writer.close()
    sent_at[ALL_ACCEPTED] = time.monotonic()
    return sent_at


async def publish_burst(port: int, count: int) -> dict[str, float]:
    """The MQTT counterpart: one publisher, QoS 1, in windows of 100 like the calls."""
    loop = asyncio.get_running_loop()
    sent_at: dict[str, float] = {}
    acked: asyncio.Queue[int] = asyncio.Queue()

    class Publisher(asyncio.Protocol):
        buffer = b""

        def data_received(self, data: bytes) -> None:
            packets, self.buffer = mqtt_packets(self.buffer + data)
            for first, _ in packets:
                if first >> 4 == 4:
                    acked.put_nowait(1)
                elif first >> 4 == 2:
                    acked.put_nowait(0)

    transport, _ = await loop.create_connection(Publisher, "127.0.0.1", port)
    transport.write(mqtt_connect("publisher"))
    await acked.get()
    for start in range(0, count, TARGETS):
        window = range(start, min(start + TARGETS, count))
        now = time.monotonic()
        out = bytearray()
        for i in window:
            msg_key = uuid.uuid4().hex
            sent_at[msg_key] = now
            payload = json.dumps(
                {
                    "type": "message",
                    "id": i + 1,
                    "taskId": "1",
                    "msgKey": msg_key,
                    "title": "Congratulations",
                    "content": f"Hello User {i}, congratulations on winning {i} yuan",
                    "uri": None,
                    "extendedParams": {"campaign": "fanout"},
                    "notifyType": "notify",
                    "silent": 0,
                    "pushAction": 0,
                    "expiresAt": 0,
                }
            ).encode()
            packet_id = struct.pack("!H", i % 65535 + 1)
            out += mqtt_packet(0x32, mqtt_string(f"dev/{i}") + packet_id + payload)
        transport.write(bytes(out))
        for _ in window:
            await acked.get()
    transport.close()
    sent_at[ALL_ACCEPTED] = time.monotonic()
    return sent_at


# ----------------------------------------------------------------------------- measurement


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Devices:
    """The client process and the lines it reports."""

    def __init__(self, kind: str, port: int, count: int) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--role",
                kind,
                "--port",
                str(port),
                "--devices",
                str(count),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )

    def report(self, timeout: float) -> dict:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line:
                path = Path(line.strip())
                found = json.loads(path.read_text())
                path.unlink()
                return found
            if self.process.poll() is not None:
                raise RuntimeError("the device process exited")
        raise TimeoutError

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def summarise(
    name: str,
    server_pid: int,
    devices: Devices,
    idle_kib: int,
    count: int,
    burst,
) -> dict[str, float | str]:
    """Run ``burst()`` (the pushes) and measure it from both ends."""
    profiler = None
    if PROFILE:  # py-spy on the server during the burst only: --profile FILE
        profiler = subprocess.Popen(
            [
                "py-spy",
                "record",
                "--pid",
                str(server_pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--nonblocking",
                "--threads",
                "-o",
                f"{PROFILE}.{name.split()[0].lower()}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)
    cpu = {"server": cpu_seconds(server_pid), "devices": cpu_seconds(devices.process.pid)}
    pusher_cpu = time.process_time()
    started = time.monotonic()
    sent_at = burst()
    report = devices.report(120)
    ended = report["last_ack"]
    elapsed = ended - started
    busy = {
        k: (cpu_seconds(p) - cpu[k]) / elapsed
        for k, p in (("server", server_pid), ("devices", devices.process.pid))
    }
    busy["pusher"] = (time.process_time() - pusher_cpu) / elapsed
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait()
    accepted = sent_at.pop(ALL_ACCEPTED) - started
    receipts = report["receipts"]
    latencies = sorted(receipts[k] - sent_at[k] for k in sent_at)
    assert len(latencies) == count
    return {
        "name": name,
        "rate": count / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "idle_kib": idle_kib / count,
        "busy": ", ".join(f"{k} {v:.2f}" for k, v in busy.items()),
        "saturated": max(busy, key=busy.__getitem__),
        "timeline": f"{accepted * 1000:.0f} / {(min(receipts.values()) - started) * 1000:.0f}"
        f" / {elapsed * 1000:.0f}",
    }


def idle_growth(pid: int, before: int) -> int:
    time.sleep(2)  # let allocations from the connect burst settle
    return rss_kib(pid) - before


def run_tidings(count: int, callers: int, directory: Path) -> dict[str, float | str]:
    port = free_port()
    env = dict(os.environ, TIDINGS_DATA_DIR=str(directory / "data"), TIDINGS_LOG_LEVEL="warning")
    env.pop("TIDINGS_DATABASE_URL", None)
    tidings = [sys.executable, "-m", "tidings"]
    run = {"env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run(
        [*tidings, "apps", "create", "--workspace", WORKSPACE, "--app-id", APP_ID], **run
    )
    made = json.loads(
        subprocess.run(
            [*tidings, "keys", "create", "--workspace", WORKSPACE, "--json"], **run
        ).stdout
    )
    key = (made["AccessKeyId"], made["AccessKeySecret"])
    server = subprocess.Popen([*tidings, "serve", "--port", str(port)], env=env)
    devices = None
    try:
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
                    "Title": "Congratulations",
                    "Content": "Hello #name#, congratulations on winning #money# yuan",
                },
            )
        )
        assert created.get("Success"), created
        time.sleep(1)
        before = rss_kib(server.pid)
        console.print(f"Tidings: connecting {count:,} devices ...")
        devices = Devices("ws", port, count)
        tokens = devices.report(300)["tokens"]
        idle = idle_growth(server.pid, before)
        bodies, keys = push_bodies(tokens)
        console.print(f"Tidings: one burst of {count:,} messages in {len(bodies)} calls ...")
        return summarise(
            "Tidings (self-built channel)",
            server.pid,
            devices,
            idle,
            count,
            lambda: asyncio.run(push_burst(port, key, bodies, keys, callers)),
        )
    finally:
        if devices is not None:
            devices.stop()
        server.terminate()
        server.wait(timeout=30)


def run_mosquitto(count: int, directory: Path) -> dict[str, float | str] | None:
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if binary is None:
        console.print("mosquitto is not installed: no baseline")
        return None
    port = free_port()
    config = directory / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
        "persistence false\nmax_queued_messages 0\nlog_dest none\n"
    )
    broker = subprocess.Popen([binary, "-c", str(config)])
    devices = None
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        before = rss_kib(broker.pid)
        console.print(f"Mosquitto: connecting {count:,} devices ...")
        devices = Devices("mqtt", port, count)
        devices.report(300)
        idle = idle_growth(broker.pid, before)
        console.print(f"Mosquitto: one burst of {count:,} messages ...")
        return summarise(
            "Mosquitto (QoS 1)",
            broker.pid,
            devices,
            idle,
            count,
            lambda: asyncio.run(publish_burst(port, count)),
        )
    finally:
        if devices is not None:
            devices.stop()
        broker.terminate()
        broker.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--callers", type=int, default=8, help="concurrent PushMultiple calls")
    parser.add_argument("--skip-mosquitto", action="store_true")
    parser.add_argument("--profile", default="", help="py-spy the server's burst into FILE.*")
    parser.add_argument("--role", choices=("ws", "mqtt"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.devices + 100:
        raise SystemExit(f"the open-file limit ({hard}) is below {args.devices} connections")
    if args.role:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(hold_devices(args.role, "127.0.0.1", args.port, args.devices))
        return

    global PROFILE
    PROFILE = args.profile
    with tempfile.TemporaryDirectory(prefix="tidings-fanout-") as tmp:
        results = [run_tidings(args.devices, args.callers, Path(tmp))]
        if not args.skip_mosquitto:
            baseline = run_mosquitto(args.devices, Path(tmp))
            if baseline is not None:
                results.append(baseline)

    table = Table(title=f"Fan-out: one personalised message to each of {args.devices:,} devices")
    table.add_column("measure")
    for result in results:
        table.add_column(str(result["name"]), justify="right")
    rows = (
        ("delivered + acked messages/s", "rate", "{:,.0f}"),
        ("latency p50 (ms)", "p50", "{:,.0f}"),
        ("latency p99 (ms)", "p99", "{:,.0f}"),
        ("memory per idle connection (KiB)", "idle_kib", "{:.1f}"),
        ("cores busy during the burst", "busy", "{}"),
        ("busiest process", "saturated", "{}"),
        ("ms to: all accepted / first device / last ack", "timeline", "{}"),
    )
    for label, field, shape in rows:
        table.add_row(label, *(shape.format(r[field]) for r in results))
    console.print(table)
    if len(results) == 2:
        ratio = float(results[0]["rate"]) / float(results[1]["rate"])
        console.print(f"Tidings / Mosquitto throughput ratio: [bold]{ratio:.2f}[/bold]")


if __name__ == "__main__":
    main()
