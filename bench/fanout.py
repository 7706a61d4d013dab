"""Fan-out benchmark: one burst of personalised messages to N connected devices, beside its floors.

Each run starts ``tidings serve`` (embedded SQLite, temporary data directory) and a client process
holding N device connections on the self-built channel; measures the connect rate and the server's
memory per idle connection; then pushes one burst of N personalised messages (one per device)
through signed PushMultiple calls of 100 targets (signed before the clock starts) and waits until
every device has received and acknowledged its message.

In the same run, the same devices and the same burst over four floors:

* bare uvicorn WebSocket, no database (floors.py ``uvicorn``: the ASGI transport Tidings used
  before its own WebSocket protocol, gateway/transport.py);
* a bare ``asyncio.Protocol`` WebSocket server, no database (floors.py ``protocol``: handshake,
  one pre-framed message per device, acks read);
* the durable floor: the same ``asyncio.Protocol`` server writing, in the same process, the rows
  fan-out cannot do without, in Tidings' schema with its pragmas (floors.py ``durable``: a
  device row per connection, a task, message and delivery row per message, written 100 messages
  to a task and committed before they are sent, acks marked in the database before they count);
* a Mosquitto broker it starts itself (one topic per device, QoS 1 both ways, TCP_NODELAY on),
  fed by ``--publishers`` processes, each publishing its share of pre-built packets as fast as
  the broker acknowledges them, so the broker, not a Python publisher, is the limit.

Everything runs ``--runs`` times (three by default); every figure and every ratio is printed as
median [min–max], with each process's CPU during the burst, so the saturated side is visible.

Both client sides are equally light: hand-written framing on asyncio protocols (uvloop), one
process for all N connections, no library client per connection. A client masks its WebSocket
frames with a zero key, which servers accept and which saves the client the XOR. A device pings
the server every 20 s once it is registered (never mid-handshake), and a device that loses its
connection before the burst is over stops the run with an error instead of leaving it waiting.

    python bench/fanout.py [--devices 5000] [--runs 3] [--callers 8] [--publishers 3]
                           [--skip-mosquitto] [--skip-floors] [--floors protocol,durable]

Latency is measured from the moment the call (or MQTT publish, or floor burst) carrying a message
was sent to the moment its device had it; throughput is messages delivered and acknowledged per
second, from the first call sent to the last ack written by a device.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.progress import Progress

from floors import MESSAGE, message_key
from ingest import (
    APP_ID,
    TIDINGS,
    WORKSPACE,
    call,
    prepare,
    push_params,
    read_response,
    signed_request,
    wait_ready,
)
from procs import (
    Busy,
    console,
    cpu_by_thread,
    cpu_seconds,
    free_port,
    profiled,
    raise_open_files,
    rss_kib,
    spread_table,
)

TEMPLATE = "fanout template"
TARGETS = 100
PROFILE = ""  # set by --profile
PORTS_PER_SOURCE = 2_000  # few per source address: bind() finds a free port at once
MQTT_TAG = 0
FLOOR_TAG = 1
# A fresh 127.X.0.0/16 for each client process, from a random start so that a bench run soon
# after another does not meet its TIME_WAIT sockets: bind() crawls on an address crowded by them.
_start = random.randrange(1, 250)
_sources = (1 + (_start + n) % 249 for n in range(249))


# ----------------------------------------------------------------------------- device side


class Fleet:
    """What all connections of one client process share: counts, receipt times, completion."""

    def __init__(self, count: int, record: bool) -> None:
        loop = asyncio.get_running_loop()
        self.count = count
        self.record = record
        self.ready: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()
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
        if self.record:
            self.receipts[msg_key] = time.monotonic()

    def acked(self) -> None:
        self.last_ack = time.monotonic()
        if len(self.receipts) == self.count and not self.done.done():
            self.done.set_result(None)

    def lost(self, index: int, exc: Exception | None) -> None:
        """A connection closed: the run cannot finish, so say so instead of hanging."""
        for waiting in (self.ready, self.done):
            if not waiting.done():
                waiting.set_exception(RuntimeError(f"device {index} lost its connection: {exc}"))


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
        self.registered = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /device HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.fleet.lost(self.index, exc)

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
            self.registered = True
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

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.fleet.lost(self.index, exc)

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


def report(found: dict) -> None:
    """Hand a (large) result to the parent: written to a file, its path on stdout."""
    fd, path = tempfile.mkstemp(prefix="fanout-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(found, handle)
    print(path, flush=True)


async def hold_devices(
    kind: str, host: str, port: int, count: int, source: int, record: bool
) -> None:
    """The client process: connect everything, report, then record the burst's receipts.

    With ``record`` off (transports.py's repeated bursts) it only acknowledges what comes.
    """
    loop = asyncio.get_running_loop()
    fleet = Fleet(count, record)
    hello = json.dumps(
        {"type": "register", "appId": APP_ID, "workspaceId": WORKSPACE, "platform": "android"}
    ).encode()
    opening = asyncio.Semaphore(200)
    devices: list[asyncio.Protocol] = []

    async def open_one(index: int) -> None:
        address = f"127.{source}.{index // PORTS_PER_SOURCE}.1"
        async with opening:
            if kind == "ws":
                _, device = await loop.create_connection(
                    lambda: WsDevice(fleet, index, f"{host}:{port}", hello),
                    host,
                    port,
                    local_addr=(address, 0),
                )
            else:
                _, device = await loop.create_connection(
                    lambda: MqttDevice(fleet, index), host, port, local_addr=(address, 0)
                )
            devices.append(device)

    async def heartbeats() -> None:
        """Tidings closes devices silent for 2.5 heartbeat intervals (30 s each).

        Only registered devices ping: a ping sent before the upgrade answer would reach the
        server as garbage after the HTTP request, and the server would close that device.
        """
        ping = ws_frame(b'{"type":"ping"}')
        while True:
            await asyncio.sleep(20)
            for device in devices:
                if isinstance(device, WsDevice) and device.registered and device.transport:
                    device.transport.write(ping)

    beating = loop.create_task(heartbeats())
    started = time.monotonic()
    await asyncio.gather(*(open_one(i) for i in range(count)))
    await fleet.ready
    report({"tokens": fleet.tokens, "connect_seconds": time.monotonic() - started})
    if record:
        await fleet.done
        report({"receipts": fleet.receipts, "last_ack": fleet.last_ack})
    await beating  # until the parent ends this process


class Devices:
    """A client process holding ``count`` connections, and the results it reports."""

    def __init__(self, kind: str, port: int, count: int, record: bool = True) -> None:
        command = [sys.executable, __file__, "--role", kind, "--port", str(port)]
        command += ["--devices", str(count), "--source", str(next(_sources))]
        if not record:
            command.append("--no-receipts")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def report(self, timeout: float) -> dict:
        return read_report(self.process, timeout)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def read_report(process: subprocess.Popen, timeout: float) -> dict:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            path = Path(line.strip())
            found = json.loads(path.read_text())
            path.unlink()
            return found
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[1:4]} exited with {process.returncode}")
    raise TimeoutError(process.args)


def connect(kind: str, port: int, count: int, label: str, server_pid: int) -> tuple[Devices, dict]:
    """Connect ``count`` devices; the client process and its first report, with progress."""
    before = rss_kib(server_pid)
    console.print(f"{label}: connecting {count:,} devices ...")
    with profiled(PROFILE, server_pid, "connect"):
        cpu_before = cpu_seconds(server_pid)
        devices = Devices(kind, port, count)
        found = devices.report(900)
        # What the server spent on each connect: on a shared machine a steadier figure than
        # the rate, which also depends on how much of a core the server and the devices got.
        found["connect_cpu_us"] = (cpu_seconds(server_pid) - cpu_before) / count * 1e6
    time.sleep(2)  # let allocations from the connect burst settle
    found["idle_kib"] = (rss_kib(server_pid) - before) / count
    found["connect_rate"] = count / found["connect_seconds"]
    return devices, found


# ----------------------------------------------------------------------------- the pushers


def push_calls(
    key: tuple[str, str], authority: str, tokens: list[str]
) -> tuple[list[bytes], list[list[str]]]:
    """PushMultiple calls of 100 targets, signed now (before the clock starts), and their keys."""
    calls, keys = [], []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("signing PushMultiple calls", total=len(tokens))
        for start in range(0, len(tokens), TARGETS):
            batch = tokens[start : start + TARGETS]
            batch_keys = [message_key(start // TARGETS, i) for i in range(len(batch))]
            params = push_params(
                TEMPLATE,
                f"fanout {start}",
                [
                    (token, msg_key, {"name": f"User {start + i}", "money": str(start + i)})
                    for i, (token, msg_key) in enumerate(zip(batch, batch_keys, strict=True))
                ],
                delivery_type=1,
                extended={"campaign": "fanout"},
            )
            calls.append(signed_request(key, authority, "PushMultiple", params, "acs3"))
            keys.append(batch_keys)
            progress.advance(task, len(batch))
    return calls, keys


async def push_burst(port: int, calls: list[bytes], keys: list[list[str]], callers: int) -> dict:
    """Send every call over ``callers`` keep-alive connections; when each message's call left."""
    sent_at: dict[str, float] = {}
    work = iter(range(len(calls)))
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(callers)]

    async def caller(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for index in work:
            now = time.monotonic()
            for msg_key in keys[index]:
                sent_at[msg_key] = now
            writer.write(calls[index])
            answer = await read_response(reader)
            if b'"ResultCode":"OK"' not in answer:
                raise RuntimeError(answer[:300])

    await asyncio.gather(*(caller(r, w) for r, w in streams))
    for _, writer in streams:
        writer.close()
    return {"sent_at": sent_at, "accepted": time.monotonic()}


async def publish(port: int, first: int, count: int, window: int) -> None:
    """One MQTT publisher process: QoS 1 to devices first..first+count, ``window`` in flight.

    Packets are built before the parent says go, so the burst costs this process little more
    than its writes and the acks it counts.
    """
    loop = asyncio.get_running_loop()
    packets = []
    for i in range(first, first + count):
        payload = (MESSAGE % (i + 1, MQTT_TAG, i, i, i)).encode()
        packet_id = struct.pack("!H", i % 65535 + 1)
        packets.append(mqtt_packet(0x32, mqtt_string(f"dev/{i}") + packet_id + payload))
    state = {"acked": 0, "wanted": 0}
    progress: asyncio.Future[None] = loop.create_future()

    class Publisher(asyncio.Protocol):
        buffer = b""

        def data_received(self, data: bytes) -> None:
            nonlocal progress
            found, self.buffer = mqtt_packets(self.buffer + data)
            state["acked"] += sum(1 for first_byte, _ in found if first_byte >> 4 in (2, 4))
            if state["acked"] >= state["wanted"] and not progress.done():
                progress.set_result(None)

    transport, _ = await loop.create_connection(Publisher, "127.0.0.1", port)
    transport.write(mqtt_connect(f"publisher{first}"))
    state["wanted"] = 1
    await progress
    state["acked"] = 0
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # go
    sent: list[tuple[int, int, float]] = []  # first device, how many, when
    for start in range(0, count, TARGETS):
        state["wanted"] = max(0, start + TARGETS - window)
        if state["acked"] < state["wanted"]:
            progress = loop.create_future()
            await progress
        chunk = packets[start : start + TARGETS]
        sent.append((first + start, len(chunk), time.monotonic()))
        transport.write(b"".join(chunk))
    state["wanted"] = count
    if state["acked"] < count:
        progress = loop.create_future()
        await progress
    report({"sent": sent, "accepted": time.monotonic()})
    transport.close()


# ----------------------------------------------------------------------------- measurement


def measure(
    pids: dict[str, int], devices: Devices, count: int, burst: Callable[[], dict]
) -> dict[str, float]:
    """Run ``burst()`` and measure it from both ends: rate, latency, cores busy per process."""
    with profiled(PROFILE, pids["server"], "burst"):
        busy = Busy(pids, time.monotonic)
        server_cpu = cpu_seconds(pids["server"])
        threads = cpu_by_thread(pids["server"])
        started = time.monotonic()
        sent = burst()
        receipts = devices.report(300)
        cores = busy.cores()
        server_cpu = cpu_seconds(pids["server"]) - server_cpu
        threads = cpu_by_thread(pids["server"]) - threads
    elapsed = receipts["last_ack"] - started
    got = receipts["receipts"]
    latencies = sorted(got[k] - t for k, t in sent["sent_at"].items())
    assert len(latencies) == count == len(got), (len(latencies), count, len(got))
    figures = {
        "rate": count / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "accepted": (sent["accepted"] - started) * 1000,
        "first": (min(got.values()) - started) * 1000,
        "last": elapsed * 1000,
        # What the server spent on each message, acceptance to recorded ack: on a shared
        # machine a steadier figure than the rate, which depends on how much of a core it got.
        "cpu_us": server_cpu / count * 1e6,
    }
    figures.update({f"cpu {name}": value for name, value in cores.items()})
    # the server's CPU per message by thread: its event loop, the database writer, the readers
    figures.update({f"cpu_us {name}": spent / count * 1e6 for name, spent in threads.items()})
    return figures


def run_tidings(count: int, callers: int, directory: Path) -> dict[str, float]:
    port = free_port()
    env, key = prepare(directory / f"data-{port}", None)
    # The connection caps (settings max_connections and max_connections_per_address) are sized
    # for hostile clients; the bench's devices come from few source addresses on purpose.
    cap = str(count + 1_000)
    env |= {"TIDINGS_MAX_CONNECTIONS": cap, "TIDINGS_MAX_CONNECTIONS_PER_ADDRESS": cap}
    server = subprocess.Popen([*TIDINGS, "serve", "--port", str(port)], env=env)
    devices = None
    try:
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
                    "Title": "Congratulations",
                    "Content": "Hello #name#, congratulations on winning #money# yuan",
                },
            )
        )
        assert created.get("Success"), created
        time.sleep(1)
        devices, found = connect("ws", port, count, "Tidings", server.pid)
        calls, keys = push_calls(key, f"127.0.0.1:{port}", found["tokens"])
        console.print(f"Tidings: one burst of {count:,} messages in {len(calls)} calls ...")
        pids = {"server": server.pid, "devices": devices.pid, "pusher": os.getpid()}
        figures = measure(
            pids, devices, count, lambda: asyncio.run(push_burst(port, calls, keys, callers))
        )
        return figures | {
            "idle_kib": found["idle_kib"],
            "connect_rate": found["connect_rate"],
            "connect_cpu_us": found["connect_cpu_us"],
        }
    finally:
        if devices is not None:
            devices.stop()
        server.terminate()
        server.wait(timeout=30)


