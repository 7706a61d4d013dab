"""Calls of one turn of the event loop made as one.

Devices connect in storms: after an outage, or when an app launches, thousands a second, each
asking the same of the database or of Redis (its row, what it is owed, its presence). Asked one
device at a time, the fixed cost of each round trip (a statement built, a thread hand-off, a
command sent) is most of the work; asked for every device of a loop turn at once, it is paid
once. A ``Gathering`` collects what is asked during one turn and makes one call for all of it,
then gives each asker its own answer.
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
    handed in during the same loop turn.

    ``handle`` answers one result per item, in their order. If it fails, every item of the call
    gets its exception.
    """

    __slots__ = ("_handle", "_running", "_waiting")

    def __init__(self, handle: Callable[[list[Item]], Awaitable[Sequence[Result]]]) -> None:
        self._handle = handle
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._running: set[asyncio.Future[Any]] = set()  # held until done

    async def __call__(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._flush)
        future: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, future))
        return await future

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        try:
            call = self._handle([item for item, _ in waiting])
        except Exception as exc:
            for _, future in waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        done = asyncio.ensure_future(call)
        self._running.add(done)
        done.add_done_callback(self._running.discard)
        done.add_done_callback(functools.partial(_hand_out, waiting))


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
