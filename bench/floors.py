"""WebSocket floor servers: the device channel's fan-out with no database, over several transports.

Each is a server process that does only what a push gateway cannot avoid: the WebSocket handshake
on ``/device``, answering a ``register`` frame with a ``registered`` one, pushing one small JSON
message to each registered connection when told to, and reading (``json.loads``) each ack. The
benches (fanout.py, transports.py) drive it through its standard input and output:

    ready                 (it prints, once it listens)
    burst TAG N           (it reads: push one message to each of the first N connections, 0 = all)
    acked TAG SECONDS     (it prints, once every one of them acked: the burst's duration)
    count                 (it reads)  ->  registered K  (it prints)
    reset                 (it reads: forget the connections registered so far)

Transports, by ``--transport``:

* ``uvicorn``: uvicorn + an ASGI app (uvicorn's default WebSocket implementation, as Tidings
  used before gateway/transport.py), a coroutine per connection, ``await send(...)`` per
  message.
* ``protocol``: a hand-written ``asyncio.Protocol`` with minimal RFC 6455 framing.
* ``sansio``: the ``websockets`` library's sans-I/O ``ServerProtocol`` driven by an
  ``asyncio.Protocol``.
* ``picows``: picows (Cython) on the event loop's own transports; ``picows-fastnet``: picows with
  its default, the aiofastnet transports.
* ``uvicorn+protocol``, ``uvicorn+sansio``, ``uvicorn+picows``: the same protocols behind uvicorn
  on one port: uvicorn's HTTP protocol answers every HTTP request (``GET /healthz`` here) and hands
  the transport of a WebSocket upgrade to the protocol (uvicorn's ``ws`` setting takes a class), so
  the API and the devices share the port, and TLS (``--certfile``/``--keyfile``) covers both.
* ``durable``: ``protocol`` plus the SQLite writes a durable fan-out cannot do without, in the
  same process (``DurableFloor``): Tidings' own schema and pragmas (its migrations, WAL,
  synchronous=FULL), a device row per registered connection, and for each 100 messages of a burst
  a task row, its message rows and their delivery rows, committed before they are sent; acks
  marked acknowledged, many per statement, and counted only once committed.

The message is the size and shape of Tidings' message frame; its msgKey is ``message_key(tag, i)``
so a bench can match receipts without being told the keys.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import hashlib
import json
import logging
import sqlite3
import ssl
import struct
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from procs import raise_open_files

MESSAGE = (
    '{"type":"message","id":%d,"taskId":"1","msgKey":"%08x%024x","title":"Congratulations",'
    '"content":"Hello User %d, congratulations on winning %d yuan","uri":null,'
    '"extendedParams":{"campaign":"fanout"},"notifyType":"notify","silent":0,"pushAction":0,'
    '"expiresAt":0}'
)
REGISTERED = '{"type":"registered","deliveryToken":"%d","deliverySecret":"s","heartbeat":30}'
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TRANSPORTS = (
    "uvicorn",
    "protocol",
    "sansio",
    "picows",
    "picows-fastnet",
    "uvicorn+protocol",
    "uvicorn+sansio",
    "uvicorn+picows",
    "durable",
)


def message_key(tag: int, index: int) -> str:
    return f"{tag:08x}{index:024x}"


class Floor:
    """What every transport shares: the registered connections, a burst and its acks."""

    def __init__(self) -> None:
        self.connections: list[Any] = []
        self.pending = 0
        self.finished: asyncio.Future[float] | None = None

    def text_in(self, connection: Any, payload: str | bytes) -> str | None:
        """A text frame from a device; what to answer, if anything."""
        frame = json.loads(payload)
        kind = frame["type"]
        if kind == "ack":
            self.acked(frame["ids"])
        elif kind == "register":
            self.connections.append(connection)
            return REGISTERED % len(self.connections)
        return None

    def acked(self, ids: list[int]) -> None:
        self.pending -= len(ids)
        if self.pending <= 0 and self.finished is not None and not self.finished.done():
            self.finished.set_result(time.monotonic())

    def start(self, count: int) -> list[Any]:
        """The burst's connections, once it is set to wait for their acks."""
        targets = self.connections[:count] if count else list(self.connections)
        self.finished = asyncio.get_running_loop().create_future()
        self.pending = len(targets)
        return targets

    async def burst(self, tag: int, count: int) -> float:
        """Push one message to each of the first ``count`` connections; seconds until all acked.

        Yields to the loop every 100 messages (a PushMultiple call's worth), so acks are read
        while the burst goes out.
        """
        started = time.monotonic()
        for index, connection in enumerate(self.start(count)):
            sent = connection.send_text(MESSAGE % (index + 1, tag, index, index, index))
            if sent is not None:
                await sent
            if index % 100 == 99:
                await asyncio.sleep(0)
        assert self.finished is not None
        return await self.finished - started

    def reset(self) -> None:
        """The devices went away: forget them."""
        self.connections.clear()


