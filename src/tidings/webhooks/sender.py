"""Sending what the outbox owes: claim due events, POST them in signed batches, record the result.

Every process runs a sender; they share the outbox. A pass claims due events in one
transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two processes never take the same
row) and leases them: their next attempt moves past the time this pass may take, so a process
killed mid-send leaves them due again when the lease runs out, and another process (or this
one, restarted) sends them. That is what makes delivery at least once; the event ids let the
receiver drop what it saw before.

Each endpoint's events go in batches of up to ``batch_size``, one request each: the first alone,
and only if the endpoint takes it the others side by side, so a dead endpoint costs one request a
pass. Endpoints are served side by side, so a slow one holds up only itself. A 2xx answer settles
the batch; anything else (or no answer within the timeout) moves it to its next attempt with
backoff, until the retry period runs out. The endpoint is marked failing from its first failure and
disabled once it has failed for ``disable_after`` without one success. Nothing here runs on a
push's path: the sender only reads and writes the outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Connection, Row

from tidings import metrics
from tidings.background import BackgroundLoop
from tidings.secretbox import SecretBox
from tidings.store import webhooks as store
from tidings.store.database import Database
from tidings.webhooks import events, signing
from tidings.webhooks.backoff import Backoff

log = logging.getLogger("tidings.webhooks")

RESPONSE_KEPT = 500  # characters of an answer's body kept with the attempt, for the console
USER_AGENT = "Tidings-Webhooks/1"


@dataclass(frozen=True)
class SenderSettings:
    batch_size: int = 50
    poll_seconds: float = 1.0
    timeout_seconds: float = 10.0
    backoff: Backoff = field(default_factory=Backoff)
    disable_after_seconds: float = 5 * 86400.0
    endpoints_per_pass: int = 20


class Sender:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        settings: SenderSettings,
        *,
        clock: Callable[[], float] = time.time,
        random_source: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._db = db
        self._box = box
        self._settings = settings
        self._clock = clock
        self._random = random_source
        self._transport = transport
        # Made for the first post: loading the CA roots takes a tenth of a second, which every
        # command that opens the services (and sends no webhook) would pay for nothing.
        self._client: httpx.AsyncClient | None = None
        self._loop = BackgroundLoop(self._run, "tidings-webhooks")

    def start(self) -> None:
        self._loop.start()

    async def aclose(self) -> None:
        await self._loop.stop()
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("sending webhooks failed; trying again shortly")
                sent = 0
            if not sent:
                await asyncio.sleep(self._settings.poll_seconds)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _lease_ms(self) -> int:
        """Long enough for a pass: an endpoint's first batch, then the rest side by side, each
        within the timeout, and the writes that record them."""
        return int((2 * self._settings.timeout_seconds + 5) * 1000)

    async def send_due(self) -> int:
        """One pass: claim due events, send them; how many were claimed."""
        s = self._settings
        now_ms = self._now_ms()
        # A read first: an idle sender would otherwise take the write lock (SQLite has one)
        # at every poll for nothing.
        due = await self._db.read(store.next_due)
        if due is None or due > now_ms:
            return 0
        rows = await self._db.write(
            store.claim_due,
            now_ms,
            s.batch_size * s.endpoints_per_pass,
            now_ms + self._lease_ms(),
        )
        if not rows:
            return 0
        by_endpoint: dict[int, list[Row]] = defaultdict(list)
        for row in rows:
            by_endpoint[row.endpoint_pk].append(row)
        endpoints = {e.pk: e for e in await self._db.read(store.endpoints_by_pk, list(by_endpoint))}
        await asyncio.gather(
            *(
                self._serve(endpoints[pk], owed)
                for pk, owed in by_endpoint.items()
                if pk in endpoints
            )
        )
        return len(rows)

    async def _serve(self, endpoint: Row, owed: list[Row]) -> None:
        """The first batch alone; if the endpoint took it, the rest side by side, else the rest
        waits for the endpoint's next attempt without a request of its own."""
        size = self._settings.batch_size
        batches = [owed[start : start + size] for start in range(0, len(owed), size)]
        if not await self.post(endpoint, batches[0]):
            if len(batches) > 1:
                await self._fail(endpoint.pk, None, owed[size:])
            return
        await asyncio.gather(*(self.post(endpoint, batch) for batch in batches[1:]))

    async def post(self, endpoint: Row, rows: Sequence[Row]) -> bool:
        """Send one batch and record how it went; whether the endpoint took it."""
        batch = [events.Stored(r.pk, r.event_type, r.payload, r.created_at) for r in rows]
        body = events.body(batch)
        msg_id = events.message_id(batch)
        secrets = json.loads(self._box.open(endpoint.secrets_ciphertext))
        started = self._clock()
        # The wall clock, whatever clock schedules the attempts: the receiver checks the
        # timestamp against its own to refuse replays.
        headers = signing.headers(secrets, msg_id, int(time.time()), body)
        headers.update({"content-type": "application/json", "user-agent": USER_AGENT})
        status_code: int | None = None
        response: str | None = None
        error: str | None = None
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._settings.timeout_seconds,
                transport=self._transport,
                follow_redirects=False,
            )
        try:
            answer = await self._client.post(endpoint.url, content=body, headers=headers)
            status_code, response = answer.status_code, answer.text[:RESPONSE_KEPT]
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:RESPONSE_KEPT]
        metrics.webhook_request(status_code)
        ok = status_code is not None and 200 <= status_code < 300
        attempt = {
            "endpoint_pk": endpoint.pk,
            "webhook_id": msg_id,
            "events": len(batch),
            "at": int(started * 1000),
            "status_code": status_code,
            "response": response,
            "error": error,
            "duration_ms": int((self._clock() - started) * 1000),
        }
        if ok:
            await self._db.write(_delivered, attempt, [r.pk for r in rows], self._now_ms())
            metrics.webhooks("delivered", len(rows))
        else:
            await self._fail(endpoint.pk, attempt, rows)
            log.warning(
                "webhook endpoint %d did not take %d events: %s",
                endpoint.pk,
                len(rows),
                status_code if status_code is not None else error,
            )
        return ok

    async def _fail(self, endpoint_pk: int, attempt: dict | None, rows: Sequence[Row]) -> None:
        """The batch waits for its next attempt, all of it at one time so it stays together
        (and keeps its webhook-id); events past their retry period are dropped."""
        backoff = self._settings.backoff
        now_ms = self._now_ms()
        attempts = max(r.attempts for r in rows) + 1
        retry_at = now_ms + backoff.delay_ms(attempts, self._random)
        disable_before = now_ms - int(self._settings.disable_after_seconds * 1000)
        dropped = [r.pk for r in rows if backoff.gives_up(r.created_at, now_ms)]
        retry = [r.pk for r in rows if not backoff.gives_up(r.created_at, now_ms)]
        await self._db.write(
            _failed, endpoint_pk, attempt, retry, dropped, (now_ms, retry_at, disable_before)
        )
        metrics.webhooks("retried", len(retry))
        metrics.webhooks("expired", len(dropped))


def _delivered(conn: Connection, attempt: dict, pks: Sequence[int], now_ms: int) -> None:
    if not store.endpoint_exists(conn, attempt["endpoint_pk"]):
        return  # removed while its batch was on the way; its events went with it
    store.add_attempt(conn, attempt)
    store.mark_delivered(conn, pks, now_ms)
    store.set_health(conn, attempt["endpoint_pk"], {"failing_since": None})


def _failed(
    conn: Connection,
    endpoint_pk: int,
    attempt: dict | None,
    retry: Sequence[int],
    dropped: Sequence[int],
    when: tuple[int, int, int],
) -> None:
    """Record a failed attempt (None: events left unsent behind one): ``retry`` due again
    later, ``dropped`` given up; the endpoint failing, and disabled if it has been failing
    for too long. ``when`` is what ``Sender._verdict`` says."""
    now_ms, retry_at, disable_before = when
    if not store.endpoint_exists(conn, endpoint_pk):
        return  # removed while its batch was on the way; its events went with it
    if attempt is not None:
        store.add_attempt(conn, attempt)
    store.reschedule(conn, retry, retry_at)
    store.give_up(conn, dropped)
    store.mark_failing(conn, endpoint_pk, now_ms, disable_before)
