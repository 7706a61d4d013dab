"""A vendor as Tidings knows it (``Vendor``), and the channel every vendor shares around its own
protocol module (``VendorChannel``).

Each vendor module declares one ``Vendor``: its names and numbers in MPS's vocabulary, the
routing facts about it, its configuration and its sender. channels/catalog.py registers them;
everything else that needs to know about vendors derives it from there.

A vendor module's ``Sender`` (one per app configuration: its credentials, its access token, its
connections) makes one request per ``attempt`` and reads the answer into a ``Verdict``.
``VendorChannel`` does the rest once for all vendors: it finds each delivery's app configuration,
keeps a sender per configuration (a changed configuration gets a new one), holds each sender to
its concurrency limit, retries, and turns verdicts into the outcomes delivery records. A delivery
the vendor cannot take (the device's token is dead, or the app no longer has the channel) comes
back as an outcome asking to be rerouted; delivery sends it over the self-built channel instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Protocol

from tidings import logs
from tidings.channels import lanes
from tidings.channels.receipt_formats import ReceiptFormat
from tidings.channels.retry import DEFAULT_BACKOFF, Backoff, send_with_retries
from tidings.channels.vendor_config import ChannelConfig, ConfigSchema
from tidings.channels.verdicts import ACCEPTED, Verdict
from tidings.contract import NotRecalled, Outbound, Outcome, Reroute, Status, maker

log = logging.getLogger("tidings.channels")


class Sender(Protocol):
    async def attempt(self, out: Outbound) -> Verdict:
        """One request for one delivery, its answer read into a verdict (never raises for
        the vendor's or the network's failures)."""
        ...

    def refresh(self) -> None:
        """The vendor refused the access token: fetch a new one before the next request."""
        ...

    async def revoke(self, out: Outbound) -> Verdict:
        """Ask the vendor to take back a delivery it took (only vendors that recall)."""
        ...

    async def aclose(self) -> None: ...


MakeSender = Callable[[ChannelConfig], Sender]

# An accepted delivery's outcome, made of all its fields (contract.maker: 1,000 instructions
# fewer than Outcome's own constructor, once per delivery sent)
_outcome = maker(Outcome)

# The Android vendors' tokens: HarmonyOS devices run Android apps, vendor SDKs included.
ANDROID_DEVICES = ("android", "harmonyos")


class Transparent(Enum):
    """What a vendor does with a transparent (pass-through) message."""

    NONE = "none"  # nothing: such messages take the self-built channel
    DATA_MESSAGE = "data_message"  # a data message, when the call has a payload for the vendor
    BACKGROUND = "background"  # a background push, always (APNs's content-available)


@dataclass(frozen=True, slots=True)
class Vendor:
    """Everything Tidings knows about one vendor; its module declares it once."""

    name: str  # the channel's name: routing, deliveries.channel, `tidings channels set --channel`
    third_channel: int  # PushReport's ThirdChannel number (MPS publishes none; Tidings' own)
    manufacturer: str  # PushQueryDeviceState's Manufacturer label of a device with its token
    analytics_channel: str  # the Channel label MPS's analytics filter by
    platform: str  # the platform of the devices it delivers to
    token_platforms: tuple[str, ...]  # the platforms whose devices may report its token
    transparent: Transparent
    config: ConfigSchema
    senders: Callable[[], MakeSender]  # called once per process (APNs's senders share links)
    # Its status codes: 2100 + 100 * n plus a verdicts.Failure; None for APNs, whose reasons
    # take the codes MPS documents.
    status_block: int | None = None
    live_activities: bool = False  # it carries iOS Live Activity updates (DeliveryType 5, 6)
    # It carries a Live Activity update or end to a device's own token (a HarmonyOS live view).
    live_views: bool = False
    # The keys naming it in ThirdChannelCategory, NotifyLevel and TransparentMessagePayload,
    # when not just its name.
    option_keys: tuple[str, ...] = ()
    # How it reports what became of its messages (channels/receipt_formats.py); None: it does not.
    receipts: ReceiptFormat | None = None
    recalls: bool = False  # it takes back a message it delivered (its Sender's ``revoke``)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.option_keys or (self.name,)


class AppConfigs(Protocol):
    async def for_deliveries(
        self, channel: str, batch: Sequence[Outbound]
    ) -> dict[int, ChannelConfig]:
        """The configuration of ``channel`` each delivery's app has, by delivery id (none for
        a delivery whose app has not configured it)."""
        ...


class VendorChannel:
    recall_asks_vendor = True

    def __init__(
        self,
        vendor: Vendor,
        configs: AppConfigs,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = vendor.name
        # Revocation marks what this vendor took revoked and asks it back; without recall, what
        # the vendor accepted stays with it (Unrecallable).
        self.can_recall = vendor.recalls
        self._make_sender = vendor.senders()
        self._configs = configs
        self._backoff = backoff
        self._clock = clock
        self._senders: dict[str, tuple[Sender, lanes.Lane]] = {}

    async def send(self, batch: Sequence[Outbound]) -> list[Outcome]:
        configs = await self._configs.for_deliveries(self.name, batch)
        # a batch's deliveries share a few configurations: each is looked up once (its key is
        # its JSON, which cost a few µs per delivery when built for each)
        distinct = {id(config): config for config in configs.values()}
        by_config = {key: self._sender(config) for key, config in distinct.items()}
        outcomes: list[Outcome | None] = []
        work: list[tuple[lanes.Lane, lanes.Job[Outcome]]] = []
        for out in batch:
            config = configs.get(out.id)
            if config is None:
                outcomes.append(Outcome(out.id, Status.PENDING, reroute=Reroute.UNCONFIGURED))
            elif not out.device.third_token:
                outcomes.append(Outcome(out.id, Status.PENDING, reroute=Reroute.DEAD_TOKEN))
            else:
                sender, lane = by_config[id(config)]
                outcomes.append(None)
                work.append((lane, partial(self._send_one, out, sender)))
        sent = iter(await lanes.run(work))
        return [next(sent) if outcome is None else outcome for outcome in outcomes]

    async def _send_one(self, out: Outbound, sender: Sender) -> Outcome:
        verdict = await sender.attempt(out)
        # Nearly every send is accepted at once. Its status is read from the verdict: a read of
        # Status.ACKED, an enum member, costs 0.1-0.2 µs on Python 3.11.
        if verdict is ACCEPTED:
            return _outcome((out.id, verdict.status, None, None, None, False))
        settled = await send_with_retries(
            lambda: sender.attempt(out),
            expires_at=out.payload.expires_at / 1000,
            refresh=sender.refresh,
            backoff=self._backoff,
            clock=self._clock,
            first=verdict,
        )
        verdict = settled.verdict
        if verdict.dead_token and out.device.pk is None:
            # a Live Activity token that died: no device can take the delivery instead
            return Outcome(out.id, verdict.status, verdict.reason, dead_token=True)
        if verdict.dead_token:
            return Outcome(out.id, Status.PENDING, verdict.reason, reroute=Reroute.DEAD_TOKEN)
        if settled.retry_at is not None:
            retry_at = int(settled.retry_at * 1000)
            return Outcome(out.id, Status.PENDING, verdict.reason, retry_at)
        if not verdict.ok:
            log.info(
                "%s refused delivery %d: %s",
                self.name,
                out.id,
                verdict.reason,
                extra=logs.about(out.payload),
            )
        return Outcome(out.id, verdict.status, verdict.reason)

    def _sender(self, config: ChannelConfig) -> tuple[Sender, lanes.Lane]:
        """The configuration's sender, and the lane that holds it to its concurrency."""
        key = config.to_json()
        found = self._senders.get(key)
        if found is None:
            found = (self._make_sender(config), lanes.Lane(config["concurrency"]))
            self._senders[key] = found
        return found

    async def recall(
        self, device_pks: Collection[int], delivered: Sequence[Outbound] = ()
    ) -> list[NotRecalled]:
        """Ask the vendor to take back each delivery it took; those it would not, could not be
        asked to (the app's configuration is gone), or could not be reached for (a transient
        failure: ``unreached``, to be asked again later). Deliveries still waiting for this
        vendor need nothing: revoked, they are never sent."""
        if not delivered:
            return []
        configs = await self._configs.for_deliveries(self.name, delivered)
        kept: list[NotRecalled] = []
        work: list[tuple[lanes.Lane, lanes.Job[NotRecalled | None]]] = []
        for out in delivered:
            config = configs.get(out.id)
            if config is None:
                kept.append(NotRecalled(out.id, Status.ACKED, f"{self.name} is not configured"))
            elif not out.device.third_token:
                kept.append(NotRecalled(out.id, Status.ACKED, "the device's token is gone"))
            else:
                sender, lane = self._sender(config)
                work.append((lane, partial(self._recall_one, out, sender)))
        kept.extend(found for found in await lanes.run(work) if found is not None)
        return kept

    async def _recall_one(self, out: Outbound, sender: Sender) -> NotRecalled | None:
        """One request (no retries here: a recall the vendor could not be reached for is
        asked again by the recall sweep, so an outage holds no revocation's answer, and not
        before the vendor's Retry-After, which the verdict carries as a send's does)."""
        verdict = await sender.revoke(out)
        if verdict.reauth:  # the token went stale since the last send: once more
            sender.refresh()
            verdict = await sender.revoke(out)
        if verdict.ok:
            return None
        what = "could not be reached to recall" if verdict.retry else "would not recall"
        log.info("%s %s delivery %d: %s", self.name, what, out.id, verdict.reason)
        return NotRecalled(
            out.id,
            verdict.status,
            verdict.reason,
            unreached=verdict.retry,
            retry_after=verdict.retry_after if verdict.retry else None,
        )

    async def aclose(self) -> None:
        senders, self._senders = self._senders, {}
        for sender, _ in senders.values():
            await sender.aclose()
