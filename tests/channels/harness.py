"""A vendor channel wired for adapter tests: every delivery belongs to one app whose config is
given, and what falls back to the self-built channel is kept for the test to inspect."""

from __future__ import annotations

from collections.abc import Sequence

from tidings.channels.config import ChannelConfig
from tidings.channels.retry import Backoff
from tidings.channels.vendor import MakeSender, VendorChannel
from tidings.contract import Outbound

QUICK = Backoff(first=0.01, factor=2.0, cap=0.05, attempts=4)


class Harness:
    def __init__(self, name: str, make_sender: MakeSender, config: ChannelConfig | None) -> None:
        self.config = config
        self.fell_back: list[tuple[Outbound, bool]] = []

        async def configs_of(ids: Sequence[int]) -> dict[int, ChannelConfig]:
            return {i: self.config for i in ids} if self.config is not None else {}

        async def fallback(batch: Sequence[Outbound], forget: bool) -> None:
            self.fell_back.extend((out, forget) for out in batch)

        self.channel = VendorChannel(name, make_sender, configs_of, fallback, backoff=QUICK)
