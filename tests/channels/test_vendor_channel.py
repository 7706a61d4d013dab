"""VendorChannel around any sender: its concurrency limit and the order of its outcomes."""

from __future__ import annotations

import asyncio

from tests.channels.harness import Harness
from tests.channels.outbound import outbound
from tests.fakes.credentials import apns_config
from tidings.channels.catalog import check_config
from tidings.channels.verdicts import ACCEPTED, Verdict
from tidings.contract import Outbound, Status


class _Counting:
    """A sender that takes every delivery after a moment, counting how many it holds at once."""

    def __init__(self) -> None:
        self.held = 0
        self.most = 0
        self.begun: list[int] = []

    async def attempt(self, out: Outbound) -> Verdict:
        self.begun.append(out.id)
        self.held += 1
        self.most = max(self.most, self.held)
        try:
            await asyncio.sleep(0.01 * (out.id % 3))
        finally:
            self.held -= 1
        return ACCEPTED

    def refresh(self) -> None: ...

    async def revoke(self, out: Outbound) -> Verdict:
        return ACCEPTED

    async def aclose(self) -> None: ...


async def test_a_batch_larger_than_the_limit_holds_to_it_and_keeps_its_order() -> None:
    sender = _Counting()
    config = check_config("apns", apns_config("https://apns.invalid", concurrency=3))
    harness = Harness("apns", lambda _: sender, config)
    batch = [outbound("apns", f"{n:064x}", platform="ios") for n in range(10)]
    batch.insert(4, outbound("apns", "", platform="ios"))  # no token: rerouted, not sent
    outcomes = await harness.channel.send(batch)
    assert sender.most == 3
    assert [(o.delivery_id, o.status) for o in outcomes] == [
        (out.id, Status.ACKED) for out in batch if out.device.third_token
    ]
    assert [(out.id, dead) for out, dead in harness.fell_back] == [(batch[4].id, True)]


async def test_a_cancelled_batch_begins_no_more_deliveries_and_frees_the_limit() -> None:
    sender = _Counting()
    config = check_config("apns", apns_config("https://apns.invalid", concurrency=2))
    harness = Harness("apns", lambda _: sender, config)
    batch = [outbound("apns", f"{n:064x}", platform="ios") for n in range(1, 8)]
    sending = asyncio.ensure_future(harness.channel.send(batch))
    await asyncio.sleep(0.005)
    sending.cancel()
    begun = len(sender.begun)
    await asyncio.sleep(0.05)
    assert sender.held == 0 and len(sender.begun) == begun < len(batch)
    assert len(await harness.channel.send(batch[:3])) == 3  # the limit was given back
    assert sender.most == 2


async def test_batches_at_once_share_the_limit_and_a_failing_job_fails_its_batch_only() -> None:
    sender = _Counting()
    config = check_config("apns", apns_config("https://apns.invalid", concurrency=4))
    harness = Harness("apns", lambda _: sender, config)
    batches = [[outbound("apns", f"{n:064x}", platform="ios") for n in range(6)] for _ in range(3)]
    broken = outbound("apns", "ff" * 32, platform="ios")
    attempt = sender.attempt

    async def failing(out: Outbound) -> Verdict:
        if out.id == broken.id:
            raise RuntimeError("a bug in the adapter")
        return await attempt(out)

    sender.attempt = failing  # type: ignore[method-assign]
    *answers, failed = await asyncio.gather(
        *(harness.channel.send(b) for b in batches),
        harness.channel.send([broken]),
        return_exceptions=True,
    )
    assert sender.most == 4
    assert [[o.delivery_id for o in a] for a in answers] == [[o.id for o in b] for b in batches]
    assert isinstance(failed, RuntimeError)
