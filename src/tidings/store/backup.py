"""Online backup of the embedded SQLite database with SQLite's backup API.

The copy runs inside one read transaction on the source, so it is one consistent snapshot while
the server goes on writing (WAL readers never block the writer, nor it them), and it is copied a
few hundred pages a step so a caller can show progress. Without that read transaction, a step-wise
backup starts over whenever another connection writes, which under load is always.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

PAGES_PER_STEP = 1024


class BackupError(Exception):
    """The backup could not be made; the message says why."""


def backup_sqlite(source: Path, target: Path, progress: Callable[[int, int], None]) -> int:
    """Copy the database at ``source`` to the new file ``target`` (mode 0600); its page count.

    ``progress(copied, total)`` hears each step. A target that exists is refused, so no backup
    overwrites another; a failed copy leaves no file behind.
    """
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{target} exists; name a new file") from None
    except OSError as exc:
        raise BackupError(f"cannot create {target}: {exc.strerror}") from None
    os.close(fd)
    try:
        pages = _copy(source, target, progress)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)
    return pages


def _sync_directory(folder: Path) -> None:
    """SQLite syncs the copy's pages as it commits them, but the new file's name lives in its
    folder: until the folder is synced, a power cut after "Backed up" may leave no file."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy(source: Path, target: Path, progress: Callable[[int, int], None]) -> int:
    src = sqlite3.connect(source, isolation_level=None, timeout=30)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.execute("BEGIN")
        total = src.execute("PRAGMA page_count").fetchone()[0]  # starts the read snapshot
        src.backup(
            dst,
            pages=PAGES_PER_STEP,
            progress=lambda _status, remaining, pages: progress(pages - remaining, pages),
        )
        src.execute("COMMIT")
        found = dst.execute("PRAGMA quick_check").fetchone()[0]
        if found != "ok":
            raise BackupError(f"the copy does not check out: {found}")
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        return total
    finally:
        dst.close()
        src.close()
