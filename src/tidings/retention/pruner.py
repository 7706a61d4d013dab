"""The pruning loop one server process runs: every ``sweep_seconds``, delete the finished work
(webhook events settled and attempts made before then too), the analytics counters older
than the policy keeps, the Live Activity registrations that outlived any activity and the
push-to-start tokens no device renewed, then give
SQLite's free pages back.

Deletes go in small writes (``batch_rows`` rows each) through the shared group commit, so the
calls being accepted meanwhile wait for at most one small batch, never for a whole sweep; how
long each batch held the writer is measured and shown on /metrics. Finding the work is a read,
off the writer. With several processes on PostgreSQL each may prune: deleting rows another
process already deleted deletes nothing, so they only share the work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from tidings import metrics
from tidings.background import BackgroundLoop
from tidings.retention.policy import RetentionPolicy
from tidings.store import live_activities as activity_store
from tidings.store import retention as store
from tidings.store import webhooks as webhook_store
from tidings.store.database import Database

log = logging.getLogger("tidings.retention")

TASKS_PER_READ = 50
VACUUM_PAGES = 1024  # 4 MiB of free pages handed back per step


@dataclass
class Sweep:
    """What one sweep deleted, and the longest one batch held the writer (seconds)."""

    tasks: int = 0
    rows: int = 0
    counters: int = 0
    longest_batch: float = 0.0
    free_pages_left: int = 0


class Pruner:
    def __init__(
        self,
        db: Database,
        policy: RetentionPolicy,
        *,
        clock: Callable[[], float] = time.time,
        sweep_seconds: float = 60.0,
        batch_rows: int = 500,
    ) -> None:
        self._db = db
        self._policy = policy
        self._clock = clock
        self._sweep_seconds = sweep_seconds
        self._batch_rows = batch_rows
        self._loop = BackgroundLoop(self._run, "tidings-retention")

    def start(self) -> None:
        self._loop.start()

    async def aclose(self) -> None:
        await self._loop.stop()

    async def _run(self) -> None:
        while True:
            try:
                done = await self.sweep()
            except Exception:
                log.exception("pruning failed; trying again at the next sweep")
            else:
                if done.rows or done.counters:
                    log.info(
                        "pruned %d tasks (%d rows) and %d counter rows; longest batch %.1f ms",
                        done.tasks,
                        done.rows,
                        done.counters,
                        done.longest_batch * 1000,
                    )
            await asyncio.sleep(self._sweep_seconds)

    async def sweep(self) -> Sweep:
        """Prune everything due for pruning now."""
        now_ms = int(self._clock() * 1000)
        done = Sweep()
        due_before = self._policy.work_due_before(now_ms)
        while ids := await self._db.read(store.finished_tasks, due_before, now_ms, TASKS_PER_READ):
            while deleted := await self._batch(done, store.delete_tasks_part, ids):
                done.rows += deleted
            done.tasks += len(ids)
        while deleted := await self._batch(done, webhook_store.delete_settled, due_before):
            done.rows += deleted
        # Live Activity lifetimes are real time, not the policy's day length
        ended_before = now_ms - activity_store.ACTIVITY_LIFETIME_MS
        while deleted := await self._batch(done, activity_store.delete_stale, ended_before):
            done.rows += deleted
        unrenewed_before = now_ms - activity_store.START_TOKEN_LIFETIME_MS
        while deleted := await self._batch(
            done, activity_store.delete_stale_start_tokens, unrenewed_before
        ):
            done.rows += deleted
        counters_before = self._policy.counters_before(now_ms)
        while deleted := await self._batch(done, store.delete_old_counters, counters_before):
            done.counters += deleted
        metrics.pruned(done.rows, done.counters)
        if done.rows or done.counters:
            done.free_pages_left = await self._reclaim()
        return done

    async def _batch(self, done: Sweep, work: Callable[..., int], *args: Any) -> int:
        deleted, held = await self._db.write(_timed, work, *args, self._batch_rows)
        done.longest_batch = max(done.longest_batch, held)
        metrics.prune_batch(held)
        return deleted

    async def _reclaim(self) -> int:
        """Give free pages back (SQLite) until none is left or no more can be given."""
        left = await self._db.reclaim_space(VACUUM_PAGES)
        while left:
            now_left = await self._db.reclaim_space(VACUUM_PAGES)
            if now_left >= left:  # a database made before auto_vacuum: see operations.md
                break
            left = now_left
        return left


def _timed(conn: Connection, work: Callable[..., int], *args: Any) -> tuple[int, float]:
    """Run ``work`` in the writer's transaction; its result and how long it took."""
    started = time.perf_counter()
    result = work(conn, *args)
    return result, time.perf_counter() - started