# ----------------------------------------------------------------------------- durable


class Writer:
    """Tidings' database, written the way its server writes: one thread, and what the event loop
    hands over while a transaction runs goes into the next one together (a group commit, one
    fsync for all). The thread holds the GIL only between SQLite calls."""

    def __init__(self, directory: Path) -> None:
        from tidings.store.database import SQLITE_PRAGMAS, Database

        path = directory / "tidings.db"
        Database(f"sqlite:///{path}").migrate()  # Tidings' tables and indexes
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in SQLITE_PRAGMAS:
            self.conn.execute(pragma)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="floor-write")
        self._gathered: list[tuple[Any, asyncio.Future[Any]]] = []
        self._busy = False

    def write(self, work: Any) -> asyncio.Future[Any]:
        """``work(conn)``'s result, once committed."""
        future = asyncio.get_running_loop().create_future()
        self._gathered.append((work, future))
        if not self._busy:
            self._next()
        return future

    def _next(self) -> None:
        batch, self._gathered = self._gathered, []
        if not batch:
            self._busy = False
            return
        self._busy = True
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._thread, self._transaction, [w for w, _ in batch])
        done.add_done_callback(lambda results: self._settle(batch, results.result()))

    def _transaction(self, works: list[Any]) -> list[Any]:
        self.conn.execute("BEGIN IMMEDIATE")
        results = [work(self.conn) for work in works]
        self.conn.execute("COMMIT")
        return results

    def _settle(self, batch: list[tuple[Any, asyncio.Future[Any]]], results: list[Any]) -> None:
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
        self._next()


class DurableFloor(Floor):
    """The floor with the rows a durable fan-out must write, in Tidings' own schema: a message is
    sent once its task, message and delivery rows are committed, and its ack counts once the
    delivery is marked acknowledged (status 2) in a committed transaction. The frame's id is the
    delivery's."""

    APP_PK = 1
    BATCH = 100  # messages per task: a PushMultiple call's worth
    IN_FLIGHT = 8  # tasks written and not yet sent: as many as fanout.py's callers (--callers)

    def __init__(self) -> None:
        super().__init__()
        self._directory = tempfile.TemporaryDirectory(prefix="floor-durable-")
        self.writer = Writer(Path(self._directory.name))
        self.writer.conn.executescript(
            "BEGIN; INSERT INTO workspaces (pk, name, created_at) VALUES (1, 'floor', 0);"
            " INSERT INTO apps (pk, workspace_pk, app_id, timezone, created_at)"
            " VALUES (1, 1, 'floor', 'UTC', 0); COMMIT;"
        )
        self.device_pks: list[int] = []  # beside connections
        self._last_device = self._last_message = self._last_delivery = 0
        self._acks: list[int] = []

    def text_in(self, connection: Any, payload: str | bytes) -> str | None:
        answer = super().text_in(connection, payload)
        if len(self.device_pks) < len(self.connections):  # it registered
            self._last_device += 1
            self.device_pks.append(self._last_device)
            self.writer.write(_insert_device(self._last_device))
        return answer

    def acked(self, ids: list[int]) -> None:
        if not self._acks:
            asyncio.get_running_loop().call_soon(self._write_acks)
        self._acks.extend(ids)

    def _write_acks(self) -> None:
        ids, self._acks = self._acks, []
        done = self.writer.write(lambda conn: _mark_acked(conn, ids))
        done.add_done_callback(lambda _: Floor.acked(self, ids))

    async def burst(self, tag: int, count: int) -> float:
        """As the floor's, each 100 messages sent once their rows are committed. Up to
        IN_FLIGHT tasks are handed to the writer before the first of them is sent, as
        IN_FLIGHT callers would hand them to Tidings, so a transaction holds the tasks and acks
        gathered while the previous one commits."""
        started = time.monotonic()
        targets = list(enumerate(self.start(count)))
        written: collections.deque[Any] = collections.deque()
        for first in range(0, len(targets), self.BATCH):
            chunk = targets[first : first + self.BATCH]
            ids = range(self._last_delivery + 1, self._last_delivery + 1 + len(chunk))
            pks = range(self._last_message + 1, self._last_message + 1 + len(chunk))
            self._last_delivery += len(chunk)
            self._last_message += len(chunk)
            texts = [MESSAGE % (i, tag, n, n, n) for i, (n, _) in zip(ids, chunk, strict=True)]
            rows = [(pk, self.device_pks[n], n) for pk, (n, _) in zip(pks, chunk, strict=True)]
            done = self.writer.write(lambda conn, r=rows, i=ids: _insert_burst(conn, r, i))
            written.append((done, chunk, texts))
            if len(written) == self.IN_FLIGHT:
                await self._send(*written.popleft())
        for item in written:
            await self._send(*item)
        assert self.finished is not None
        return await self.finished - started

    @staticmethod
    async def _send(done: asyncio.Future[None], chunk: list[Any], texts: list[str]) -> None:
        await done
        for (_, connection), text in zip(chunk, texts, strict=True):
            connection.send_text(text)

    def reset(self) -> None:
        super().reset()
        self.device_pks.clear()


