"""Real Tidings servers for the tests: a ``tidings serve`` process on a free port."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg
import pytest
import redis
from typer.testing import CliRunner

from tidings.cli import app as tidings_cli
from tidings.cli.common import run
from tidings.config import Settings
from tidings.services import Services
from tidings.store.database import Database
from tidings.tenancy.models import DEFAULT_TIMEZONE

REDIS_URL = os.environ.get("TIDINGS_TEST_REDIS", "redis://127.0.0.1:6379/0")
POSTGRES_ADMIN = os.environ.get(
    "TIDINGS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


T = TypeVar("T")

_APP_FLAGS = argparse.ArgumentParser(add_help=False, exit_on_error=False)
_APP_FLAGS.add_argument("--tenant")
_APP_FLAGS.add_argument("--timezone", default=DEFAULT_TIMEZONE)
_KEY_FLAGS = argparse.ArgumentParser(add_help=False, exit_on_error=False)
_KEY_FLAGS.add_argument("--app", action="append")
_KEY_FLAGS.add_argument("--read-only", action="store_true")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        if os.environ.get("TIDINGS_TEST_REQUIRE_SERVICES"):
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")


def require_postgres() -> None:
    """Skip when PostgreSQL is not running here, except where services are required (CI)."""
    try:
        psycopg.connect(POSTGRES_ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("TIDINGS_TEST_REQUIRE_SERVICES"):
            raise
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN}: {exc}")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A database URL whose search_path is a fresh schema, dropped afterwards."""
    require_postgres()
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_ADMIN}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def served_database(kind: str, directory: Path) -> Iterator[Database]:
    """A database as the server opens it, not migrated yet: a SQLite file in ``directory``
    (foreign keys enforced), or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        yield Database(f"sqlite:///{directory / 'tidings.db'}")
        return
    with postgres_schema() as url:
        yield Database(Settings(database_url=url).database)


@contextmanager
def database(kind: str, data_dir: Path) -> Iterator[str | None]:
    """``None`` for the embedded SQLite database, or a PostgreSQL URL."""
    if kind == "sqlite":
        yield None
    else:
        with postgres_schema() as url:
            yield url


@dataclass
class Server:
    url: str
    host: str
    port: int
    data_dir: Path
    database_url: str | None
    settings: dict[str, str] = field(default_factory=dict)  # extra TIDINGS_* for serve
    process: subprocess.Popen | None = None

    @property
    def kind(self) -> str:
        return "postgresql" if self.database_url else "sqlite"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ, TIDINGS_DATA_DIR=str(self.data_dir))
        env.pop("TIDINGS_DATABASE_URL", None)
        if self.database_url:
            env["TIDINGS_DATABASE_URL"] = self.database_url
        return env

    def cli(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a ``tidings`` command against this server's data (``stdin``: what it reads).

        The command runs in this process through the same Typer application the ``tidings``
        script starts, which saves the second or more of imports every new process pays;
        tests/cli/test_serve.py and tests/cli/test_config.py start the script itself.
        """
        result = CliRunner().invoke(
            tidings_cli,
            list(args),
            input=stdin,
            env={
                "TIDINGS_DATA_DIR": str(self.data_dir),
                "TIDINGS_DATABASE_URL": self.database_url,
            },
            catch_exceptions=False,
        )
        completed = subprocess.CompletedProcess(
            ["tidings", *args], result.exit_code, result.stdout, result.stderr
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"tidings {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}"
            )
        return completed

    def create_app(self, workspace: str, app_id: str, *extra: str) -> None:
        """What ``tidings apps create`` does (``extra``: its ``--tenant``/``--timezone``)."""
        flags = _APP_FLAGS.parse_args(extra)
        self.admin(lambda s: s.tenancy.create_app(workspace, app_id, flags.tenant, flags.timezone))

    def create_key(self, workspace: str, *extra: str) -> tuple[str, str]:
        """What ``tidings keys create`` does (``extra``: its ``--app``/``--read-only``)."""
        flags = _KEY_FLAGS.parse_args(extra)
        key, secret = self.admin(
            lambda s: s.tenancy.create_key(workspace, flags.app or (), flags.read_only)
        )
        return key.access_key_id, secret

    def admin(self, job: Callable[[Services], Awaitable[T]]) -> T:
        """Run ``job`` on this server's data through the domain services, in this process.

        It is the command line's own path without a process start-up (about 30 ms against a
        second); the commands themselves are tested in tests/cli.
        """
        return run(Settings(data_dir=self.data_dir, database_url=self.database_url), job)

    def start(self) -> None:
        """Start ``tidings serve`` and wait until it answers.

        The port was free when it was chosen, but another test run on the machine may start a
        server on the same one meanwhile: only a socket this process listens on counts, and a
        server that lost its port is started again on another one.
        """
        for _ in range(3):
            if self._launch():
                return
            self.port = free_port()
            self.url = f"http://{self.host}:{self.port}"
        raise RuntimeError("tidings serve lost its port three times")

    @property
    def log(self) -> Path:
        """Where the process's output goes: a file beside its data directory, kept with pytest's
        temporary directories, so a failure (an answer 500, say) can be read about afterwards;
        and a file, not a pipe nobody reads while the test runs, whose buffer a talkative
        server would fill and then block on."""
        return self.data_dir.with_name(f"{self.data_dir.name}.serve-{self.port}.log")

    def _launch(self) -> bool:
        """Run the process until it serves; False when its port was taken."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("w") as output_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tidings", "serve", "--port", str(self.port)],
                env=self.env | self.settings,
                stdout=output_file,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    output = self.log.read_text()
                    self.process = None
                    if "address already in use" in output:
                        return False
                    raise RuntimeError(f"tidings serve exited:\n{output}")
                # A refused connection costs next to nothing, reading the socket tables does
                # not: only an answer from the port is checked against them. Polling often
                # and cheaply leaves the CPU to the server's start-up.
                if self._healthy(client) and _listens_on(self.process.pid, self.port):
                    return True
                time.sleep(0.02)
        # Not left running behind the failed test (a loaded machine once kept ten of them).
        output = self.stop()
        raise RuntimeError(f"tidings serve did not become ready in 30 s:\n{output[-4000:]}")

    def _healthy(self, client: httpx.Client) -> bool:
        try:
            return client.get(f"{self.url}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> str:
        """Stop the server; what it printed."""
        if self.process is None:
            return ""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        return self.log.read_text()


def _listens_on(pid: int, port: int) -> bool:
    """Whether process ``pid`` has a socket listening on ``port`` (Linux; elsewhere assumed)."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return True
    sockets = set()
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir() if fds.exists() else ():
        try:
            sockets.add(os.readlink(fd))
        except OSError:  # closed in between
            continue
    for table in tables:
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()  # local address, remote, state ("0A": listening), ... inode
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "0A" and f"socket:[{fields[9]}]" in sockets:
                return True
    return False


@contextmanager
def running_server(
    kind: str, data_dir: Path, settings: dict[str, str] | None = None
) -> Iterator[Server]:
    """A server on a fresh database; ``settings`` are extra ``TIDINGS_*`` variables for it."""
    with database(kind, data_dir) as url:
        port = free_port()
        server = Server(
            f"http://127.0.0.1:{port}", "127.0.0.1", port, data_dir, url, dict(settings or {})
        )
        server.start()
        try:
            yield server
        finally:
            server.stop()
