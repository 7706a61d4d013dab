"""Sending the SMS supplements that fall due, exactly once per message or not at all.

Every process runs a sender; they share the rows. A pass claims due rows in one transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the one writer on SQLite), decides each (arrived in
time, revoked, no phone number: settled there without an SMS) and marks the rest ``sending`` with
a lease before anything is sent; only once that is committed does it ask the provider, and then
records the answer. So no two processes, and no restart, ever send the same row twice.

The one gap is a process killed after the provider was asked and before the answer was recorded:
the row is still ``sending`` when its lease runs out, and nobody can tell whether the SMS went
out. It is then settled ``failed`` ("outcome unknown") and not sent again: the supplement is at
most once, since a second SMS costs the app money and annoys its user, where a missing one is
visible in the trace. The provider call itself is made once (no SDK retries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from tidings import metrics
from tidings.background import BackgroundLoop
from tidings.channels.app_configs import ChannelSettings
from tidings.channels.sms import NAME, Sms, SmsResult
from tidings.channels.sms.providers import SmsProviders
from tidings.contract import PushOptions
from tidings.secretbox import SecretBox
from tidings.store import sms as store
from tidings.store.database import Database
from tidings.supplement import FAILED, SENDING, SENT, SKIPPED, WAITING
from tidings.supplement.rules import settled_without_sending
from tidings.tasks import USER_TARGET

log = logging.getLogger("tidings.sms")

UNKNOWN = "outcome unknown: the sender stopped after asking the provider; not sent again"


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed supplement to send: its row, app, sealed phone number and the push's options."""

    pk: int
    app_pk: int
    phone: bytes
    options: PushOptions


class Sender:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        configs: ChannelSettings,
        providers: SmsProviders,
        *,
        poll_seconds: float = 1.0,
        lease_seconds: float = 60.0,
        batch_size: int = 50,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._box = box
        self._configs = configs
        self._providers = providers
        self._poll_seconds = poll_seconds
        self._lease_ms = int(lease_seconds * 1000)
        self._batch_size = batch_size
        self._clock = clock
        self._wake = asyncio.Event()
        self._loop = BackgroundLoop(self._run, "tidings-sms")

    def start(self) -> None:
        self._loop.start()

    async def wake(self) -> None:
        """A push was accepted: an SMS to send alongside it may be due now."""
        self._wake.set()

    async def aclose(self) -> None:
        await self._loop.stop()
        await self._providers.aclose()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def _run(self) -> None:
        while True:
            try:
                claimed = await self.send_due()
            except Exception:
                log.exception("sending SMS supplements failed; trying again shortly")
                claimed = 0
            if claimed < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
                self._wake.clear()

    async def send_due(self) -> int:
        """One pass: settle lapsed leases, claim and decide what is due, send; how many rows
        were claimed."""
        now_ms = self._now_ms()
        due = await self._db.read(store.next_due, WAITING, SENDING)
        if due is None or due > now_ms:
            return 0  # a read first: an idle sender takes no write lock
        claimed, jobs = await self._db.write(self._claim, now_ms)
        if jobs:
            results = await asyncio.gather(*(self._send(job) for job in jobs))
            await self._db.write(self._record, list(zip(jobs, results, strict=True)))
        return claimed

    def _claim(self, conn: Connection, now_ms: int) -> tuple[int, list[Job]]:
        lapsed = store.lapsed(conn, SENDING, now_ms)
        metrics.sms(FAILED, store.settle(conn, lapsed, SENDING, FAILED, UNKNOWN, now_ms))
        rows = store.claim(
            conn, WAITING, SENDING, now_ms, self._batch_size, now_ms + self._lease_ms
        )
        ends: dict[tuple[str, str], list[int]] = defaultdict(list)
        jobs: list[Job] = []
        for row in rows:
            end = settled_without_sending(
                row.strategy, bool(row.arrived), row.revoked_at is not None
            )
            phone = None
            if end is None:
                by_user = row.delivery_type == USER_TARGET
                phone = store.phone(conn, row.app_pk, by_user, row.target)
                if phone is None:
                    who = "user" if by_user else "device"
                    end = SKIPPED, f"no phone number bound with the {who} (PushBind PhoneNumber)"
            if end is not None:
                ends[end].append(row.pk)
            else:
                assert phone is not None
                jobs.append(Job(row.pk, row.app_pk, phone, PushOptions.from_json(row.options)))
        for (state, detail), pks in ends.items():
            metrics.sms(state, store.settle(conn, pks, SENDING, state, detail, now_ms))
        return len(rows), jobs

    async def _send(self, job: Job) -> SmsResult:
        config = (await self._configs.of_app(job.app_pk)).get(NAME)
        if config is None:
            return SmsResult(False, "the app has no SMS provider configured")
        options = job.options
        sms = Sms(
            phone=self._box.open(job.phone),
            sign_name=options.sms_sign_name or "",
            template_code=options.sms_template_code or "",
            template_param=options.sms_template_param,
            out_id=f"tidings-sms-{job.pk}",
        )
        try:
            return await self._providers.send(config, sms)
        except Exception as exc:  # the phone number is in ``sms``: log no more than the kind
            log.error("SMS provider %s failed: %s", config["provider"], type(exc).__name__)
            return SmsResult(False, f"{config['provider']}: {type(exc).__name__}")

    def _record(self, conn: Connection, results: list[tuple[Job, SmsResult]]) -> None:
        now_ms = self._now_ms()
        for job, result in results:
            state = SENT if result.sent else FAILED
            metrics.sms(state, store.settle(conn, [job.pk], SENDING, state, result.detail, now_ms))
