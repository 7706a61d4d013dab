"""The broker of a single process (the embedded SQLite setup): presence is a set in memory, and
there is no other process to poke."""

from __future__ import annotations

from collections.abc import Collection

from tidings.broker.base import PokeHandler


class MemoryBroker:
    shared = False

    def __init__(self) -> None:
        self._online: set[int] = set()

    async def start(self, on_poke: PokeHandler) -> None:
        pass

    async def ping(self) -> None:
        pass

    async def attach(self, device_pk: int) -> None:
        self._online.add(device_pk)

    async def detach(self, device_pk: int) -> None:
        self._online.discard(device_pk)

    async def online(self, device_pks: Collection[int]) -> set[int]:
        return self._online.intersection(device_pks)

    async def poke(self, device_pks: Collection[int]) -> None:
        pass  # a device not held here is not connected anywhere

    async def aclose(self) -> None:
        self._online.clear()
