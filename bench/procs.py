"""What the benches share about processes and figures: CPU, memory, file limits, min/median/max.

Every bench runs its subject and its floors in the same run, several times, on a machine whose
cores the load generators share; these helpers read how busy each process was (Linux /proc) and
print every figure and every ratio as min / median / max over the runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import psycopg
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Wide enough for the tables when the output goes to a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 150)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User plus system CPU time a process (all its threads) has used so far; or one of its
    threads (``thread``: its id; a process's first thread, its event loop in a server, has the
    process's id)."""
    stat = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wanted_seconds(pid: int, thread: int | None = None) -> float:
    """Seconds a process's threads (or one of them, ``thread``: its id) have so far run on a core
    or waited, runnable, for one (/proc schedstat; a thread that has ended no longer counts).
    Over a span, a thread's share near 1 means it waited on nothing but a core: its own work, on
    a machine shared with other load, was the limit, not a peer it talks to."""
    tasks = [thread] if thread is not None else os.listdir(f"/proc/{pid}/task")
    wanted = 0
    for task in tasks:
        running, waiting, _ = Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()
        wanted += int(running) + int(waiting)
    return wanted / 1e9


def cpu_by_thread(pid: int) -> Counter[str]:
    """CPU seconds so far of process ``pid``'s first thread (``loop``: a server's event loop)
    and of all its other threads together (``threads``: a server's database writer and
    readers; their names, Python's, are not the system's, so they are not told apart), and
    how much of all that the kernel spent on the process's behalf (``kernel``: system calls,
    and over loopback the receiving side's TCP work too)."""
    spent: Counter[str] = Counter()
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            user, system = int(fields[11]) / tick, int(fields[12]) / tick
            spent["loop" if int(task.name) == pid else "threads"] += user + system
            spent["kernel"] += system
    return spent


def threads_cpu(prefix: str) -> float:
    """CPU seconds so far of every thread of this process whose name starts with ``prefix``
    (``tidings-write``: the database writer's; ``tidings-read``: the readers')."""
    return sum(
        time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        for t in threading.enumerate()
        if t.name.startswith(prefix) and t.ident is not None
    )


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def profiled(file: str, pid: int, phase: str) -> Iterator[None]:
    """With a bench's --profile FILE: py-spy on process ``pid`` during ``phase``, its threads
    apart, into FILE.<phase>.<time> (py-spy's raw format, a line per stack); with no FILE,
    nothing."""
    if not file:
        yield
        return
    profiler = subprocess.Popen(
        ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
         "--nonblocking", "--threads", "-o", f"{file}.{phase}.{time.time():.0f}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    try:
        yield
    finally:
        profiler.send_signal(signal.SIGINT)
        profiler.wait()


def raise_open_files(needed: int) -> int:
    """Lift this process's open-file limit to at least ``needed`` if it can; the new soft limit.

    The soft limit goes up to the hard one; a root process (as on the project's machines) may
    raise the hard limit too. Child processes inherit what this sets.
    """
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if needed > hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return needed
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Busy:
    """Cores each named process kept busy between ``__init__`` and ``cores()``."""

    def __init__(self, pids: dict[str, int], clock: Callable[[], float]) -> None:
        self._pids = pids
        self._clock = clock
        self._started = clock()
        self._cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def cores(self) -> dict[str, float]:
        elapsed = self._clock() - self._started
        return {
            name: (cpu_seconds(pid) - self._cpu[name]) / elapsed for name, pid in self._pids.items()
        }


def spread(values: Sequence[float], shape: str = "{:,.0f}") -> str:
    """``median [min–max]`` of one figure over the runs."""
    if not values:
        return "-"
    if len(values) == 1:
        return shape.format(values[0])
    middle = shape.format(statistics.median(values))
    return f"{middle} [{shape.format(min(values))}–{shape.format(max(values))}]"


def spread_table(title: str, rows: Sequence[tuple[str, dict[str, list[float]], str]]) -> Table:
    """One row per figure, one column per subject: each cell median [min–max] over the runs.

    ``rows`` are (label, {subject: values}, format); subjects keep the order they first appear in.
    """
    subjects: list[str] = []
    for _, cells, _ in rows:
        subjects += [s for s in cells if s not in subjects]
    table = Table(title=title, caption=escape("median [min–max] over the runs"))
    table.add_column("measure")
    for subject in subjects:
        table.add_column(subject, justify="right")
    for label, cells, shape in rows:
        table.add_row(label, *(spread(cells.get(s, []), shape) for s in subjects))
    return table


@contextlib.contextmanager
def fresh_database(base_url: str | None, directory: Path, name: str) -> Iterator[str]:
    """A fresh database: a SQLite file, or a schema of its own on the PostgreSQL server."""
    if base_url is None:
        yield f"sqlite:///{directory / (name + '.db')}"
        return
    schema = f"{name}_{uuid.uuid4().hex[:10]}"
    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{plain}{'&' if '?' in plain else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def on_fresh_database(
    base_url: str | None, name: str, measure: Callable[[str, Path], Awaitable[list[float]]]
) -> list[float]:
    """The figures of ``measure(url, directory)``, run in process on a fresh database (in a
    temporary data directory, which it gets too) and dropped afterwards."""
    with (
        tempfile.TemporaryDirectory() as directory,
        fresh_database(base_url, Path(directory), name) as url,
    ):
        return asyncio.run(measure(url, Path(directory)))


def print_cpu(base_url: str | None, label: str, found: Sequence[float]) -> None:
    """An in-process bench's figures (seconds of CPU each) on the database of
    ``on_fresh_database(base_url, ...)``, as microseconds: min and median, with the load
    average, since the machine is shared."""
    kind = "sqlite" if base_url is None else "postgresql"
    print(
        f"{kind:10} {label}: min {min(found) * 1e6:6.2f}"
        f"  median {statistics.median(found) * 1e6:6.2f}  (load {os.getloadavg()[0]:.1f})",
        flush=True,
    )


class Callgrind:
    """Valgrind's instrumentation of this process, turned on around what a bench counts when
    it runs under ``valgrind --tool=callgrind --instr-atstart=no`` (``--callgrind``): the
    instruction count valgrind prints is then that work's alone, steady on a loaded machine
    where the CPU clock is not. Off, it does nothing."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled

    def instrument(self, on: bool) -> None:
        if self.enabled:
            switch = "on" if on else "off"
            subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], check=True)
