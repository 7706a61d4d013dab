"""``/readyz``: whether this process should be sent traffic.

``/healthz`` says the process is alive (a liveness probe: restart it when this fails).
``/readyz`` says it can do its work: the database answers, its schema is the one this code
ships, Redis answers when one is configured, and the process is not draining for a stop. A
failing readiness probe takes the process out of a load balancer without restarting it, which
is what a database outage or a rolling upgrade calls for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from tidings.store.database import schema_is_current

if TYPE_CHECKING:
    from tidings.services import Services

CHECK_SECONDS = 2.0
T = TypeVar("T")


async def check(services: Services, draining: bool) -> dict[str, str]:
    """Each check's verdict: ``ok`` or what is wrong (never a secret: no URL is shown)."""
    current, failure = await _probe(services.db.read(schema_is_current))
    verdicts = {"database": failure or "ok"}
    if failure is None:
        verdicts["migrations"] = "ok" if current else "the schema is not this version's"
    if services.settings.redis_url is None:
        verdicts["redis"] = "not configured"
    else:
        verdicts["redis"] = (await _probe(services.broker.ping()))[1] or "ok"
    verdicts["draining"] = "yes: the server is stopping" if draining else "ok"
    return verdicts


def is_ready(verdicts: dict[str, str]) -> bool:
    return all(v in ("ok", "not configured") for v in verdicts.values())


async def _probe(probe: Awaitable[T]) -> tuple[T | None, str | None]:
    """What ``probe`` returned, or why it failed: the failure's kind, not its details."""
    try:
        return await asyncio.wait_for(probe, CHECK_SECONDS), None
    except TimeoutError:
        return None, f"no answer in {CHECK_SECONDS:g} s"
    except Exception as exc:
        return None, f"unreachable ({type(exc).__name__})"