def run_floor(transport: str, count: int) -> dict[str, float]:
    """The same devices and burst against a floor server of floors.py (``durable`` has its own
    database, the others none)."""
    port = free_port()
    here = Path(__file__).parent
    server = subprocess.Popen(
        [
            sys.executable,
            str(here / "floors.py"),
            "--transport",
            transport,
            "--port",
            str(port),
            "--connections",
            str(count),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    devices = None
    try:
        assert server.stdin is not None and server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"floor {transport} did not start")
        devices, found = connect("ws", port, count, f"floor {transport}", server.pid)
        console.print(f"floor {transport}: one burst of {count:,} messages ...")

        def burst() -> dict:
            started = time.monotonic()
            server.stdin.write(f"burst {FLOOR_TAG} 0\n")
            server.stdin.flush()
            server.stdout.readline()
            sent_at = {message_key(FLOOR_TAG, i): started for i in range(count)}
            return {"sent_at": sent_at, "accepted": started}

        figures = measure({"server": server.pid, "devices": devices.pid}, devices, count, burst)
        return figures | {
            "idle_kib": found["idle_kib"],
            "connect_rate": found["connect_rate"],
            "connect_cpu_us": found["connect_cpu_us"],
        }
    finally:
        if devices is not None:
            devices.stop()
        server.kill()
        server.wait()


def run_mosquitto(count: int, publishers: int, directory: Path) -> dict[str, float] | None:
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if binary is None:
        console.print("mosquitto is not installed: no baseline")
        return None
    port = free_port()
    config = directory / f"mosquitto-{port}.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
        "persistence false\nmax_queued_messages 0\nlog_dest none\n"
    )
    broker = subprocess.Popen([binary, "-c", str(config)])
    devices = None
    pushers: list[subprocess.Popen] = []
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        devices, found = connect("mqtt", port, count, "Mosquitto", broker.pid)
        share = -(-count // publishers)
        for first in range(0, count, share):
            pushers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--role",
                        "publisher",
                        "--port",
                        str(port),
                        "--first",
                        str(first),
                        "--devices",
                        str(min(share, count - first)),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        for pusher in pushers:
            assert pusher.stdout is not None
            if pusher.stdout.readline().strip() != "ready":
                raise RuntimeError("a publisher did not start")
        console.print(f"Mosquitto: one burst of {count:,} messages from {len(pushers)} publishers")

        def burst() -> dict:
            for pusher in pushers:
                assert pusher.stdin is not None
                pusher.stdin.write("go\n")
                pusher.stdin.flush()
            sent_at: dict[str, float] = {}
            accepted = 0.0
            for pusher in pushers:
                done = read_report(pusher, 300)
                accepted = max(accepted, done["accepted"])
                for first, size, moment in done["sent"]:
                    for i in range(first, first + size):
                        sent_at[message_key(MQTT_TAG, i)] = moment
            return {"sent_at": sent_at, "accepted": accepted}

        pids = {"server": broker.pid, "devices": devices.pid}
        pids |= {f"publisher {n}": p.pid for n, p in enumerate(pushers, start=1)}
        figures = measure(pids, devices, count, burst)
        return figures | {
            "idle_kib": found["idle_kib"],
            "connect_rate": found["connect_rate"],
            "connect_cpu_us": found["connect_cpu_us"],
        }
    finally:
        for pusher in pushers:
            pusher.kill()
            pusher.wait()
        if devices is not None:
            devices.stop()
        broker.terminate()
        broker.wait(timeout=30)


SUBJECT = "Tidings"
FLOORS = {
    "uvicorn": "bare uvicorn WS",
    "protocol": "bare asyncio.Protocol WS",
    "durable": "durable floor (asyncio.Protocol WS + SQLite)",
}
MOSQUITTO = "Mosquitto QoS 1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--callers", type=int, default=8, help="concurrent PushMultiple calls")
    parser.add_argument("--publishers", type=int, default=3, help="MQTT publisher processes")
    parser.add_argument("--skip-mosquitto", action="store_true")
    parser.add_argument("--skip-floors", action="store_true", help="no WebSocket floors")
    parser.add_argument(
        "--floors", default=",".join(FLOORS), help="which floors (default: all of them)"
    )
    parser.add_argument(
        "--profile", default="", help="py-spy the server's connects and burst into FILE.*"
    )
    parser.add_argument("--role", choices=("ws", "mqtt", "publisher"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--source", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--no-receipts", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    limit = raise_open_files(args.devices + 1000)
    if limit < args.devices + 100:
        raise SystemExit(
            f"the open-file limit ({limit}, not raisable here) leaves too few descriptors for"
            f" {args.devices} connections plus the server's own: at most {limit - 100} devices"
        )
    if args.role:
        import uvloop

        if args.role == "publisher":
            uvloop.run(publish(args.port, args.first, args.devices, window=1000))
        else:
            uvloop.run(
                hold_devices(
                    args.role,
                    "127.0.0.1",
                    args.port,
                    args.devices,
                    args.source,
                    not args.no_receipts,
                )
            )
        return

    global PROFILE
    PROFILE = args.profile
    results: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="tidings-fanout-") as tmp:
        for number in range(1, args.runs + 1):
            console.rule(f"run {number} of {args.runs}")
            runs = {SUBJECT: run_tidings(args.devices, args.callers, Path(tmp))}
            if not args.skip_floors:
                for transport in args.floors.split(","):
                    runs[FLOORS[transport]] = run_floor(transport, args.devices)
            if not args.skip_mosquitto:
                baseline = run_mosquitto(args.devices, args.publishers, Path(tmp))
                if baseline is not None:
                    runs[MOSQUITTO] = baseline
            for name, figures in runs.items():
                results.setdefault(name, []).append(figures)
    print_results(args.devices, results)


def print_results(count: int, results: dict[str, list[dict[str, float]]]) -> None:
    def cells(field: str) -> dict[str, list[float]]:
        return {name: [r[field] for r in runs if field in r] for name, runs in results.items()}

    rows = [
        ("delivered + acked messages/s", cells("rate"), "{:,.0f}"),
        ("latency p50 (ms)", cells("p50"), "{:,.0f}"),
        ("latency p99 (ms)", cells("p99"), "{:,.0f}"),
        ("memory per idle connection (KiB)", cells("idle_kib"), "{:.1f}"),
        ("connect rate (devices/s)", cells("connect_rate"), "{:,.0f}"),
        ("server CPU per connect (µs)", cells("connect_cpu_us"), "{:,.0f}"),
        ("server CPU per message (µs)", cells("cpu_us"), "{:,.1f}"),
        ("ms to all accepted", cells("accepted"), "{:,.0f}"),
        ("ms to first device", cells("first"), "{:,.0f}"),
        ("ms to last ack", cells("last"), "{:,.0f}"),
    ]
    threads = sorted({k for runs in results.values() for r in runs for k in r if "cpu_us " in k})
    rows += [(f"  of which {k[7:]} (µs)", cells(k), "{:,.1f}") for k in threads]
    processes = sorted({k for runs in results.values() for r in runs for k in r if "cpu " in k})
    rows += [(f"cores busy: {k[4:]}", cells(k), "{:.2f}") for k in processes]
    title = f"Fan-out: one personalised message to each of {count:,} devices"
    console.print(spread_table(title, rows))
    ratios = []
    for name in [*FLOORS.values(), MOSQUITTO]:
        if name in results:
            pairs = zip(results[SUBJECT], results[name], strict=True)
            ratios.append(
                (f"throughput, Tidings / {name}", {"": [a["rate"] / b["rate"] for a, b in pairs]})
            )
    for name in FLOORS.values():
        if name in results:
            for figure, field in (
                ("idle memory", "idle_kib"),
                ("connect rate", "connect_rate"),
                ("server CPU per message", "cpu_us"),
            ):
                pairs = zip(results[SUBJECT], results[name], strict=True)
                ratios.append(
                    (
                        f"{figure}, Tidings / {name}",
                        {"": [a[field] / b[field] for a, b in pairs]},
                    )
                )
    if ratios:
        table = spread_table(
            "Ratios, each from figures of the same run", [(*r, "{:.2f}") for r in ratios]
        )
        console.print(table)


if __name__ == "__main__":
    main()
