"""Console operators: accounts, the workspaces granted to them, sign-in and sessions.

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on sign-in when those
defaults grow). A session is a random token in a cookie; the database keeps only its SHA-256, so
a copy of the database opens no session. Hashing takes tens of milliseconds of CPU on purpose,
so it runs in a worker thread, away from the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row
from sqlalchemy.exc import IntegrityError

from tidings.console.throttle import LoginLimits, wait_ms
from tidings.store import console as store
from tidings.store.database import Database

_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_WORKSPACE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
LIMITS = LoginLimits()
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


class AccountError(ValueError):
    """An account change that cannot be made, with the reason for the operator."""


class SignInRefused(Exception):
    """Wrong username or password (which of the two is not said), or too many attempts."""

    def __init__(self, message: str, retry_after_s: int = 0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Operator:
    pk: int
    username: str
    all_workspaces: bool
    workspaces: frozenset[str]
    created_at: int

    def may_see(self, workspace: str) -> bool:
        return self.all_workspaces or workspace in self.workspaces


@dataclass(frozen=True, slots=True)
class Session:
    operator: Operator
    csrf_token: str
    expires_at: int


class Accounts:
    def __init__(
        self,
        db: Database,
        *,
        session_seconds: int = 8 * 3600,
        limits: LoginLimits = LIMITS,
        clock: Callable[[], float] = time.time,
        hasher: PasswordHasher | None = None,
    ) -> None:
        """``hasher`` defaults to argon2-cffi's current recommendation; a stored hash made
        with weaker parameters is replaced on the next sign-in."""
        self._db = db
        self._session_ms = session_seconds * 1000
        self._limits = limits
        self._clock = clock
        self._hasher = hasher or PasswordHasher()

    @functools.cached_property
    def _decoy(self) -> str:
        """Verified against when the username is unknown, so both cases take as long."""
        return self._hasher.hash(secrets.token_urlsafe(16))

    @property
    def session_seconds(self) -> int:
        return self._session_ms // 1000

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def create(
        self, username: str, password: str, *, workspaces: Iterable[str] = (), everything: bool
    ) -> Operator:
        if not _USERNAME.fullmatch(username):
            raise AccountError(
                f"username {username!r} must be 1 to 64 letters, digits, '_', '.', '@' or '-'"
            )
        check_password(password)
        granted = sorted(set(workspaces))
        for workspace in granted:
            if not _WORKSPACE.fullmatch(workspace):
                raise AccountError(
                    f"workspace {workspace!r} must be 1 to 64 letters, digits, '_', '.' or '-'"
                )
        if not granted and not everything:
            raise AccountError(
                "grant at least one workspace (--workspace W) or all of them (--all)"
            )
        hashed = await asyncio.to_thread(self._hasher.hash, password)
        now = self._now_ms()
        try:
            pk = await self._db.write(
                store.insert_operator, username, hashed, everything, granted, now
            )
        except IntegrityError:
            raise AccountError(f"an operator named {username!r} already exists") from None
        return Operator(pk, username, everything, frozenset(granted), now)

    async def operators(self) -> list[Operator]:
        return await self._db.read(_operators)

    async def delete(self, username: str) -> None:
        if not await self._db.write(store.delete_operator, username):
            raise AccountError(f"no operator named {username!r}")

    async def sign_in(self, username: str, password: str, address: str) -> tuple[str, Session]:
        """A new session's cookie token and the session, or ``SignInRefused``."""
        now = self._now_ms()
        # The attempt is counted as a failure before the password is checked, in the same
        # transaction that reads the count: attempts made at once cannot all pass the limit.
        # A right password clears the username's count when the session starts.
        wait = await self._db.write(_admit, username[:64], address[:64], now, self._limits)
        if wait:
            seconds = -(-wait // 1000)
            raise SignInRefused(
                f"too many failed sign-ins; try again in {seconds} seconds", retry_after_s=seconds
            )
        row = await self._db.read(store.find_operator, username) if len(username) <= 64 else None
        stored = row.password_hash if row is not None else self._decoy
        fits = len(password) <= MAX_PASSWORD  # no longer one was ever accepted; skip the hashing
        if not fits or not await asyncio.to_thread(self._verify, stored, password) or row is None:
            raise SignInRefused("wrong username or password")
        if self._hasher.check_needs_rehash(stored):
            rehashed = await asyncio.to_thread(self._hasher.hash, password)
            await self._db.write(store.set_password_hash, row.pk, rehashed)
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        await self._db.write(_start_session, _digest(token), row.pk, csrf, now, self._session_ms)
        operator = await self._db.read(_operator, row.pk)
        assert operator is not None
        return token, Session(operator, csrf, now + self._session_ms)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    async def session(self, token: str | None) -> Session | None:
        """The live session a cookie's token opens, or None."""
        if not token or len(token) > 128:
            return None
        return await self._db.read(_session, _digest(token), self._now_ms())

    async def sign_out(self, token: str | None) -> None:
        if token and len(token) <= 128:
            await self._db.write(store.delete_session, _digest(token))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must have at most {MAX_PASSWORD} characters")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _admit(conn: Connection, username: str, address: str, now_ms: int, limits: LoginLimits) -> int:
    """Milliseconds to wait before another sign-in; 0 when this one may be tried, and is
    then counted."""
    store.lock_sign_ins(conn)
    since = now_ms - limits.window_ms
    user_failures, address_failures = store.recent_failures(conn, username, address, since)
    wait = wait_ms(user_failures, address_failures, now_ms, limits)
    if not wait:
        store.insert_failure(conn, username, address, now_ms, since)
    return wait


def _start_session(
    conn: Connection, token_hash: str, operator_pk: int, csrf: str, now_ms: int, ttl_ms: int
) -> None:
    store.clear_failures(conn, store.operator_by_pk(conn, operator_pk).username)
    store.insert_session(conn, token_hash, operator_pk, csrf, now_ms, ttl_ms)


def _operators(conn: Connection) -> list[Operator]:
    rows = store.list_operators(conn)
    granted = store.grants(conn, [row.pk for row in rows])
    return [_from_row(row, granted) for row in rows]


def _operator(conn: Connection, pk: int) -> Operator | None:
    row = store.operator_by_pk(conn, pk)
    return _from_row(row, store.grants(conn, [pk])) if row is not None else None


def _from_row(row: Row, granted: dict[int, set[str]]) -> Operator:
    return Operator(
        row.pk,
        row.username,
        bool(row.all_workspaces),
        frozenset(granted.get(row.pk, ())),
        row.created_at,
    )


def _session(conn: Connection, token_hash: str, now_ms: int) -> Session | None:
    row = store.find_session(conn, token_hash, now_ms)
    if row is None:
        return None
    operator = _operator(conn, row.operator_pk)
    return Session(operator, row.csrf_token, row.expires_at) if operator else None
