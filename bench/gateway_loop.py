"""The device gateway's own event-loop work per message, with no socket and no database.

fanout.py measures the whole server, where the gateway's Python is a few µs of the ~80 a
message costs and the machine's other load moves the figure by more than that. This bench runs
only the gateway's code, in one process, on the thread's CPU clock: N devices connected through
``DeviceSocket`` (fake transports that count writes), then, per round, one message to each
through ``SelfBuiltChannel.send`` in batches of 100 (dispatch's) and the loop turn that writes
them, and one masked ack frame read from each (``data_received`` to the ack handed to delivery).
The messages are built as dispatch builds them (``build_outbound``), 100 to a task, with the
call-wide ExtendedParams fanout.py sends, or none with ``--no-extended``. Compare trees with
PYTHONPATH:

    PYTHONPATH=/work/main/src python bench/gateway_loop.py [--devices 10000] [--rounds 7]
                                                          [--no-extended] [--callgrind send|ack]

With ``--callgrind``, run under ``valgrind --tool=callgrind --instr-atstart=no``: only the
sends, or only the acks, of every round are instrumented, and the instructions valgrind prints,
divided by devices × rounds, are that side's per message, steady on a loaded machine:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \
        python bench/gateway_loop.py --devices 2000 --rounds 3 --callgrind send
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import types

import uvloop

import tidings
from procs import Callgrind
from tidings.channels.selfbuilt import SelfBuiltChannel
from tidings.contract import SELFBUILT, DeviceAddress, PushOptions
from tidings.delivery.outbound import build_outbound
from tidings.delivery.plan import MessageRow
from tidings.gateway.server import DeviceGateway
from tidings.gateway.transport import DeviceSocket

UPGRADE = (
    b"GET /device HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class Transport:
    def write(self, data: bytes) -> None:
        pass

    def set_write_buffer_limits(self, high: int) -> None:
        pass

    def get_protocol(self) -> None:
        return None


class Delivery:
    def __init__(self) -> None:
        self.acks: list[int] = []

    def acked(self, ids: list[int]) -> None:
        self.acks.extend(ids)


def ack_frame(delivery_id: int) -> bytes:
    """An ack as a client sends it, masked with a random key."""
    text = b'{"type":"ack","ids":[%d]}' % delivery_id
    mask = os.urandom(4)
    return (
        bytes((0x81, 0x80 | len(text))) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(text))
    )


async def rounds(
    count: int, number: int, extended: bool, measured: str | None = None
) -> list[tuple[float, float]]:
    """Per round, the thread's CPU per message for the sends and for the acks; under callgrind
    (``measured``) only that side is instrumented."""
    callgrind = Callgrind(measured is not None)
    settings = types.SimpleNamespace(
        device_heartbeat_seconds=60,
        device_frame_limit=65536,
        device_hello_seconds=60,
        device_window=100,
        device_unread_limit=1 << 20,
    )
    delivery = Delivery()
    gateway = DeviceGateway(types.SimpleNamespace(settings=settings, delivery=delivery))
    app = types.SimpleNamespace(state=types.SimpleNamespace(gateway=gateway))
    socket_class = type("BenchSocket", (DeviceSocket,), {"app": app, "__slots__": ()})
    sockets = []
    for pk in range(1, count + 1):
        socket = socket_class()
        socket.connection_made(Transport())  # type: ignore[arg-type]
        socket.data_received(UPGRADE)
        session = socket._session
        assert session is not None
        session.connection.device_pk = pk
        session.ready()
        gateway.hub.attach(session.connection)
        sockets.append(socket)
    channel = SelfBuiltChannel(types.SimpleNamespace(shared=False))  # type: ignore[arg-type]
    channel.serve(gateway.hub, None)  # type: ignore[arg-type]
    figures = []
    for done_rounds in range(number):
        first = done_rounds * count
        tasks = [
            PushOptions(extended_params={"campaign": "fanout"} if extended else None)
            for _ in range(count // 100 + 1)
        ]
        items = [
            build_outbound(
                first + pk,
                SELFBUILT,
                DeviceAddress(pk, f"token-{pk:012d}", "android", "android", None),
                task_id=first + pk // 100,
                message=MessageRow(
                    first + pk,
                    first + pk // 100,
                    f"{first + pk:032x}",
                    "",
                    "Congratulations",
                    f"Hello User {pk}, congratulations on winning {pk} yuan",
                    None,
                    None,
                ),
                options=tasks[pk // 100],
                expires_at=1_800_000_000_000,
                request_id=None,
            )
            for pk in range(1, count + 1)
        ]
        acks = [ack_frame(first + pk) for pk in range(1, count + 1)]
        callgrind.instrument(measured == "send")
        started = time.thread_time()
        for at in range(0, count, 100):
            await channel.send(items[at : at + 100])
        await asyncio.sleep(0)  # the turn's end, where the gateway writes what was queued
        sent = time.thread_time()
        callgrind.instrument(measured == "ack")
        for socket, frame in zip(sockets, acks, strict=True):
            socket.data_received(frame)
        done = time.thread_time()
        callgrind.instrument(False)
        assert len(delivery.acks) == count * (done_rounds + 1)
        figures.append(((sent - started) / count * 1e6, (done - sent) / count * 1e6))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--no-extended", dest="extended", action="store_false", help="pushes with no ExtendedParams"
    )
    parser.add_argument(
        "--callgrind", choices=("send", "ack"), help="under callgrind: count this side alone"
    )
    args = parser.parse_args()
    figures = uvloop.run(rounds(args.devices, args.rounds, args.extended, args.callgrind))
    print(
        f"tidings from {os.path.dirname(tidings.__file__)}, {args.devices:,} devices"
        f"{'' if args.extended else ', no ExtendedParams'}"
    )
    for name, values in (
        ("send (channel to written)", [s for s, _ in figures]),
        ("ack (frame read to delivery)", [a for _, a in figures]),
        ("both", [s + a for s, a in figures]),
    ):
        print(
            f"  {name:30s} µs per message: {statistics.median(values):.2f}"
            f" [{min(values):.2f}–{max(values):.2f}]"
        )


if __name__ == "__main__":
    main()
