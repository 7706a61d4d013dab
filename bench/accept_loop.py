"""The event loop's CPU per message on PushMultiple's acceptance path, with no socket.

ingest.py measures a whole server under a client that shares its two cores, so a change of a
few µs per message drowns in the machine's load. This bench drives the real ASGI application
(``build_app``, its lifespan and services, on uvloop as ``tidings serve`` runs) in one process:
signed PushMultiple calls of 100 personalised targets (ingest.py's, signed as the SDKs sign,
ACS3 or v1, before the clock starts) handed straight to the application, ``--concurrency`` at
a time, and reads the CPU clock of the loop's own thread, so the database writer's thread (and
the readers') are left out: what it reports is the signature check, form decoding, validation,
rendering and the hand-off to the writer, the loop's share of a call. ``--writer stub`` answers
every database write on the loop (a counter; nothing is stored, so nothing is dispatched) to
see that share without the writer's hand-offs and wake-ups; ``--writer real`` (the default)
stores in SQLite as the server does, dispatch included.

Each of ``--runs`` runs sends ``--calls`` calls; it prints µs of loop CPU per message, min and
median, and the same of the process's CPU (every thread: the writer's too), and the load
average. Compare trees with PYTHONPATH:

    PYTHONPATH=/work/main/src python bench/accept_loop.py [--signature acs3|v1]
        [--writer real|stub] [--calls 200] [--runs 5] [--concurrency 16]

With ``--callgrind``, under ``valgrind --tool=callgrind --instr-atstart=no``, the measured runs
alone are instrumented (signing and the warm-up run are not), so the instruction count valgrind
prints is theirs (divide by the messages: calls x 100 x runs); with ``--writer stub`` that is
the loop's share alone, with ``--writer real`` every thread's (``--separate-threads=yes``
splits them):

    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no \
        python bench/accept_loop.py --writer stub --calls 50 --runs 2 --callgrind
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvloop

import tidings
from ingest import APP_ID, TEMPLATE, VERSION, WORKSPACE, prepare, user_push
from tidings.app import build_app
from tidings.cli.serving import _tune_garbage_collection
from tidings.config import Settings
from tidings.store import nonces

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.signer import SignedCall, sign_acs3, sign_v1

from procs import Callgrind

HOST = "bench.invalid"
CALLGRIND = Callgrind()  # --callgrind: instrument the measured runs alone


async def tune_gc() -> None:
    _tune_garbage_collection()


def sign(key: tuple[str, str], action: str, params: dict[str, str], signature: str) -> SignedCall:
    if signature == "v1":
        return sign_v1(*key, action, params, VERSION)
    return sign_acs3(*key, HOST, action, params, VERSION)


async def request(app: Any, signed: SignedCall) -> bytes:
    """One call through the ASGI application; the answer's body."""
    path, _, query = signed.path_and_query.partition("?")
    headers = [(b"host", HOST.encode())]
    headers += [(k.encode(), v.encode()) for k, v in signed.headers.items() if k != "host"]
    headers.append((b"content-length", str(len(signed.body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": signed.method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
        "app": app,
    }
    sent = False
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # the client never disconnects
        sent = True
        return {"type": "http.request", "body": signed.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(body)


class Lifespan:
    """The application's ASGI lifespan, started and stopped as uvicorn does."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.create_task(self._app(scope, self._inbox.get, self._outbox.put))
        await self._inbox.put({"type": "lifespan.startup"})
        answer = await self._outbox.get()
        assert answer["type"] == "lifespan.startup.complete", answer

    async def __aexit__(self, *exc: object) -> None:
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._outbox.get()
        assert self._task is not None
        await self._task


def stub_writes(services: Any) -> None:
    """Acceptance's writes (the push and the nonce) answered at once on the loop with the next
    number (a task id; true for a nonce claimed): they never reach the writer thread, and with
    nothing stored, dispatch finds nothing to do. Other writes go on as they do. (A tree whose
    push records the nonce in its own write hands the writer a ``Nonce``'s method.)"""
    db = services.db
    write, numbers = db.write, itertools.count(1)
    stubbed = {services.pushes._store, nonces.claim, nonces.purge}
    recording = getattr(nonces, "Nonce", ())

    async def answer(work: Any, *args: Any, **kwargs: Any) -> Any:
        if work in stubbed or isinstance(getattr(work, "__self__", None), recording):
            return next(numbers)
        return await write(work, *args, **kwargs)

    db.write = answer


async def send_all(app: Any, pending: Iterator[SignedCall], refused: list[bytes]) -> None:
    """One client's calls, one at a time, until none is left; the refused answers kept."""
    for signed in pending:
        answer = await request(app, signed)
        if b'"ResultCode":"OK"' not in answer:
            refused.append(answer)


async def measure(
    args: argparse.Namespace, data: Path, key: tuple[str, str]
) -> tuple[list[float], list[float]]:
    """µs per message of each run: the loop thread's CPU, and the process's (every thread)."""
    # The collector tuned as ``tidings serve`` tunes it once started.
    app = build_app(Settings(data_dir=data), on_ready=lambda _: tune_gc())
    async with Lifespan(app):
        template = {
            "AppId": APP_ID,
            "WorkspaceId": WORKSPACE,
            "TemplateName": TEMPLATE,
            "Title": "Hello #name#",
            "Content": "Hello #name#, congratulations on winning #money# yuan",
        }
        created = json.loads(await request(app, sign(key, "CreateTemplate", template, "acs3")))
        assert created.get("Success"), created
        if args.writer == "stub":
            stub_writes(app.state.services)
        serials = itertools.count()
        loop_cpu: list[float] = []
        process_cpu: list[float] = []
        for run in range(args.runs + 1):  # the first warms up
            calls = [
                sign(key, "PushMultiple", user_push(next(serials)), args.signature)
                for _ in range(args.calls)
            ]
            pending = iter(calls)
            refused: list[bytes] = []
            CALLGRIND.instrument(bool(run))
            started, process = time.thread_time(), time.process_time()
            await asyncio.gather(
                *(send_all(app, pending, refused) for _ in range(args.concurrency))
            )
            spent, process = time.thread_time() - started, time.process_time() - process
            CALLGRIND.instrument(False)
            if refused:
                raise SystemExit(f"refused: {refused[0][:300]!r}")
            if run:
                loop_cpu.append(spent / (args.calls * 100) * 1e6)
                process_cpu.append(process / (args.calls * 100) * 1e6)
        return loop_cpu, process_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signature", choices=("acs3", "v1"), default="acs3")
    parser.add_argument("--writer", choices=("real", "stub"), default="real")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--callgrind", action="store_true", help="under callgrind: count the measured runs alone"
    )
    args = parser.parse_args()
    CALLGRIND.enabled = args.callgrind
    with tempfile.TemporaryDirectory(prefix="tidings-accept-") as tmp:
        data = Path(tmp) / "data"
        _, key = prepare(data, None)
        loop_cpu, process_cpu = uvloop.run(measure(args, data, key))
    print(
        f"{Path(tidings.__file__).parent.parent}  {args.signature} writer={args.writer}"
        f"  load {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    for name, figures in (("loop", loop_cpu), ("process", process_cpu)):
        print(
            f"  {name} CPU per message: min {min(figures):.1f} µs,"
            f" median {statistics.median(figures):.1f} µs"
            f"  [{' '.join(f'{x:.1f}' for x in figures)}]"
        )


if __name__ == "__main__":
    main()