def _insert_device(pk: int) -> Any:
    def insert(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO devices (pk, app_pk, token, platform, manufacturer, created_at)"
            " VALUES (?, ?, ?, 'android', 'android', ?)",
            (pk, DurableFloor.APP_PK, f"token-{pk:012d}", int(time.time() * 1000)),
        )

    return insert


def _insert_burst(conn: sqlite3.Connection, rows: list[tuple[int, int, int]], ids: range) -> None:
    """One task, its message rows and their delivery rows, as acceptance and dispatch write
    them; ``rows``: each message's pk, its device's pk and its number in the burst."""
    now = int(time.time() * 1000)
    app = DurableFloor.APP_PK
    task = conn.execute(
        "INSERT INTO tasks (app_pk, action, name, delivery_type, expired_seconds, strategy_type,"
        " options, state, digest, message_count, created_at, due_at)"
        " VALUES (?, 'PushMultiple', 'floor', 1, 259200, 0, '{}', 'dispatched', '', ?, ?, ?)",
        (app, len(rows), now, now),
    ).lastrowid
    conn.executemany(
        "INSERT INTO messages (pk, task_id, app_pk, msg_key, target, title, content,"
        " extended_params, created_at) VALUES (?, ?, ?, ?, ?, 'Congratulations', ?,"
        """ '{"campaign":"fanout"}', ?)""",
        [
            (
                pk,
                task,
                app,
                f"{pk:032x}",
                f"token-{device:012d}",
                f"Hello User {n}, congratulations on winning {n} yuan",
                now,
            )
            for pk, device, n in rows
        ],
    )
    expires = now + 259_200_000
    conn.executemany(
        "INSERT INTO deliveries (id, task_id, message_pk, app_pk, device_pk, channel, status,"
        " attempts, created_at, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, 'selfbuilt', 0,"
        " 0, ?, ?, ?)",
        [
            (i, task, pk, app, device, now, expires, now)
            for i, (pk, device, _) in zip(ids, rows, strict=True)
        ],
    )


def _mark_acked(conn: sqlite3.Connection, ids: list[int]) -> None:
    """Acknowledged: pending (0) deliveries take status 2, 500 ids per statement."""
    now = int(time.time() * 1000)
    for first in range(0, len(ids), 500):
        chunk = ids[first : first + 500]
        conn.execute(
            "UPDATE deliveries SET status = 2, acked_at = ?, updated_at = ?"
            f" WHERE id IN ({', '.join('?' * len(chunk))}) AND status = 0",
            (now, now, *chunk),
        )


FLOOR: Floor = Floor()


# ----------------------------------------------------------------------------- uvicorn + ASGI


class AsgiConnection:
    __slots__ = ("send",)

    def __init__(self, send: Any) -> None:
        self.send = send

    def send_text(self, text: str) -> Any:
        return self.send({"type": "websocket.send", "text": text})


