"""The one interface every channel implements, and what it reports back.

A channel gets batches of deliveries and answers with the outcomes it knows at once: a vendor
gateway's acceptance (status 2) or its error code, or "try again at" for a transient failure.
A delivery it reports nothing about stays pending: the self-built channel reports nothing,
because its outcome is the device's acknowledgement, which arrives later over the connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from tidings.delivery.models import Outbound


class Outcome(NamedTuple):
    delivery_id: int
    status: int  # a delivery.status.Status value or a vendor error code
    reason: str | None = None  # the vendor's own words, kept for the message trace
    retry_at: int | None = None  # epoch ms; with status PENDING, send it again from then on


class Channel(Protocol):
    name: str  # the value routing picks and deliveries.channel stores ("selfbuilt", "apns", ...)

    async def send(self, batch: Sequence[Outbound]) -> Sequence[Outcome]:
        """Send the batch; the outcomes known now (an empty list is fine)."""
        ...

    async def aclose(self) -> None: ...
