"""Calls of one turn of the event loop made as one; loads of one key made once at a time.

Devices connect in storms: after an outage, or when an app launches, thousands a second, each
asking the same of the database or of Redis (its row, what it is owed, its presence). Asked one
device at a time, the fixed cost of each round trip (a statement built, a thread hand-off, a
command sent) is most of the work; asked for every device of a loop turn at once, it is paid
once. A ``Gathering`` makes one call for all that was asked, then gives each asker its own
answer. It makes one call at a time: what is asked while a call is under way waits for it to
end and goes in the next, so the busier the storm the larger each call, while a lone asker
waits for no more than the end of the loop turn.

A cached value read on every call (a template, an AccessKey) lapses for every caller at once:
under load, dozens of calls then miss the cache in the same instant, and each would read the
same row again. A ``SingleFlight`` makes one load of a key at a time, which every caller of
that key awaits.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Key = TypeVar("Key")
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


class SingleFlight(Generic[Key, Result]):
    """``await flight(key)``: the result of ``load(key)``, one load of a key under way at a
    time: who asks for a key while its load is under way awaits that load's result (or its
    exception) instead of starting another. An asker that gives up leaves the load to the
    others.

    With a ``cache`` (a TTLCache, say), a key it holds is answered from it, and a load's result
    is kept in it, unless the key was forgotten while the load ran: what was read before a
    change never overwrites it. Without one, a load finished is forgotten."""

    __slots__ = ("_cache", "_flying", "_load")

    def __init__(
        self,
        load: Callable[[Key], Awaitable[Result]],
        cache: MutableMapping[Key, Result] | None = None,
    ) -> None:
        self._load = load
        self._cache = cache
        self._flying: dict[Key, asyncio.Future[Result]] = {}

    async def __call__(self, key: Key) -> Result:
        if self._cache is not None:
            try:
                return self._cache[key]
            except KeyError:
                pass
        flying = self._flying.get(key)
        if flying is None:
            flying = self._flying[key] = asyncio.ensure_future(self._load(key))
            flying.add_done_callback(functools.partial(self._landed, key))
        return await asyncio.shield(flying)

    def forget(self, key: Key) -> None:
        """The key changed: who asks from now on starts a load of their own, not awaiting one
        that may have read it before the change, nor its cached result."""
        self._flying.pop(key, None)
        if self._cache is not None:
            self._cache.pop(key, None)

    def _landed(self, key: Key, done: asyncio.Future[Result]) -> None:
        if self._flying.get(key) is not done:
            return  # forgotten while it ran
        del self._flying[key]
        if self._cache is not None and not done.cancelled() and done.exception() is None:
            self._cache[key] = done.result()


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
