"""Calls of one loop turn made as one: each asker gets its own result, a failure reaches every
asker of that call and no other, and the next turn is a call of its own."""

from __future__ import annotations

import asyncio

import pytest

from tidings.gathering import Gathering


async def test_the_items_of_one_turn_are_one_call_and_each_gets_its_result() -> None:
    calls: list[list[int]] = []

    async def square(items: list[int]) -> list[int]:
        calls.append(items)
        await asyncio.sleep(0)
        return [i * i for i in items]

    gathering = Gathering(square)
    assert await asyncio.gather(*(gathering(i) for i in (3, 1, 2))) == [9, 1, 4]
    assert calls == [[3, 1, 2]]
    assert await gathering(5) == 25
    assert calls == [[3, 1, 2], [5]]


async def test_a_failed_call_fails_its_own_items_only() -> None:
    async def refuse_sevens(items: list[int]) -> list[int]:
        if 7 in items:
            raise ValueError("seven")
        return items

    gathering = Gathering(refuse_sevens)
    first = await asyncio.gather(gathering(1), gathering(7), return_exceptions=True)
    assert [type(result) for result in first] == [ValueError, ValueError]
    assert await gathering(2) == 2


async def test_an_asker_that_gives_up_leaves_the_others_their_answers() -> None:
    release = asyncio.Event()

    async def slow(items: list[int]) -> list[int]:
        await release.wait()
        return items

    gathering = Gathering(slow)
    impatient = asyncio.ensure_future(gathering(1))
    patient = asyncio.ensure_future(gathering(2))
    await asyncio.sleep(0.01)
    impatient.cancel()
    release.set()
    assert await patient == 2
    with pytest.raises(asyncio.CancelledError):
        await impatient
