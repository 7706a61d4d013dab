"""Calls of one loop turn made as one: each asker gets its own result, a failure reaches every
asker of that call and no other, and the next turn is a call of its own. Loads of one key made
once at a time: the askers meanwhile share it, a failure reaches them all, an ask after
``forget`` loads anew."""

from __future__ import annotations

import asyncio

import pytest

from tidings.gathering import Gathering, SingleFlight


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


async def test_the_askers_of_a_key_meanwhile_share_its_one_load() -> None:
    loads: list[str] = []
    release = asyncio.Event()

    async def load(key: str) -> str:
        loads.append(key)
        await release.wait()
        return key.upper()

    flight = SingleFlight(load)
    askers = [asyncio.ensure_future(flight(key)) for key in ("a", "b", "a", "a")]
    await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(*askers) == ["A", "B", "A", "A"]
    assert loads == ["a", "b"]
    assert await flight("a") == "A"  # a load finished is not kept: the next ask loads again
    assert loads == ["a", "b", "a"]


async def test_a_failed_load_reaches_its_askers_and_the_next_ask_loads_again() -> None:
    outcomes = iter([ValueError("down"), "up"])

    async def load(key: str) -> str:
        await asyncio.sleep(0)
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    flight = SingleFlight(load)
    failed = await asyncio.gather(flight("k"), flight("k"), return_exceptions=True)
    assert [type(result) for result in failed] == [ValueError, ValueError]
    assert await flight("k") == "up"


async def test_an_asker_that_gives_up_leaves_the_load_to_the_others() -> None:
    release = asyncio.Event()

    async def load(key: str) -> str:
        await release.wait()
        return key

    flight = SingleFlight(load)
    impatient = asyncio.ensure_future(flight("k"))
    patient = asyncio.ensure_future(flight("k"))
    await asyncio.sleep(0.01)
    impatient.cancel()
    release.set()
    assert await patient == "k"
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_an_ask_after_forget_does_not_await_the_load_begun_before() -> None:
    versions = iter(["old", "new"])
    release = asyncio.Event()

    async def load(key: str) -> str:
        version = next(versions)
        await release.wait()
        return version

    flight = SingleFlight(load)
    before = asyncio.ensure_future(flight("k"))
    await asyncio.sleep(0.01)
    flight.forget("k")
    after = asyncio.ensure_future(flight("k"))
    await asyncio.sleep(0.01)
    release.set()
    assert (await before, await after) == ("old", "new")
