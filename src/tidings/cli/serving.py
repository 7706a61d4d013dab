"""Running ``tidings serve`` on its settings: the locks on the data directory and the SQLite file,
the listening socket, the connection caps and deadlines, uvicorn and the garbage collector's
tuning."""

from __future__ import annotations

import fcntl
import gc
import logging
import resource
import shlex
import socket
from pathlib import Path
from typing import TextIO

import typer
import uvicorn
from sqlalchemy.engine import make_url
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tidings import logs
from tidings.app import build_app
from tidings.cli.common import console, errors
from tidings.config import Settings
from tidings.draining import Drain, DrainingServer
from tidings.gateway.transport import is_device_upgrade, socket_class
from tidings.limits.connections import ConnectionCaps, Deadlines, guarded_protocols
from tidings.services import Services
from tidings.store.database import sqlite_file

GC_THRESHOLD = 200_000  # allocations between young collections (CPython's default: 700)


def run_server(settings: Settings) -> None:
    """Serve until stopped (SIGTERM drains first, draining.py)."""
    locks = _serve_locks(settings)
    logs.configure(settings.log_level, settings.log_format)

    async def on_ready(services: Services) -> None:
        _tune_garbage_collection()
        if not await services.tenancy.apps():
            _print_first_steps(settings)

    drain = Drain()
    app = build_app(settings, on_ready=on_ready, drain=drain)
    _raise_open_file_limit(settings.max_connections)
    caps = ConnectionCaps(
        settings.max_connections_per_address, settings.max_connections, settings.trusted_proxies
    )
    # The caps and the deadlines sit in the protocols uvicorn runs for every connection: a
    # connection upgraded to the gateway's WebSocket keeps its place in the count.
    deadlines = Deadlines(
        settings.header_timeout_seconds,
        settings.body_timeout_seconds,
        settings.body_min_bytes_per_second,
    )
    http, ws = guarded_protocols(
        HttpToolsProtocol, socket_class(app), caps, deadlines, direct=is_device_upgrade
    )
    server_config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's lines go through logs.configure's handler and format
        access_log=False,
        http=http,
        server_header=False,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        # uvicorn answers HTTP (plain: TLS is a proxy's, docs/operations.md) and hands every
        # WebSocket upgrade to the gateway's own protocol, which serves /device.
        ws=ws,
    )
    try:
        listening = _listen(settings)
        DrainingServer(server_config, drain, settings.drain_seconds).run(sockets=[listening])
    finally:
        for lock in locks:
            lock.close()


def _listen(settings: Settings) -> socket.socket:
    """The API's listening socket.

    On PostgreSQL it is opened with ``SO_REUSEPORT``: several ``tidings serve`` processes on one
    machine then listen on the same port and the kernel spreads new connections over them, so
    one process per core uses every core with no balancer in front (they already share nonces,
    tasks and, through Redis, devices). On SQLite one process serves a data directory (the
    serve locks, taken before this runs), so it has no port to share.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if not settings.embedded:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        errors.print(
            f"[red]error:[/red] cannot listen on {settings.host}:{settings.port}: "
            f"{(exc.strerror or str(exc)).lower()}",
            highlight=False,
        )
        raise typer.Exit(1) from None
    return sock


def _raise_open_file_limit(connections: int) -> None:
    """Let the process hold ``max_connections`` sockets beside its own files: raise the soft
    limit on open files towards the hard one (often 1,024 against 524,288)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 256  # the database, logs, the listening socket, outgoing HTTP/2
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        if raised < wanted:
            logging.getLogger("tidings").warning(
                "the open-file limit (%d) is below max_connections + 256; lower "
                "max_connections or raise the limit",
                hard,
            )


def _tune_garbage_collection() -> None:
    """Collect less often, and never look again at what start-up made.

    A push server keeps many long-lived objects (a connection's state per device) and makes
    many short-lived ones per message; with CPython's default thresholds the full collections
    that walk all the long-lived objects ran often enough to take a sizeable share of a burst's
    time. Freezing moves everything alive after start-up out of the collector's sight.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)


def _serve_locks(settings: Settings) -> list[TextIO]:
    """The locks a server on SQLite holds while it serves (none on PostgreSQL).

    One server per data directory. And one per SQLite file unless Redis is configured: without
    Redis a process keeps device presence in memory, so a device connected to one of two
    processes on one file would not hear of the messages the other accepted until it
    reconnected. Servers that all have Redis may share the file (a shared lock); the exclusive
    lock of a server without Redis keeps each kind out while the other holds the file. The
    file is reachable under several data directories (``TIDINGS_DATABASE_URL=sqlite:///...``),
    hence a lock of its own beside it.
    """
    if not settings.embedded:
        return []
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    locks = [
        _hold_lock(
            settings.data_dir / "serve.lock",
            shared=False,
            refusal=f"another 'tidings serve' is using {settings.data_dir}; "
            "run several processes on PostgreSQL instead (TIDINGS_DATABASE_URL)",
        )
    ]
    database = sqlite_file(settings.database)
    if database is not None:
        path = database.resolve()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # as the database does
        locks.append(
            _hold_lock(
                path.with_name(path.name + ".serve.lock"),
                shared=bool(settings.redis_url),
                refusal=f"another 'tidings serve' is using the database {path}, and not all "
                "of them have Redis: set TIDINGS_REDIS_URL on every server sharing one SQLite "
                "file (without it each keeps device presence to itself), or run one server",
            )
        )
    return locks


def _hold_lock(path: Path, *, shared: bool, refusal: str) -> TextIO:
    """An flock on ``path`` held until the handle is closed, or else the command ends with
    ``refusal``. The kernel lets go of it when the process ends however it ends (kill -9
    included), so a crash leaves no stale lock to remove by hand."""
    handle = open(path, "w")  # noqa: SIM115 - held while serving
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        # soft_wrap: a path to copy, not broken across lines
        errors.print(f"[red]error:[/red] {refusal}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    return handle


def _print_first_steps(settings: Settings) -> None:
    """The commands to run next, naming this server's data: another terminal lacks its flags
    and environment. A database password is shown masked, never in the clear."""
    where = (
        ""
        if settings.data_dir.as_posix() == "tidings-data"
        else f" --data-dir {shlex.quote(str(settings.data_dir))}"
    )
    if settings.database_url:
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        where += f" --database-url {shlex.quote(shown)}"
    console.print(
        "\n[bold]Tidings has no apps yet.[/bold] In another terminal, create an app and a key:\n"
        f"  tidings apps create --workspace default --app-id ONEX570DA89211721{where}\n"
        f"  tidings keys create --workspace default{where}\n"
        f"Then point an Alibaba Cloud SDK at http://{settings.host}:{settings.port} "
        "with that AccessKey.\n",
        highlight=False,
        soft_wrap=True,
    )
