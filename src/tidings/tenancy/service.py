"""Tenancy: creating apps and AccessKeys, and answering the per-request lookups quickly.

The endpoint asks for an AccessKey and an app on every call; both are cached for a second or so
(``key_cache_seconds``), which bounds how long a key disabled from the command line, possibly in
another process, keeps working.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import string
import time
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cachetools import TTLCache
from sqlalchemy import Connection, Row
from sqlalchemy.exc import IntegrityError

from tidings.errors import Code, FieldPath, ServiceError
from tidings.gathering import SingleFlight
from tidings.secretbox import SecretBox
from tidings.store import meta as meta_store
from tidings.store import tenancy as store
from tidings.store.database import Database
from tidings.tenancy.models import DEFAULT_TIMEZONE, AccessKey, App

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_KEY_ALPHABET = string.ascii_letters + string.digits
_SECRET_CHECK = "secret_check"


class TenancyError(ValueError):
    """A tenancy change that cannot be made, with the reason for the operator; ``path`` names
    the argument at fault (``("app_id",)``), empty when it is none in particular."""

    def __init__(self, message: str, path: FieldPath = ()) -> None:
        super().__init__(message)
        self.path = path


class Tenancy:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        clock: Callable[[], float] = time.time,
        cache_seconds: float = 1.0,
    ) -> None:
        self._db = db
        self._box = box
        self._clock = clock
        # Cached; when a key lapses, the calls that miss it together share one read.
        self._keys: SingleFlight[str, tuple[AccessKey, str] | None] = SingleFlight(
            self._read_credentials, TTLCache(maxsize=10_000, ttl=cache_seconds, timer=clock)
        )
        self._apps: TTLCache[tuple[str, str], App | None] = TTLCache(
            maxsize=10_000, ttl=cache_seconds, timer=clock
        )

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def check_secret_key(self) -> None:
        """Refuse to run with a secret key other than the one the database was sealed with."""
        sealed = await self._db.read(meta_store.get_meta, _SECRET_CHECK)
        if sealed is None:
            # Processes starting together on one new PostgreSQL database race to seal it: the
            # loser reads the winner's seal and checks its own key against it.
            with contextlib.suppress(IntegrityError):
                await self._db.write(_put_once, _SECRET_CHECK, self._box.seal("tidings").decode())
            sealed = await self._db.read(meta_store.get_meta, _SECRET_CHECK)
        self._box.open(sealed.encode())

    async def create_app(
        self,
        workspace: str,
        app_id: str,
        tenant_id: str | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> App:
        _check_name("workspace", workspace, "workspace")
        _check_name("app id", app_id, "app_id")
        if tenant_id is not None:
            _check_name("tenant id", tenant_id, "tenant_id")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise TenancyError(
                f"unknown time zone {timezone!r} (use an IANA name)", ("timezone",)
            ) from None
        values = {
            "app_id": app_id,
            "tenant_id": tenant_id,
            "timezone": timezone,
            "created_at": self._now_ms(),
        }
        try:
            pk = await self._db.write(store.insert_app, workspace, values)
            return App(pk=pk, workspace=workspace, **values)
        except IntegrityError:
            raise TenancyError(
                f"app {app_id!r} already exists in workspace {workspace!r}", ("app_id",)
            ) from None

    async def apps(self) -> list[App]:
        return [App.from_row(row) for row in await self._db.read(store.list_apps)]

    async def create_key(
        self, workspace: str, app_ids: Iterable[str] = (), read_only: bool = False
    ) -> tuple[AccessKey, str]:
        """A new AccessKey and its secret; the secret is shown to the caller once, here."""
        wanted = sorted(set(app_ids))
        known = {a.app_id: a for a in await self.apps() if a.workspace == workspace}
        if not known:
            raise TenancyError(
                f"workspace {workspace!r} has no apps; create one first with "
                f"'tidings apps create --workspace {workspace} --app-id APP'",
                ("workspace",),
            )
        unknown = [a for a in wanted if a not in known]
        if unknown:
            raise TenancyError(
                f"no app {', '.join(unknown)} in workspace {workspace!r}", ("app_ids",)
            )
        access_key_id = "TID" + _random(21)
        secret = _random(30)
        now = self._now_ms()
        values = {
            "access_key_id": access_key_id,
            "secret_ciphertext": self._box.seal(secret),
            "read_only": read_only,
            "active": True,
            "created_at": now,
        }
        pk = await self._db.write(
            store.insert_key, workspace, [known[a].pk for a in wanted], values
        )
        key = AccessKey(pk, access_key_id, workspace, frozenset(wanted), read_only, True, now)
        return key, secret

    async def keys(self) -> list[AccessKey]:
        return await self._db.read(_keys_with_scopes)

    async def set_key_active(self, access_key_id: str, active: bool) -> None:
        if not await self._db.write(store.set_key_active, access_key_id, active):
            raise TenancyError(f"no AccessKey {access_key_id!r}")
        self._keys.forget(access_key_id)

    async def delete_key(self, access_key_id: str) -> None:
        if not await self._db.write(store.delete_key, access_key_id):
            raise TenancyError(f"no AccessKey {access_key_id!r}")
        self._keys.forget(access_key_id)

    async def credentials(self, access_key_id: str) -> tuple[AccessKey, str] | None:
        """The key and its secret, for checking a signature."""
        return await self._keys(access_key_id)

    async def _read_credentials(self, access_key_id: str) -> tuple[AccessKey, str] | None:
        found = await self._db.read(_key_with_secret, access_key_id)
        value = None
        if found is not None:
            key, ciphertext = found
            value = (key, self._box.open(ciphertext))
        return value

    async def resolve_app(
        self, workspace: str | None, app_id: str | None, tenant_id: str | None
    ) -> App:
        """The app a call names, or the MPS code that says why there is none."""
        if not workspace or not app_id:
            raise ServiceError(Code.NEED_APPID_WORKSPACEID, "AppId and WorkspaceId are required")
        cache_key = (workspace, app_id)
        try:
            app = self._apps[cache_key]
        except KeyError:
            # One read for every call or device that asks while it is under way (gathering.py).
            row = await self._db.read_together(store.find_app_each, cache_key)
            app = App.from_row(row) if row else None
            self._apps[cache_key] = app
        if app is None:
            raise ServiceError(
                Code.INVALID_INSTANCE_ID,
                f"no app {app_id!r} in workspace {workspace!r} (check AppId and WorkspaceId)",
            )
        if tenant_id and app.tenant_id and tenant_id != app.tenant_id:
            raise ServiceError(
                Code.INVALID_TENANT_ID,
                f"TenantId {tenant_id!r} is not the tenant of app {app_id!r}",
            )
        return app


def _access_key(row: Row, scopes: dict[int, set[str]]) -> AccessKey:
    return AccessKey(
        pk=row.pk,
        access_key_id=row.access_key_id,
        workspace=row.workspace,
        app_ids=frozenset(scopes.get(row.pk, ())),
        read_only=bool(row.read_only),
        active=bool(row.active),
        created_at=row.created_at,
    )


def _keys_with_scopes(conn: Connection) -> list[AccessKey]:
    rows = store.list_keys(conn)
    scopes = store.key_scopes(conn, [row.pk for row in rows])
    return [_access_key(row, scopes) for row in rows]


def _key_with_secret(conn: Connection, access_key_id: str) -> tuple[AccessKey, bytes] | None:
    row = store.find_key(conn, access_key_id)
    if row is None:
        return None
    return _access_key(row, store.key_scopes(conn, [row.pk])), row.secret_ciphertext


def _put_once(conn: Connection, name: str, value: str) -> None:
    if meta_store.get_meta(conn, name) is None:
        meta_store.put_meta(conn, name, value)


def _check_name(what: str, value: str, field: str) -> None:
    if not _NAME.fullmatch(value):
        raise TenancyError(
            f"{what} {value!r} must be 1 to 64 letters, digits, '_', '.' or '-'", (field,)
        )


def _random(length: int) -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(length))