async def asgi_app(scope: dict, receive: Any, send: Any) -> None:
    """``GET /healthz`` over HTTP, the device channel over WebSocket on ``/device``."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if scope["type"] != "websocket" or scope["path"] != "/device":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    connection = AsgiConnection(send)
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        answer = FLOOR.text_in(connection, message.get("text") or message.get("bytes"))
        if answer is not None:
            await connection.send_text(answer)


# ----------------------------------------------------------------------------- asyncio.Protocol


def accept_key(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def handshake(head: bytes) -> bytes | None:
    """The 101 answer to an upgrade request's head, or None when it is not one for /device."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"GET /device "):
        return None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            return (
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                + accept_key(value.strip())
                + b"\r\n\r\n"
            )
    return None


def frame(opcode: int, payload: bytes) -> bytes:
    """A server frame (unmasked, final)."""
    size = len(payload)
    if size < 126:
        return bytes((0x80 | opcode, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, size) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, size) + payload


def unmask(payload: bytes, mask: bytes) -> bytes:
    if mask == b"\0\0\0\0":
        return payload
    size = len(payload)
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "little")
    return (int.from_bytes(payload, "little") ^ key).to_bytes(size, "little")


class Held(asyncio.Protocol):
    """A device connection's transport, held while it is open."""

    transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class RawWebSocket(Held):
    """Minimal RFC 6455 server side: handshake, masked client frames, text, ping, close.

    Also usable as uvicorn's ``ws`` class (its keyword arguments are ignored): uvicorn then
    hands over the transport with the upgrade request it parsed.
    """

    def __init__(self, **_uvicorn: Any) -> None:
        self.buffer = b""
        self.open = False

    def send_text(self, text: str) -> None:
        if self.transport is not None:
            self.transport.write(frame(1, text.encode()))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        transport = self.transport
        assert transport is not None
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            answer = handshake(buffer[:end])
            if answer is None:
                transport.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                transport.close()
                return
            transport.write(answer)
            self.open = True
            buffer = buffer[end + 4 :]
        while len(buffer) >= 6:
            size, at = buffer[1] & 0x7F, 2
            if size == 126:
                size, at = struct.unpack_from("!H", buffer, 2)[0], 4
            elif size == 127:
                size, at = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < at + 4 + size:
                break
            if not buffer[1] & 0x80:  # a client frame must be masked
                transport.write(frame(8, struct.pack("!H", 1002)))
                transport.close()
                return
            payload = unmask(buffer[at + 4 : at + 4 + size], buffer[at : at + 4])
            opcode = buffer[0] & 0x0F
            buffer = buffer[at + 4 + size :]
            if opcode == 1:
                answer_text = FLOOR.text_in(self, payload)
                if answer_text is not None:
                    transport.write(frame(1, answer_text.encode()))
            elif opcode == 9:
                transport.write(frame(10, payload))
            elif opcode == 8:
                transport.write(frame(8, payload[:2]))
                transport.close()
                return
        self.buffer = buffer


# ----------------------------------------------------------------------------- websockets sans-I/O


class SansIoWebSocket(Held):
    """The ``websockets`` library's ``ServerProtocol`` (no compression) behind a Protocol."""

    def __init__(self, **_uvicorn: Any) -> None:
        from websockets.server import ServerProtocol

        self.ws = ServerProtocol(max_size=65536)

    def send_text(self, text: str) -> None:
        self.ws.send_text(text.encode())
        self.flush()

    def flush(self) -> None:
        if self.transport is None:
            return
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)
            else:
                self.transport.close()

    def data_received(self, data: bytes) -> None:
        from websockets.frames import Opcode
        from websockets.http11 import Request

        ws = self.ws
        ws.receive_data(data)
        for event in ws.events_received():
            if isinstance(event, Request):
                if event.path == "/device":
                    ws.send_response(ws.accept(event))
                else:
                    ws.send_response(ws.reject(404, "not found"))
            elif event.opcode is Opcode.TEXT:
                answer = FLOOR.text_in(self, event.data)
                if answer is not None:
                    ws.send_text(answer.encode())
        self.flush()


# ----------------------------------------------------------------------------- picows


# picows' defaults cost ~23 KiB per idle connection: a 16 KiB read buffer each, and a child
# logger each when given a Logger (none for a logger-like adapter). Device frames are small.
PICOWS_READ_BUFFER = 1024
PICOWS_LOGGER = logging.LoggerAdapter(logging.getLogger("picows.server"), {})


