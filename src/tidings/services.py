"""The domain services one process runs, opened together on one database: the composition root
of the domain.

Everything is built here once, in one go, the channels included: the self-built channel (which
reaches devices through the broker until the process's gateway hands it its connections) and
every vendor channel the catalog registers. The edges (the OpenAPI endpoint, the console, the
device gateway) and the command line are handed the finished ``Services``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from tidings.analytics.reports import Reports
from tidings.analytics.service import Analytics
from tidings.broker.base import Broker
from tidings.broker.memory import MemoryBroker
from tidings.channels import catalog
from tidings.channels.app_configs import ChannelSettings
from tidings.channels.selfbuilt import SelfBuiltChannel
from tidings.channels.sms.providers import SmsProviders
from tidings.channels.vendor_channel import VendorChannel
from tidings.config import Settings
from tidings.contract import Channel
from tidings.delivery.service import Delivery
from tidings.devices.service import Devices
from tidings.push.models import PushLimits
from tidings.push.service import Pushes
from tidings.retention.policy import RetentionPolicy
from tidings.retention.pruner import Pruner
from tidings.revoke.service import Revocations
from tidings.schedule.firing import FiringLoop
from tidings.schedule.service import Occurrences
from tidings.secretbox import SecretBox
from tidings.store.database import Database
from tidings.supplement.sender import Sender as SmsSender
from tidings.templates.service import Templates
from tidings.tenancy.service import Tenancy
from tidings.webhooks.backoff import Backoff
from tidings.webhooks.sender import Sender, SenderSettings
from tidings.webhooks.service import Webhooks


@dataclass
class Services:
    settings: Settings
    db: Database
    tenancy: Tenancy
    templates: Templates
    pushes: Pushes
    channel_configs: ChannelSettings  # the vendor channels each app configured
    broker: Broker
    selfbuilt: SelfBuiltChannel  # the gateway hands it this process's device connections
    delivery: Delivery
    devices: Devices
    occurrences: Occurrences
    firing_loop: FiringLoop  # started by the server (app.py), not by the command line
    pruner: Pruner  # likewise
    revocations: Revocations  # its recall sweep is started by the server (app.py)
    analytics: Analytics
    reports: Reports  # the console's task and analytics pages
    channels: dict[str, Channel]  # every channel this process runs, by name
    webhooks: Webhooks  # its sender is started by the server (app.py)
    sms: SmsSender  # the SMS supplement's sender, likewise

    @classmethod
    async def open(cls, settings: Settings, *, clock: Callable[[], float] = time.time) -> Services:
        """Open the database, bring its schema up to date and build the services on it."""
        db = Database(settings.database)
        try:
            await asyncio.to_thread(db.migrate)
            box = SecretBox.load(
                settings.secret_key.get_secret_value() if settings.secret_key else None,
                settings.data_dir,
            )
            tenancy = Tenancy(db, box, clock=clock, cache_seconds=settings.key_cache_seconds)
            await tenancy.check_secret_key()
            box.keep()
        except BaseException:
            await db.aclose()
            raise
        templates = Templates(
            db,
            max_per_app=settings.max_templates_per_app,
            clock=clock,
            cache_seconds=settings.key_cache_seconds,
        )
        limits = PushLimits(
            max_expired_seconds=settings.max_expired_seconds,
            max_payload_bytes=settings.max_payload_bytes,
            max_scheduled_tasks=settings.max_scheduled_tasks_per_app,
        )
        broker = _broker(settings)
        configs = ChannelSettings(
            db,
            box,
            clock=clock,
            cache_seconds=settings.key_cache_seconds,
            public_url=settings.public_url,
        )
        selfbuilt = SelfBuiltChannel(broker)
        channels: dict[str, Channel] = {selfbuilt.name: selfbuilt}
        for vendor in catalog.REGISTERED:
            channels[vendor.name] = VendorChannel(vendor, configs, clock=clock)
        delivery = Delivery(
            db,
            channels,
            selfbuilt.owed,
            clock=clock,
            sweep_seconds=settings.delivery_sweep_seconds,
            batch_rows=settings.retention_batch_rows,
        )
        firing_loop = FiringLoop(db, clock=clock, on_fired=delivery.tasks_ready)
        sms = SmsSender(
            db, box, configs, SmsProviders(), poll_seconds=settings.sms_poll_seconds, clock=clock
        )

        async def accepted(sms_wanted: bool) -> None:
            await delivery.tasks_ready()
            if sms_wanted:
                await sms.wake()

        pushes = Pushes(
            db,
            templates,
            limits,
            clock=clock,
            on_accepted=accepted,
            on_scheduled=firing_loop.wake,
            sms_delay_seconds=settings.sms_supplement_delay_seconds,
        )
        devices = Devices(db, broker, delivery, box, configs, clock=clock)
        await devices.seal_plain_phone_numbers()
        return cls(
            settings=settings,
            db=db,
            tenancy=tenancy,
            templates=templates,
            pushes=pushes,
            channel_configs=configs,
            broker=broker,
            selfbuilt=selfbuilt,
            delivery=delivery,
            devices=devices,
            occurrences=Occurrences(db),
            firing_loop=firing_loop,
            pruner=Pruner(
                db,
                RetentionPolicy.of(settings),
                clock=clock,
                sweep_seconds=settings.retention_sweep_seconds,
                batch_rows=settings.retention_batch_rows,
            ),
            revocations=Revocations(
                db,
                channels,
                clock=clock,
                sweep_seconds=settings.delivery_sweep_seconds,
                lease_seconds=settings.recall_lease_seconds,
            ),
            analytics=Analytics(db, clock=clock),
            reports=Reports(db),
            channels=channels,
            webhooks=Webhooks(
                db, box, Sender(db, box, _sender_settings(settings), clock=clock), clock=clock
            ),
            sms=sms,
        )

    async def aclose(self) -> None:
        await self.webhooks.sender.aclose()
        await self.sms.aclose()
        await self.pruner.aclose()
        await self.revocations.aclose()
        await self.firing_loop.aclose()
        await self.delivery.aclose()
        for channel in self.channels.values():
            await channel.aclose()
        await self.broker.aclose()
        await self.db.aclose()


def _sender_settings(settings: Settings) -> SenderSettings:
    return SenderSettings(
        batch_size=settings.webhook_batch_size,
        poll_seconds=settings.webhook_poll_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
        backoff=Backoff(
            base_seconds=settings.webhook_backoff_seconds,
            cap_seconds=settings.webhook_backoff_cap_seconds,
            retry_seconds=settings.webhook_retry_seconds,
        ),
        disable_after_seconds=settings.webhook_disable_seconds,
    )


def _broker(settings: Settings) -> Broker:
    """Redis when configured (a cluster's nodes reach each other's devices through it), else
    this process's memory. The Redis client is imported only then: it is a twentieth of a
    second of every start-up that does not use it."""
    if not settings.redis_url:
        return MemoryBroker()
    from tidings.broker.redis import RedisBroker

    return RedisBroker(
        settings.redis_url, prefix=settings.redis_prefix, timeout=settings.redis_timeout_seconds
    )
