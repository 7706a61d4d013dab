"""Managing an app's webhook endpoints: add, list, remove, rotate secrets, test, replay.

The command line and the console both call this. Signing secrets are sealed with the secret box
before they reach the database and shown once, when made.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import Connection, Row

from tidings.secretbox import SecretBox
from tidings.store import webhooks as store
from tidings.store.database import Database
from tidings.webhooks import events, signing
from tidings.webhooks.sender import Sender

MAX_URL = 2000


class WebhookError(ValueError):
    """A request about endpoints that cannot be done; the message names the field."""


@dataclass(frozen=True)
class Endpoint:
    pk: int
    url: str
    events: list[str]
    enabled: bool
    failing_since: int | None
    created_at: int
    secrets_in_force: int
    owed: dict[str, int]  # outbox events by state


@dataclass(frozen=True)
class Attempt:
    webhook_id: str
    events: int
    at: int
    status_code: int | None
    response: str | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def check_url(url: str) -> str:
    url = url.strip()
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise WebhookError(f"url: not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise WebhookError("url: must be an http:// or https:// URL with a host")
    if len(url) > MAX_URL:
        raise WebhookError(f"url: longer than {MAX_URL} characters")
    return url


class Webhooks:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        sender: Sender,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._box = box
        self.sender = sender
        self._clock = clock

    def now(self) -> float:
        """The time on the clock the endpoints' events are stamped by."""
        return self._clock()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def add(
        self, app_pk: int, url: str, event_types: str, secret: str | None = None
    ) -> tuple[int, str]:
        """A new endpoint; its pk and its signing secret (made here unless given)."""
        row = {
            "app_pk": app_pk,
            "url": check_url(url),
            "events": ",".join(_types(event_types)),
            "secrets_ciphertext": self._seal([_secret(secret) if secret else signing.new_secret()]),
            "enabled": True,
            "failing_since": None,
            "created_at": self._now_ms(),
        }
        pk = await self._db.write(store.insert_endpoint, row)
        return pk, json.loads(self._box.open(row["secrets_ciphertext"]))[0]

    async def endpoints(self, app_pk: int) -> list[Endpoint]:
        return await self._db.read(_endpoints, app_pk, self._box)

    async def endpoint(self, app_pk: int, pk: int) -> Endpoint:
        for found in await self.endpoints(app_pk):
            if found.pk == pk:
                return found
        raise WebhookError(f"endpoint: no endpoint {pk} in this app")

    async def remove(self, app_pk: int, pk: int) -> None:
        if not await self._db.write(store.delete_endpoint, app_pk, pk):
            raise WebhookError(f"endpoint: no endpoint {pk} in this app")

    async def enable(self, app_pk: int, pk: int) -> None:
        await self._row(app_pk, pk)
        await self._db.write(store.set_health, pk, {"enabled": True, "failing_since": None})

    async def rotate(self, app_pk: int, pk: int) -> str:
        """A new secret, signing beside the current one until ``retire`` drops the old."""
        row = await self._row(app_pk, pk)
        current = json.loads(self._box.open(row.secrets_ciphertext))
        new = signing.new_secret()
        sealed = self._seal([new, current[0]])
        await self._db.write(store.set_health, pk, {"secrets_ciphertext": sealed})
        return new

    async def retire(self, app_pk: int, pk: int) -> None:
        """End a rotation: only the newest secret signs from now on."""
        row = await self._row(app_pk, pk)
        current = json.loads(self._box.open(row.secrets_ciphertext))
        await self._db.write(store.set_health, pk, {"secrets_ciphertext": self._seal(current[:1])})

    async def test(self, app_pk: int, pk: int) -> Attempt:
        """Send a ``webhook.test`` event to the endpoint now; how the attempt went."""
        row = await self._row(app_pk, pk)
        now_ms = self._now_ms()
        payload = events.data(task_id=None, time=now_ms)
        event = await self._db.write(_test_event, pk, payload, now_ms)
        await self.sender.post(row, [event])
        return (await self.attempts(app_pk, pk, 1))[0]

    async def replay(self, app_pk: int, pk: int, since_ms: int) -> int:
        """Send again every event of the endpoint made since ``since_ms`` that is still kept;
        how many."""
        await self._row(app_pk, pk)
        return await self._db.write(store.requeue, pk, since_ms, self._now_ms())

    async def attempts(self, app_pk: int, pk: int, limit: int = 20) -> list[Attempt]:
        await self._row(app_pk, pk)
        rows = await self._db.read(store.recent_attempts, pk, limit)
        return [
            Attempt(r.webhook_id, r.events, r.at, r.status_code, r.response, r.error, r.duration_ms)
            for r in rows
        ]

    async def _row(self, app_pk: int, pk: int) -> Row:
        row = await self._db.read(store.endpoint, app_pk, pk)
        if row is None:
            raise WebhookError(f"endpoint: no endpoint {pk} in this app")
        return row

    def _seal(self, secrets: Sequence[str]) -> bytes:
        return self._box.seal(json.dumps(list(secrets)))


def _types(text: str) -> list[str]:
    try:
        return events.parse_types(text)
    except events.EventTypeError as exc:
        raise WebhookError(str(exc)) from None


def _secret(secret: str) -> str:
    try:
        signing.key_of(secret)
    except signing.SecretError as exc:
        raise WebhookError(f"secret: {exc}") from None
    return secret


def _endpoints(conn: Connection, app_pk: int, box: SecretBox) -> list[Endpoint]:
    return [
        Endpoint(
            row.pk,
            row.url,
            row.events.split(","),
            row.enabled,
            row.failing_since,
            row.created_at,
            len(json.loads(box.open(row.secrets_ciphertext))),
            store.counts_by_state(conn, row.pk),
        )
        for row in store.endpoints_of(conn, app_pk)
    ]


def _test_event(conn: Connection, endpoint_pk: int, payload: str, now_ms: int) -> Row:
    """A test event in the outbox, leased to the caller, who sends it at once."""
    row = {
        "endpoint_pk": endpoint_pk,
        "event_type": events.TEST,
        "msg_key": None,
        "payload": payload,
        "created_at": now_ms,
    }
    return store.add_event(conn, row, lease_until=now_ms + 60_000)