def picows_listener() -> Any:
    from picows import WSListener, WSMsgType

    class Device(WSListener):
        transport: Any = None

        def on_ws_connected(self, transport: Any) -> None:
            self.transport = transport

        def send_text(self, text: str) -> None:
            self.transport.send(WSMsgType.TEXT, text.encode())

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            kind = frame.msg_type
            if kind == WSMsgType.TEXT:
                answer = FLOOR.text_in(self, frame.get_payload_as_bytes())
                if answer is not None:
                    transport.send(WSMsgType.TEXT, answer.encode())
            elif kind == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

    return Device


def picows_for_uvicorn() -> type:
    """picows' protocol as uvicorn's ``ws`` class: uvicorn hands it the parsed upgrade request.

    picows has no public way to adopt an accepted transport on the server side; this builds its
    (Cython) ``WSProtocol`` with the arguments ``ws_create_server`` passes, an internal detail
    that may change between picows releases.
    """
    from picows import WSAutoPingStrategy
    from picows.picows import WSProtocol

    device = picows_listener()

    def route(request: Any) -> Any:
        return device() if request.path == b"/device" else None

    class Adopted(WSProtocol):
        def __init__(self, **_uvicorn: Any) -> None:
            super().__init__(
                None,
                None,
                False,
                route,
                PICOWS_LOGGER,
                True,
                5,
                False,
                20,
                20,
                WSAutoPingStrategy.PING_WHEN_IDLE,
                True,
                65536,
                None,
                PICOWS_READ_BUFFER,
            )

        def data_received(self, data: bytes) -> None:
            """uvicorn passes the upgrade request as bytes; picows reads into its own buffer."""
            while data:
                buffer = self.get_buffer(len(data))
                size = min(len(buffer), len(data))
                buffer[:size] = data[:size]
                self.buffer_updated(size)
                data = data[size:]

    return Adopted


# ----------------------------------------------------------------------------- the process


async def commands() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        words = line.split()
        if words[0] == b"burst":
            tag, count = int(words[1]), int(words[2])
            seconds = await FLOOR.burst(tag, count)
            print(f"acked {tag} {seconds:.6f}", flush=True)
        elif words[0] == b"count":
            print(f"registered {len(FLOOR.connections)}", flush=True)
        elif words[0] == b"reset":  # the devices went away: forget them
            FLOOR.reset()


async def serve(name: str, port: int, tls: ssl.SSLContext | None, files: tuple[str, str]) -> None:
    loop = asyncio.get_running_loop()
    host = "127.0.0.1"
    if name.startswith("uvicorn"):
        import uvicorn

        shared = {
            "uvicorn": "websockets-sansio",
            "uvicorn+protocol": RawWebSocket,
            "uvicorn+sansio": SansIoWebSocket,
            "uvicorn+picows": picows_for_uvicorn() if name == "uvicorn+picows" else None,
        }[name]
        certfile, keyfile = files
        config = uvicorn.Config(
            asgi_app,
            host=host,
            port=port,
            loop="none",
            http="httptools",
            ws=shared,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws_ping_interval=None,
            ws_ping_timeout=None,
            ws_max_size=65536,
            backlog=4096,
            ssl_certfile=certfile or None,
            ssl_keyfile=keyfile or None,
        )
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        serving = loop.create_task(server.serve())
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.02)
    elif name in ("protocol", "sansio", "durable"):
        factory = SansIoWebSocket if name == "sansio" else RawWebSocket
        await loop.create_server(factory, host, port, backlog=4096, ssl=tls)
    else:
        from picows import ws_create_server

        device = picows_listener()
        await ws_create_server(
            lambda request: device() if request.path == b"/device" else None,
            host,
            port,
            backlog=4096,
            ssl=tls,
            max_frame_size=65536,
            use_aiofastnet=name == "picows-fastnet",
            logger_name=PICOWS_LOGGER,
            read_buffer_init_size=PICOWS_READ_BUFFER,
        )
    print("ready", flush=True)
    await commands()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transport", choices=TRANSPORTS, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--certfile", default="")
    parser.add_argument("--keyfile", default="")
    parser.add_argument("--connections", type=int, default=20_000)
    args = parser.parse_args()
    raise_open_files(args.connections + 1000)
    if args.transport == "durable":
        global FLOOR
        FLOOR = DurableFloor()
    tls = None
    if args.certfile:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.certfile, args.keyfile)
    running = serve(args.transport, args.port, tls, (args.certfile, args.keyfile))
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(running)
    else:
        asyncio.run(running)


if __name__ == "__main__":
    main()
