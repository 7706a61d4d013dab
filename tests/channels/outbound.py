"""Deliveries as delivery hands them to a channel, built directly for adapter tests."""

from __future__ import annotations

import itertools
import time

from tidings.contract import DeviceAddress, Outbound, Payload, PushOptions

_ids = itertools.count(1)


def outbound(
    channel: str,
    token: str,
    *,
    platform: str = "android",
    title: str = "Prize",
    content: str = "Hello Zhang San, congratulations on winning 200 yuan",
    uri: str | None = None,
    extended: dict[str, str] | None = None,
    expires_in: float = 600,
    **options,
) -> Outbound:
    delivery_id = next(_ids)
    return Outbound(
        delivery_id,
        channel,
        DeviceAddress(delivery_id, f"DT{delivery_id}", platform, channel, token),
        Payload(
            task_id=77,
            msg_key=f"mk{delivery_id}",
            title=title,
            content=content,
            uri=uri,
            extended_params=extended or {},
            expires_at=int((time.time() + expires_in) * 1000),
        ),
        PushOptions(**options),
    )
