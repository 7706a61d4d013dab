"""The loop a service runs in the background while the process serves.

Several services (delivery's dispatcher, the firing loop, retention's pruner, the webhook sender,
revocation's recall sweep) each run one endless loop; they start it once the event loop runs and
cancel it on shutdown, waiting for it to end so nothing is left writing after the database
closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any


class BackgroundLoop:
    def __init__(self, run: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        self._run = run
        self._name = name
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Cancel the loop and wait until it has ended; stopping twice is harmless."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
