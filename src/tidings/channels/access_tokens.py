"""Access tokens fetched once and shared until they expire (FCM, HMS, Honor, OPPO, vivo, and
APNs provider tokens).

Vendors throttle their token endpoints (Huawei: 1,000 a 5 minutes; vivo: 10 a second; Apple
treats a provider token renewed more often than every 20 minutes as abuse), so a token is fetched
by one caller while the others wait for it, reused until shortly before it expires, and replaced
early only when the vendor refuses it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Fetch = Callable[[], Awaitable[tuple[str, float]]]  # the token and its lifetime in seconds


class CachedToken:
    def __init__(
        self, fetch: Fetch, *, margin: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    def current(self) -> str | None:
        """The token, when one is held that is not due for renewal: a caller on every request
        (APNs) takes it without the coroutine ``get`` is, and calls ``get`` when this is None."""
        if self._token is not None and self._clock() < self._renew_at:
            return self._token
        return None

    async def get(self) -> str:
        token = self.current()
        if token is not None:
            return token
        async with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                token, lifetime = await self._fetch()
                self._token = token
                self._renew_at = self._clock() + max(lifetime - self._margin, lifetime / 2)
            return self._token

    def invalidate(self) -> None:
        """The vendor refused the current token: the next ``get`` fetches a new one."""
        self._renew_at = 0.0
