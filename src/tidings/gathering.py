"""Calls of one turn of the event loop made as one.

Devices connect in storms: after an outage, or when an app launches, thousands a second, each
asking the same of the database or of Redis (its row, what it is owed, its presence). Asked one
device at a time, the fixed cost of each round trip (a statement built, a thread hand-off, a
command sent) is most of the work; asked for every device of a loop turn at once, it is paid
once. A ``Gathering`` makes one call for all that was asked, then gives each asker its own
answer. It makes one call at a time: what is asked while a call is under way waits for it to
end and goes in the next, so the busier the storm the larger each call, while a lone asker
waits for no more than the end of the loop turn.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Gathering(Generic[Item, Result]):
    """``await gathering(item)``: ``item``'s result of one ``handle(items)`` made for every item
    handed in since the last call began (at the end of this loop turn, or once the call under
    way ends).

    ``handle`` answers one result per item, in their order. If it fails, every item of the call
    gets its exception.
    """

    __slots__ = ("_call", "_handle", "_scheduled", "_waiting")

    def __init__(self, handle: Callable[[list[Item]], Awaitable[Sequence[Result]]]) -> None:
        self._handle = handle
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._call: asyncio.Future[Any] | None = None  # the call under way, held until done
        self._scheduled = False

    async def __call__(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if self._call is None and not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        future: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, future))
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        try:
            call = self._handle([item for item, _ in waiting])
        except Exception as exc:
            for _, future in waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        self._call = asyncio.ensure_future(call)
        self._call.add_done_callback(functools.partial(self._ended, waiting))

    def _ended(
        self, waiting: list[tuple[Any, asyncio.Future[Any]]], done: asyncio.Future[Any]
    ) -> None:
        self._call = None
        _hand_out(waiting, done)
        self._flush()  # what was asked meanwhile


def _hand_out(waiting: list[tuple[Any, asyncio.Future[Any]]], done: asyncio.Future[Any]) -> None:
    """Give each item its result, or the call's exception."""
    if done.cancelled():
        for _, future in waiting:
            future.cancel()
        return
    error = done.exception()
    results = done.result() if error is None else [None] * len(waiting)
    for (_, future), result in zip(waiting, results, strict=True):
        if future.done():
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
