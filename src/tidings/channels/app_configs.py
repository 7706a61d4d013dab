"""The vendor channels each app has configured: set, list, remove, and read for sending.

Configs hold vendor secrets, so they are sealed with the service's SecretBox before they reach the
database and opened only here. Vendor channels ask for their apps' configs on every batch; they
are cached for ``cache_seconds`` (like AccessKeys), which bounds how long a change made from the
command line, possibly in another process, takes to reach a running server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cachetools import TTLCache

from tidings.channels.catalog import BY_NAME, check_config
from tidings.channels.receipt_formats import check_receipt_url, with_public_receipt_url
from tidings.channels.vendor_config import ChannelConfig, ChannelConfigError
from tidings.contract import Outbound
from tidings.secretbox import SecretBox
from tidings.store import channel_configs as store
from tidings.store import tenancy as tenancy_store
from tidings.store.database import Database


@dataclass(frozen=True, slots=True)
class ConfiguredChannel:
    """One app's configuration of one channel, as listed: secrets left out, only the names of
    those it holds are given (a page shows them masked)."""

    workspace: str
    app_id: str
    channel: str
    public: dict
    updated_at: int
    secret_keys: tuple[str, ...] = ()


class ChannelSettings:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        clock: Callable[[], float] = time.time,
        cache_seconds: float = 1.0,
        public_url: str | None = None,
    ) -> None:
        self._db = db
        self._public_url = public_url
        self._box = box
        self._clock = clock
        self._cache: TTLCache[int, dict[str, ChannelConfig]] = TTLCache(
            maxsize=10_000, ttl=cache_seconds, timer=clock
        )

    async def set(
        self, workspace: str, app_id: str, channel: str, raw: str | dict, *, renew: bool = False
    ) -> ChannelConfig:
        """Check and store the app's configuration of ``channel``, replacing any earlier one.
        Keys the channel generated and keeps (Web Push's VAPID key pair) carry over from the
        earlier one unless given, or unless ``renew`` asks for new ones."""
        app_pk = await self._app_pk(workspace, app_id)
        previous = None
        if not renew:
            rows = await self._db.read(store.configs_of_app, app_pk)
            found = [r.config_ciphertext for r in rows if r.channel == channel]
            previous = self._open(channel, found[0]).values if found else None
        config = check_config(channel, raw, previous)
        vendor = BY_NAME.get(channel)  # None for sms, which is configured like a channel
        if vendor and any(key.name == "receipt_url" for key in vendor.config.keys):
            config = with_public_receipt_url(config, workspace, app_id, self._public_url)
        check_receipt_url(config, workspace, app_id)
        sealed = self._box.seal(config.to_json())
        await self._db.write(store.put_config, app_pk, channel, sealed, int(self._clock() * 1000))
        self._cache.pop(app_pk, None)
        return config

    async def remove(self, workspace: str, app_id: str, channel: str) -> None:
        app_pk = await self._app_pk(workspace, app_id)
        if not await self._db.write(store.delete_config, app_pk, channel):
            raise ChannelConfigError(f"app {app_id!r} has no {channel} channel configured")
        self._cache.pop(app_pk, None)

    async def listed(self) -> list[ConfiguredChannel]:
        listed = []
        for row in await self._db.read(store.list_configs):
            config = self._open(row.channel, row.config_ciphertext)
            held = tuple(sorted(key for key in config.secrets if key in config.values))
            listed.append(
                ConfiguredChannel(
                    row.workspace, row.app_id, row.channel, config.public(), row.updated_at, held
                )
            )
        return listed

    async def of_app(self, app_pk: int) -> dict[str, ChannelConfig]:
        """The app's configured channels by name (cached briefly)."""
        try:
            return self._cache[app_pk]
        except KeyError:
            pass
        rows = await self._db.read(store.configs_of_app, app_pk)
        configs = {row.channel: self._open(row.channel, row.config_ciphertext) for row in rows}
        self._cache[app_pk] = configs
        return configs

    async def for_deliveries(
        self, channel: str, batch: Sequence[Outbound]
    ) -> dict[int, ChannelConfig]:
        """The configuration of ``channel`` each delivery's app has, by delivery id (none for
        a delivery whose app has not configured it).

        A delivery's app is its task's, so the apps are read for the batch's few tasks (a
        PushMultiple's 100 deliveries share one), not for each delivery: by delivery id, even
        through the driver, the read cost the reader thread ~1 µs a delivery on SQLite (3.7
        through SQLAlchemy; bench/outcome_cpu.py's ``configs``)."""
        task_ids = list({out.payload.task_id for out in batch})
        apps = await self._db.read(store.apps_of_tasks, task_ids)
        configs = {
            app_pk: (await self.of_app(app_pk)).get(channel) for app_pk in set(apps.values())
        }
        found = {}
        for out in batch:
            app_pk = apps.get(out.payload.task_id)
            config = None if app_pk is None else configs[app_pk]
            if config is not None:
                found[out.id] = config
        return found

    def _open(self, channel: str, ciphertext: bytes) -> ChannelConfig:
        return check_config(channel, self._box.open(ciphertext))

    async def _app_pk(self, workspace: str, app_id: str) -> int:
        row = await self._db.read(tenancy_store.find_app, workspace, app_id)
        if row is None:
            raise ChannelConfigError(f"no app {app_id!r} in workspace {workspace!r}")
        return row.pk
