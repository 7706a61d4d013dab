"""Several ``tidings serve`` nodes on one PostgreSQL and one Redis, each in its own network
namespace where the machine allows it, with a link to Redis that a test can cut.

Namespaces (iproute2, root): node i runs in namespace ``<run>-i`` behind a veth pair, host side
10.213.i.1, node side 10.213.i.2. PostgreSQL and Redis listen on the host's loopback only, so a
socat on 10.213.i.1 forwards each to them; clients reach the node at 10.213.i.2. Cutting node
i's Redis link drops its packets to Redis inside its namespace (iptables): a silent partition,
as a broken switch makes, not a polite refusal.

Without namespaces (not root, no ``ip``), every node listens on the loopback and reaches Redis
through a socat of its own; cutting the link stops that socat, which closes the node's Redis
connections and refuses new ones.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.servers import free_port

REDIS_PORT = 6379
POSTGRES_PORT = 5432


def namespaces_available() -> bool:
    """Root with iproute2 and iptables; TIDINGS_TEST_CLUSTER_LOOPBACK=1 forces the fallback."""
    if os.environ.get("TIDINGS_TEST_CLUSTER_LOOPBACK") == "1":
        return False
    if os.geteuid() != 0 or not (shutil.which("ip") and shutil.which("iptables")):
        return False
    probe = f"tp{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if made:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return made


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


@dataclass
class Node:
    index: int
    host: str  # where clients reach it
    port: int
    env: dict[str, str]
    prefix: list[str]  # `ip netns exec <ns>`, or nothing
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "tidings", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        # One client for the whole wait: a new one per poll costs a TLS context each time, CPU
        # the starting node is short of.
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                assert self.process is not None and self.process.poll() is None, (
                    self.log.read_text()
                )
                try:
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise AssertionError(f"node {self.index} not ready in {timeout} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """kill -9: no drain, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self, timeout: float = 40) -> int | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code

    def rss_mb(self) -> float | None:
        if self.process is None:
            return None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return kb / 1024


@dataclass
class Cluster:
    """``count`` nodes on ``database_url`` (host view) and ``redis_url``; call ``close``."""

    workdir: Path
    count: int
    database_url: str
    redis_db: int
    settings: dict[str, str]
    isolated: bool = field(default_factory=namespaces_available)
    nodes: list[Node] = field(default_factory=list)
    _socats: dict[tuple[int, str], subprocess.Popen] = field(default_factory=dict)
    _run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:5])

    def __post_init__(self) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
        for i in range(self.count):
            if self.isolated:
                self._make_namespace(i)
                upstream, host, port = f"10.213.{i + 1}.1", f"10.213.{i + 1}.2", 8080
                prefix = ["ip", "netns", "exec", self._namespace(i)]
                self._socat(i, "postgres", upstream, POSTGRES_PORT, POSTGRES_PORT)
                redis_port = REDIS_PORT
            else:
                upstream, host, port, prefix = "127.0.0.1", "127.0.0.1", free_port(), []
                redis_port = free_port()
            self._socat(i, "redis", upstream, redis_port, REDIS_PORT)
            database_url = self.database_url.replace(
                f"127.0.0.1:{POSTGRES_PORT}", f"{upstream}:{POSTGRES_PORT}"
            )
            env = base | self.settings
            env.update(
                TIDINGS_HOST="0.0.0.0" if self.isolated else "127.0.0.1",
                TIDINGS_DATA_DIR=str(self.workdir / f"node{i}"),
                TIDINGS_DATABASE_URL=database_url,
                TIDINGS_REDIS_URL=f"redis://{upstream}:{redis_port}/{self.redis_db}",
            )
            self.nodes.append(Node(i, host, port, env, prefix, self.workdir / f"node{i}.log"))

    def _namespace(self, i: int) -> str:
        return f"tc{self._run_id}-{i}"

    def _make_namespace(self, i: int) -> None:
        ns, outside, inside = self._namespace(i), f"tc{self._run_id}h{i}", f"tc{self._run_id}n{i}"
        _run("ip", "netns", "add", ns)
        _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        _run("ip", "link", "set", inside, "netns", ns)
        _run("ip", "addr", "add", f"10.213.{i + 1}.1/24", "dev", outside)
        _run("ip", "link", "set", outside, "up")
        _run("ip", "netns", "exec", ns, "ip", "addr", "add", f"10.213.{i + 1}.2/24", "dev", inside)
        _run("ip", "netns", "exec", ns, "ip", "link", "set", inside, "up")
        _run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def _socat(self, i: int, name: str, bind: str, port: int, target: int) -> None:
        self._socats[(i, name)] = subprocess.Popen(
            [
                "socat",
                f"TCP-LISTEN:{port},bind={bind},fork,reuseaddr",
                f"TCP:127.0.0.1:{target}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_listening(bind, port)

    def cut_redis(self, i: int) -> None:
        if self.isolated:
            rule = [
                "-p",
                "tcp",
                "-d",
                f"10.213.{i + 1}.1",
                "--dport",
                str(REDIS_PORT),
                "-j",
                "DROP",
            ]
            _run("ip", "netns", "exec", self._namespace(i), "iptables", "-A", "OUTPUT", *rule)
        else:
            socat = self._socats.pop((i, "redis"))
            # its forked children hold the node's connections: end them, then it
            subprocess.run(["pkill", "-TERM", "-P", str(socat.pid)], capture_output=True)
            socat.send_signal(signal.SIGTERM)
            socat.wait(5)

    def restore_redis(self, i: int) -> None:
        if self.isolated:
            _run("ip", "netns", "exec", self._namespace(i), "iptables", "-F", "OUTPUT")
        else:
            port = int(self.nodes[i].env["TIDINGS_REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
            self._socat(i, "redis", "127.0.0.1", port, REDIS_PORT)

    def close(self) -> None:
        for node in self.nodes:
            if node.process is not None:
                node.process.kill()
                node.process.wait()
        for socat in self._socats.values():
            socat.kill()
            socat.wait()
        if self.isolated:
            for i in range(self.count):
                subprocess.run(["ip", "netns", "del", self._namespace(i)], capture_output=True)
                subprocess.run(["ip", "link", "del", f"tc{self._run_id}h{i}"], capture_output=True)


def _wait_listening(host: str, port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"socat did not listen on {host}:{port}")
