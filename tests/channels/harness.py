"""A vendor channel wired for adapter tests: every delivery belongs to one app whose config is
given, and what the channel hands back to be rerouted over the self-built channel is kept for the
test to inspect (its other outcomes are returned, as delivery would record them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from tidings.channels.catalog import BY_NAME
from tidings.channels.retry import Backoff
from tidings.channels.vendor_channel import MakeSender, VendorChannel
from tidings.channels.vendor_config import ChannelConfig
from tidings.contract import Outbound, Outcome, Reroute

QUICK = Backoff(first=0.01, factor=2.0, cap=0.05, attempts=4)


class Harness:
    def __init__(self, name: str, make_sender: MakeSender, config: ChannelConfig | None) -> None:
        self.config = config
        self.fell_back: list[tuple[Outbound, bool]] = []  # (delivery, its token is dead)
        self.channel = _Settling(self, name, make_sender)

    async def for_deliveries(
        self, channel: str, batch: Sequence[Outbound]
    ) -> dict[int, ChannelConfig]:
        return {out.id: self.config for out in batch} if self.config is not None else {}


class _Settling:
    """The vendor channel, with rerouted deliveries taken out of its outcomes."""

    def __init__(self, harness: Harness, name: str, make_sender: MakeSender) -> None:
        vendor = replace(BY_NAME[name], senders=lambda: make_sender)
        self._harness = harness
        self._channel = VendorChannel(vendor, harness, backoff=QUICK)

    async def send(self, batch: Sequence[Outbound]) -> list[Outcome]:
        outcomes = await self._channel.send(batch)
        sent = {out.id: out for out in batch}
        self._harness.fell_back.extend(
            (sent[o.delivery_id], o.reroute is Reroute.DEAD_TOKEN)
            for o in outcomes
            if o.reroute is not None
        )
        return [o for o in outcomes if o.reroute is None]

    async def recall(self, device_pks, delivered) -> list[int]:
        """The ids of the deliveries the vendor did not take back."""
        return [kept.id for kept in await self._channel.recall(device_pks, delivered)]

    async def aclose(self) -> None:
        await self._channel.aclose()
