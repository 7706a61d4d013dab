"""Firing occurrences at their due time, once, also after a crash or beside other processes.

An occurrence fires by moving its row from ``pending`` to ``accepted`` (delivery takes accepted
tasks from there, sending the parent's messages and expiring them ExpiredSeconds after the
occurrence's time). The move is one transaction that also points the parent at its next
occurrence, or marks it finished when none is left, so the app's count of waiting pushes drops
the moment its last occurrence is done.

Never twice: the move only applies to rows still ``pending``, and on PostgreSQL due rows are
claimed with ``FOR UPDATE SKIP LOCKED``, so of several processes waking together each fires a
different share. A process that dies before its transaction commits leaves the rows ``pending``,
and whichever process runs next fires them. An occurrence that fell due while no process ran
fires late if its validity (ExpiredSeconds after its due time) has not run out; otherwise nobody
could receive it any more, and it is recorded ``skipped``.

One ``FiringLoop`` runs per server process. It sleeps until the earliest pending occurrence is due;
a push accepted in this process wakes it when it is due sooner. It cannot hear pushes accepted by
other processes (those processes fire them), so it only re-checks every ``recheck_seconds`` to take
over the occurrences of a process that has died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from sqlalchemy import Connection

from tidings.background import BackgroundLoop
from tidings.schedule.parents import settle
from tidings.store import schedules as store
from tidings.store.database import Database
from tidings.tasks import ACCEPTED, PENDING, SKIPPED, validity_end
from tidings.webhooks import outbox

log = logging.getLogger("tidings.schedule")

BATCH = 500  # occurrences moved per transaction
BUSY_SECONDS = 0.05  # how soon to look again at due rows another process holds
RETRY_SECONDS = 1.0  # how soon to try again after the database failed


class Firing(NamedTuple):
    """What one pass moved, and whether due occurrences were left for another pass."""

    fired: list[int]
    skipped: list[int]
    more: bool


def fire_due(conn: Connection, now_ms: int, limit: int = BATCH) -> Firing:
    """Fire (or skip) up to ``limit`` occurrences due by ``now_ms``, and settle their parents."""
    due = store.claim_due(conn, PENDING, now_ms, limit)
    live = [r.id for r in due if now_ms < validity_end(r.due_at, r.created_at, r.expired_seconds)]
    dead = [r.id for r in due if now_ms >= validity_end(r.due_at, r.created_at, r.expired_seconds)]
    fired = store.move(conn, live, PENDING, ACCEPTED)
    skipped = store.move(conn, dead, PENDING, SKIPPED)
    settle(conn, {row.parent_id for row in due})
    outbox.occurrences_fired(conn, fired, now_ms)
    return Firing(fired, skipped, len(due) == limit)


class FiringLoop:
    """The background task that fires due occurrences (see the module's docstring).

    Listing and cancelling occurrences is schedule/service.py's ``Occurrences``.
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], float] = time.time,
        recheck_seconds: float = 30.0,
        on_fired: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``on_fired`` is called once fired occurrences are committed (delivery's wake-up)."""
        self._db = db
        self._clock = clock
        self._recheck = recheck_seconds
        self._on_fired = on_fired
        self._wakeup = asyncio.Event()
        self._target: int | None = None  # the due time the loop sleeps towards
        self._loop = BackgroundLoop(self._run, "tidings-scheduler")

    def start(self) -> None:
        self._loop.start()

    async def aclose(self) -> None:
        await self._loop.stop()

    def wake(self, due_at: int) -> None:
        """A push accepted here is first due at ``due_at``: look again if that is sooner."""
        if self._target is None or due_at < self._target:
            self._wakeup.set()

    async def tick(self) -> float:
        """Fire what is due now; the seconds to wait before the next look."""
        self._target = None  # until the next due time is known, every wake-up counts
        now_ms = int(self._clock() * 1000)
        due = await self._db.read(store.next_due, PENDING)
        if due is not None and due <= now_ms:
            firing = await self._db.write(fire_due, now_ms)
            if firing.fired or firing.skipped:
                log.info(
                    "fired occurrences %s; skipped (validity over) %s",
                    _ids(firing.fired),
                    _ids(firing.skipped),
                )
            if firing.fired and self._on_fired is not None:
                await self._on_fired()
            if firing.more:
                return 0.0
            due = await self._db.read(store.next_due, PENDING)
        self._target = due
        if due is None:
            return self._recheck
        if due <= now_ms:  # another process holds them and is firing them right now
            return BUSY_SECONDS
        return min(max(0.0, due / 1000 - self._clock()), self._recheck)

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                delay = await self.tick()
            except Exception:
                log.exception("firing scheduled occurrences failed; trying again")
                delay = RETRY_SECONDS
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), delay)


def _ids(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids) or "none"
