"""The database handle: SQLite or PostgreSQL through one SQLAlchemy Core API, used from asyncio.

Queries are plain functions of a ``Connection``; the event loop hands them to worker threads, so a
request never blocks the loop on I/O. Writes are group-committed: the functions that arrive while
a transaction is in flight run together in the next one, and if one of them fails, the batch runs
again with each inside its own savepoint, so one refused request rolls back alone while the
others commit. On SQLite that turns one fsync per call into one per batch, which is most of the
difference between 4,000 and 30,000 messages a second; on PostgreSQL several such lanes run side
by side.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

from tidings.gathering import Gathering
from tidings.store import lost_connections
from tidings.store.lost_connections import StoreUnavailable
from tidings.store.plain import fetch

T = TypeVar("T")
log = logging.getLogger("tidings.store")
Item = TypeVar("Item")
Work = Callable[..., Any]

_MIGRATIONS = Path(__file__).parent / "migrations"

# WAL lets readers work beside the one writer; FULL makes every commit durable on disk (but
# those of Database.write_unsynced, which set NORMAL for their transaction).
# A large page cache and memory-mapped reads matter more than they seem: a cache miss is a
# read() system call, the driver lets go of the GIL around it, and getting the GIL back from a
# busy event loop is what makes a missed page expensive.
# auto_vacuum=INCREMENTAL (only takes on a new database, so it comes first) lets retention
# hand the pages of deleted rows back with incremental_vacuum (reclaim_space).
SYNCED = "PRAGMA synchronous=FULL"
SQLITE_PRAGMAS = (
    "PRAGMA auto_vacuum=INCREMENTAL",
    "PRAGMA journal_mode=WAL",
    SYNCED,
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA cache_size=-65536",
    "PRAGMA mmap_size=268435456",
)
_PG_MIGRATION_LOCK = 0x7469_6469  # any constant shared by every Tidings process


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@functools.cache
def newest_revisions() -> frozenset[str]:
    """The heads of the migrations this code ships."""
    return frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def schema_is_current(conn: Connection) -> bool:
    """Whether the database is at the revisions this code ships (another node may have
    migrated it further, or not yet)."""
    return frozenset(MigrationContext.configure(conn).get_current_heads()) == newest_revisions()


class Database:
    """One database, its engines and the threads that talk to it."""

    def __init__(self, url: str, *, readers: int = 4, write_lanes: int | None = None) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self._write_engine = _sqlite_engine(url, begin="BEGIN IMMEDIATE")
            self._read_engine = _sqlite_engine(url, begin="BEGIN")
            lanes = 1
        else:
            self._write_engine = self._read_engine = create_engine(
                url,
                pool_size=readers + (write_lanes or 4),
                pool_pre_ping=True,
                connect_args=lost_connections.link_bounds(url),
            )
            lanes = write_lanes or 4
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="tidings-read")
        self._writer = _GroupCommit(self._write_engine, lanes)
        self._gatherings: dict[tuple[str, Work], Gathering[Any, Any]] = {}

    @property
    def engine(self) -> Engine:
        return self._write_engine

    def migrate(self) -> None:
        """Bring the schema to the newest revision; safe when several processes start at once."""
        config = _alembic_config()
        with self._write_engine.connect() as conn:
            # SQLite changes a constraint by rebuilding the table, dropping the old one, which
            # other tables refer to: references are checked once, after the migrations, instead
            # (Alembic's recipe; the pragma only takes outside a transaction).
            driver: Any = conn.connection.driver_connection
            if self.is_sqlite:
                _require_json(driver)
                driver.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    if not self.is_sqlite:
                        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
                    if self.is_sqlite and (
                        broken := conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                    ):
                        raise RuntimeError(f"a migration broke a reference: {tuple(broken)}")
            finally:
                if self.is_sqlite:
                    driver.execute("PRAGMA foreign_keys=ON")

    async def read(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``work(conn, *args, **kwargs)`` in a read transaction; its result."""
        if kwargs:
            work = functools.partial(work, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read_sync, work, args)

    async def write(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``work(conn, *args, **kwargs)`` in a transaction shared with other writes."""
        if kwargs:
            work = functools.partial(work, **kwargs)
        return await self._writer.submit(work, args, synced=True)

    async def write_unsynced(self, work: Callable[..., T], *args: Any) -> T:
        """As ``write``, for a write that is done again if it is lost (a device acknowledges
        again what it is sent again): committed without waiting for the disk when no other
        write shares its transaction.

        A commit that waits for the disk (SQLite's synchronous=FULL, an fsync; PostgreSQL's
        synchronous_commit) cost SQLite ~125 µs of CPU and ~3 ms of the one writer's time on
        this project's machines, for a batch of acks as for a push. Unsynced, what a crash of
        the process commits is kept all the same (it is in the operating system's hands); a
        crash of the machine may undo the last such transactions, and never a later synced
        one alone: the next synced commit writes the log up to itself, theirs included, and
        the database stays consistent either way."""
        return await self._writer.submit(work, args, synced=False)

    async def write_together(
        self, work: Callable[[Connection, list[Item]], list[T]], item: Item
    ) -> T:
        """``item``'s result of ``work(conn, items)``, one call for every item handed to the
        same ``work`` by the end of this loop turn, or while its last call was under way, in a
        shared write transaction (gathering.py: a storm of device registrations is one
        multi-row INSERT). ``work`` returns one result per item, in their order; if it fails,
        every item of the call gets its exception."""
        run = self._writer.enqueue
        return await self._gathering("write", work, lambda items: run(work, (items,), synced=True))(
            item
        )

    async def read_together(
        self, work: Callable[[Connection, list[Item]], list[T]], item: Item
    ) -> T:
        """As ``write_together``, in a read transaction."""

        def run(items: list[Item]) -> Awaitable[list[T]]:
            loop = asyncio.get_running_loop()
            return loop.run_in_executor(self._readers, self._read_sync, work, (items,))

        return await self._gathering("read", work, run)(item)

    def _gathering(
        self, kind: str, work: Callable[..., Any], run: Callable[[list[Any]], Awaitable[Any]]
    ) -> Gathering[Any, Any]:
        """The one ``Gathering`` of ``work`` in this kind of transaction, made on first use."""
        key = (kind, work)
        if key not in self._gatherings:
            self._gatherings[key] = Gathering(run)
        return self._gatherings[key]

    async def reclaim_space(self, pages: int) -> int:
        """SQLite: give up to ``pages`` free pages back to the file system, in a short write
        transaction of its own; the free pages left (0 on PostgreSQL, whose autovacuum reuses
        space by itself)."""
        if not self.is_sqlite:
            return 0
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._reclaim_sync, pages)

    def _reclaim_sync(self, pages: int) -> int:
        raw = self._write_engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            # executescript steps the pragma to its end; execute() frees one page a call.
            driver.executescript(f"PRAGMA incremental_vacuum({int(pages)})")
            return driver.execute("PRAGMA freelist_count").fetchone()[0]
        finally:
            raw.close()

    def _read_sync(self, work: Work, args: tuple[Any, ...]) -> Any:
        return lost_connections.again_if_lost(self._read_once, work, args)

    def _read_once(self, work: Work, args: tuple[Any, ...]) -> Any:
        with lost_connections.connection(self._read_engine) as conn, conn.begin():
            return work(conn, *args)

    async def aclose(self) -> None:
        await self._writer.aclose()
        self._readers.shutdown(wait=True)
        self._write_engine.dispose()
        self._read_engine.dispose()


def _require_json(driver: Any) -> None:
    """Refuse to start on an SQLite without its JSON functions (built in since 3.38, optional
    before): the webhook outbox builds its events with them, and finding out at the first event
    would fail a write that had been answered OK."""
    try:
        driver.execute("SELECT json_object('a', 1)")
    except sqlite3.OperationalError as exc:
        raise RuntimeError(
            f"this SQLite ({sqlite3.sqlite_version}) lacks its JSON functions; "
            "Tidings needs SQLite 3.38 or newer, or one built with JSON1"
        ) from exc


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for a database in memory."""
    path = url.removeprefix("sqlite:///")
    return Path(path) if path and path != ":memory:" else None


def _sqlite_engine(url: str, *, begin: str) -> Engine:
    path = sqlite_file(url)
    if path is not None:
        _private_database_file(path)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so savepoints and
        # BEGIN IMMEDIATE work (the recipe from SQLAlchemy's SQLite dialect docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


def _private_database_file(path: Path) -> None:
    """The database holds message texts, user ids and device tokens: its directory is made
    0700 and the file 0600 before SQLite opens it (SQLite gives its -wal and -shm files the
    database file's mode); a file an older version left readable by others is tightened."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        try:
            mode = (path.parent / name).stat().st_mode
        except FileNotFoundError:
            continue
        if mode & 0o077:
            (path.parent / name).chmod(0o600)


# A write waiting for its transaction: the work, its arguments, the future of its result, and
# whether its commit must wait for the disk (Database.write_unsynced).
Queued = tuple[Work, tuple[Any, ...], "asyncio.Future[Any]", bool]
Batch = list[Queued]
Outcomes = list[tuple[bool, Any]]


class _GroupCommit:
    """Batches submitted writes into shared transactions, ``lanes`` transactions at a time.

    Each lane runs its transaction in a thread of its own: SQLite's C code lets go of the GIL
    while it works, so the event loop keeps parsing the next calls meanwhile.
    """

    def __init__(self, engine: Engine, lanes: int, max_batch: int = 64) -> None:
        self._engine = engine
        self._lanes = lanes
        self._max_batch = max_batch
        self._executor = ThreadPoolExecutor(lanes, thread_name_prefix="tidings-write")
        self._queue: collections.deque[Queued] = collections.deque()
        self._wakeup: asyncio.Event | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._busy = 0

    async def submit(self, work: Work, args: tuple[Any, ...], *, synced: bool) -> Any:
        return await self.enqueue(work, args, synced=synced)

    def enqueue(self, work: Work, args: tuple[Any, ...], *, synced: bool) -> asyncio.Future[Any]:
        """Queue ``work(conn, *args)`` for the next transaction, which waits for the disk if
        any of its writes is ``synced`` (Database.write_unsynced); the future of its result."""
        loop = asyncio.get_running_loop()
        self._start(loop)
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((work, args, future, synced))
        assert self._wakeup is not None
        self._wakeup.set()
        return future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._workers and not self._workers[0].done():
            return
        self._wakeup = asyncio.Event()
        self._workers = [loop.create_task(self._lane()) for _ in range(self._lanes)]

    async def _lane(self) -> None:
        assert self._wakeup is not None
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))]
            self._busy += 1
            try:
                outcomes = await self._run(batch)
            except Exception as exc:  # the transaction failed as a whole: so does every write
                for _, _, future, _ in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            finally:
                self._busy -= 1
            for (_, _, future, _), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    async def _run(self, batch: Batch) -> Outcomes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, batch)

    def _transaction(self, batch: Batch) -> Outcomes:
        return lost_connections.again_if_lost(self._attempt, batch)

    def _attempt(self, batch: Batch) -> Outcomes:
        """The batch's transaction: its writes together, or apart if one fails (``_apply``)."""
        synced = any(synced for _, _, _, synced in batch)
        with lost_connections.connection(self._engine) as conn:
            try:
                return _committed(conn, _apply, batch, synced=synced)
            except _OneFailed:
                pass
            return _committed(conn, _apart, batch, synced=synced)

    async def aclose(self) -> None:
        """Finish every write already submitted, then stop the lanes."""
        while self._workers and (self._queue or self._busy):
            await asyncio.sleep(0.01)
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
        self._executor.shutdown(wait=True)


@contextlib.contextmanager
def _transaction_of(conn: Connection, *, synced: bool) -> Iterator[str | None]:
    """A transaction on ``conn``, and on PostgreSQL its id (``_committed`` says why it is
    taken); unless ``synced``, one whose commit does not wait for the disk
    (Database.write_unsynced says why that is safe): on SQLite the connection's level, which
    it takes only outside a transaction, for this one alone; on PostgreSQL the transaction's
    own, set by the statement that takes its id."""
    if conn.dialect.name == "postgresql":
        with conn.begin():
            yield fetch(conn, _PG_FIRST[synced], ())[0][0]
    elif synced:
        with conn.begin():
            yield None
    else:
        driver: Any = conn.connection.driver_connection
        driver.execute("PRAGMA synchronous=NORMAL")
        try:
            with conn.begin():
                yield None
        finally:
            driver.execute(SYNCED)


# The first statement of a PostgreSQL write transaction, synced or not: its id, and for an
# unsynced one its commit made not to wait for the disk (set_config's ``true``: SET LOCAL).
_PG_FIRST = {
    True: "SELECT pg_current_xact_id()",
    False: "SELECT pg_current_xact_id(), set_config('synchronous_commit', 'off', true)",
}


def _committed(
    conn: Connection, run: Callable[[Connection, Batch], Outcomes], batch: Batch, *, synced: bool
) -> Outcomes:
    """``run(conn, batch)`` in a transaction.

    A connection lost in the commit leaves it unknown whether the database committed: the
    COMMIT may have been lost on its way, or the answer after it (a terminated backend ends
    once the commit is on disk). Running the writes again could then do them twice, and
    failing them could fail writes that happened; so on PostgreSQL the transaction's id is
    taken first (``_transaction_of``: one more round trip for a synced transaction, ~0.1 ms of
    CPU on a loaded 2-core machine; none for an unsynced one) and its fate asked on a new
    connection (``lost_connections.fate``): committed, its results stand; rolled back, it runs
    again like one lost before its commit (``Lost``). Unknown, every write of the batch fails
    with ``StoreUnavailable``."""
    xid: str | None = None
    ran = False
    try:
        with _transaction_of(conn, synced=synced) as xid:
            outcomes = run(conn, batch)
            ran = True
            return outcomes
    except DBAPIError as exc:
        if not (ran and exc.connection_invalidated):
            raise
        fate = lost_connections.fate(conn, xid)
        if fate == "committed":
            log.warning("the connection to the database was lost in a commit, which happened")
            return outcomes
        if fate == "aborted":
            raise lost_connections.Lost from exc
        raise StoreUnavailable(lost_connections.COMMIT_LOST) from exc


class _OneFailed(Exception):
    """One write of a batch failed: its transaction is rolled back, to run them apart."""


def _apply(conn: Connection, batch: Batch) -> Outcomes:
    """Run the batch's writes together; if one fails, raise ``_OneFailed``, whose transaction
    rolls back and runs them again apart (``_apart``).

    Failures are rare (most refusals happen before a write is submitted), so the common path
    pays for no savepoint at all: one cost SQLAlchemy about 95 µs of the writer's CPU, and a
    fan-out commits one every 150 messages or so. A write alone in its transaction needs no
    second run: its failure rolls the transaction back, and reaches its caller alone.
    """
    if len(batch) == 1:
        work, args, _, _ = batch[0]
        return [(True, work(conn, *args))]
    try:
        return [(True, work(conn, *args)) for work, args, _, _ in batch]
    except Exception as exc:
        if lost_connections.is_lost(exc):  # no write failed: the connection did
            raise
        raise _OneFailed from exc


def _apart(conn: Connection, batch: Batch) -> Outcomes:
    """Run the batch's writes each in its own savepoint: a failed one rolls back alone."""
    outcomes: Outcomes = []
    for work, args, _, _ in batch:
        savepoint = conn.begin_nested()
        try:
            value = work(conn, *args)
        except Exception as exc:
            if lost_connections.is_lost(exc):
                raise
            savepoint.rollback()
            outcomes.append((False, exc))
        else:
            savepoint.commit()
            outcomes.append((True, value))
    return outcomes
