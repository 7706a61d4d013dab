"""A vendor's recall survives its asker stopping, on SQLite and PostgreSQL through the services:
a revocation stopped after its pages and before the vendor's answer is written (the process
died, the call failed) leaves what the vendor was to take back delivered and still being asked,
with no delivery.revoked event and nothing counted; revoking again asks again and counts what
the vendor answered, and so does the recall sweep once the asker's lease has run out. What a
device holds over the self-built channel is recalled in the page, as before. The answers are
written a page at a time too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, select

from tests.channels.harness import Harness
from tests.console.conftest import Clock
from tests.fakes.harmonyos import FakeHarmony
from tests.revoke.test_pages import Paused
from tests.support.rows import one_push, subscribed
from tidings.channels import harmonyos
from tidings.channels.catalog import check_config
from tidings.config import RECALL_LEASE_SECONDS, Settings
from tidings.contract import SELFBUILT, NotRecalled, Outbound, Status
from tidings.revoke.rules import RecallAnswer, RevokeResult
from tidings.revoke.service import Revocations
from tidings.services import Services
from tidings.store.tables import deliveries, delivery_events, devices, webhook_outbox

STOPPED = "the process stopped before the vendor's answer was written"


class Vendor:
    """A vendor channel that offers recall: it takes back what it is asked but ``refuse``, or
    fails as a dying process would (``fail``)."""

    name = "hms"
    can_recall = True
    recall_asks_vendor = True

    def __init__(self, refuse: Collection[int] = ()) -> None:
        self.refuse = set(refuse)
        self.fail = False
        self.down = False  # cannot be reached: every recall but the refused ones unanswered
        self.asked: list[list[int]] = []

    async def recall(
        self, device_pks: Collection[int], delivered: Sequence[Outbound] = ()
    ) -> list[NotRecalled]:
        self.asked.append([out.id for out in delivered])
        if self.fail:
            raise RuntimeError(STOPPED)
        return [
            NotRecalled(out.id, 2105, "80300007 All the tokens are invalid")
            for out in delivered
            if out.id in self.refuse
        ] + [
            NotRecalled(out.id, 2107, "503 Service Unavailable", unreached=True)
            for out in delivered
            if self.down and out.id not in self.refuse
        ]

    async def aclose(self) -> None:
        pass


# (id, channel) of each delivery of the push, every one delivered: two a vendor that recalls
# accepted, one a device holds over the self-built channel, one a vendor that cannot recall took
MADE = [(1, "hms"), (2, "hms"), (3, SELFBUILT), (4, "oppo")]


def delivered(services: Services, now_ms: int, vendor: str = "hms") -> None:
    """MADE's deliveries, ``vendor`` in place of ``hms``."""
    made = [(pk, vendor if channel == "hms" else channel) for pk, channel in MADE]
    with services.db.engine.begin() as conn:
        one_push(conn, action="PushSimple", delivery_type=1, now=now_ms)
        conn.execute(
            insert(devices),
            [
                {"pk": pk, "app_pk": 1, "token": f"d{pk}", "platform": "android"}
                | {"manufacturer": channel, "third_token": f"t{pk}", "created_at": 0}
                for pk, channel in made
            ],
        )
        conn.execute(
            insert(deliveries),
            [
                {"id": pk, "task_id": 1, "message_pk": 1, "app_pk": 1, "device_pk": pk}
                | {"channel": channel, "status": Status.ACKED, "attempts": 1}
                | {"created_at": now_ms, "expires_at": now_ms + 600_000, "updated_at": now_ms}
                for pk, channel in made
            ],
        )
        subscribed(conn, "delivery.revoked")


def states(conn: Connection) -> list[tuple[int, bool]]:
    """(status, being asked back) of each delivery, in id order."""
    query = select(deliveries.c.status, deliveries.c.recall_due_at.is_not(None))
    return [tuple(row) for row in conn.execute(query.order_by(deliveries.c.id))]


def revoked_events(conn: Connection) -> list[str]:
    """The channel of each delivery.revoked event written, in order."""
    rows = conn.execute(select(webhook_outbox.c.payload).order_by(webhook_outbox.c.pk))
    return [json.loads(payload)["channel"] for (payload,) in rows]


@pytest.fixture
def vendor() -> Vendor:
    return Vendor(refuse={2})


@pytest.fixture
async def stopped(services: Services, clock: Clock, vendor: Vendor) -> Revocations:
    """A push whose revocation stopped after its pages, while its vendor was being asked."""
    delivered(services, int(clock() * 1000))
    revocations = Revocations(
        services.db, {SELFBUILT: services.selfbuilt, "hms": vendor}, clock=clock
    )
    vendor.fail = True
    with pytest.raises(RuntimeError, match=STOPPED):
        await revocations.revoke_task(1, "1")
    vendor.fail = False
    assert vendor.asked == [[1, 2]]
    return revocations


ASKED = (Status.ACKED, True)
LEFT = (Status.ACKED, False)
REVOKED = (Status.REVOKED, False)


async def test_a_recall_left_unanswered_is_not_recalled_and_revoking_again_asks_again(
    services: Services, stopped: Revocations, vendor: Vendor
) -> None:
    assert await services.db.read(states) == [ASKED, ASKED, REVOKED, LEFT]
    assert await services.db.read(revoked_events) == [SELFBUILT]  # none for the vendor's yet
    again = await stopped.revoke_task(1, "1")
    assert vendor.asked[1:] == [[1, 2]]
    # 1 taken back; 2 refused and 4 out of reach; 3 was recalled by the first call
    assert again == RevokeResult(recalled=1, unrecallable=2)
    assert await services.db.read(states) == [REVOKED, LEFT, REVOKED, LEFT]
    assert await services.db.read(revoked_events) == [SELFBUILT, "hms"]


async def test_the_sweep_asks_again_once_the_asker_s_lease_ran_out(
    services: Services, stopped: Revocations, vendor: Vendor, clock: Clock
) -> None:
    clock.now += RECALL_LEASE_SECONDS - 1
    assert await stopped.sweep_recalls() == RecallAnswer(())  # the asker may be alive
    assert await services.db.read(states) == [ASKED, ASKED, REVOKED, LEFT]
    clock.now += 1
    answer = await stopped.sweep_recalls()
    assert (answer.agreed, [kept.id for kept in answer.refused]) == ((1,), [2])
    assert vendor.asked[1:] == [[1, 2]]
    assert await services.db.read(states) == [REVOKED, LEFT, REVOKED, LEFT]
    assert await services.db.read(revoked_events) == [SELFBUILT, "hms"]
    clock.now += RECALL_LEASE_SECONDS
    assert await stopped.sweep_recalls() == RecallAnswer(())  # nothing left to ask
    assert len(vendor.asked) == 2


async def test_the_answers_are_written_a_page_at_a_time(services: Services, clock: Clock) -> None:
    delivered(services, int(clock() * 1000))
    db = Paused(services.db, lambda _: asyncio.sleep(0))
    channels = {SELFBUILT: services.selfbuilt, "hms": Vendor()}
    revocations = Revocations(db, channels, clock=clock, page_rows=1)  # type: ignore[arg-type]
    assert await revocations.revoke_task(1, "1") == RevokeResult(recalled=3, unrecallable=1)
    # the first transaction, a page for each of the 4 deliveries, the 2 answers one each
    assert db.writes == 1 + 4 + 2
    assert await services.db.read(states) == [REVOKED, REVOKED, REVOKED, LEFT]


class FailingSecond(Vendor):
    """A vendor whose second batch of recalls fails as a dying process would."""

    async def recall(
        self, device_pks: Collection[int], delivered: Sequence[Outbound] = ()
    ) -> list[NotRecalled]:
        self.fail = len(self.asked) == 1
        return await super().recall(device_pks, delivered)


async def test_a_vendor_is_asked_a_page_at_a_time_each_page_s_answers_written_first(
    services: Services, clock: Clock
) -> None:
    """The vendor is asked page_rows recalls at a time, and what it answered to a batch is
    written before the next is asked: a process that dies on the second batch leaves the
    first taken back and only the second to ask again."""
    delivered(services, int(clock() * 1000))
    vendor = FailingSecond()
    channels = {SELFBUILT: services.selfbuilt, "hms": vendor}
    revocations = Revocations(services.db, channels, clock=clock, page_rows=1)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match=STOPPED):
        await revocations.revoke_task(1, "1")
    assert vendor.asked == [[1], [2]]
    assert await services.db.read(states) == [REVOKED, ASKED, REVOKED, LEFT]
    assert await services.db.read(revoked_events) == [SELFBUILT, "hms"]


def recall_events(conn: Connection) -> list[tuple[int, str, int, str]]:
    """(delivery, what the vendor answered, status, words) of each recall event, in order."""
    query = select(
        delivery_events.c.delivery_id,
        delivery_events.c.recall,
        delivery_events.c.status,
        delivery_events.c.reason,
    ).where(delivery_events.c.recall.is_not(None))
    return [tuple(row) for row in conn.execute(query.order_by(delivery_events.c.pk))]


def due_at(conn: Connection, delivery_id: int) -> int | None:
    query = select(deliveries.c.recall_due_at).where(deliveries.c.id == delivery_id)
    return conn.execute(query).scalar_one()


REFUSED = (2, "refused", 2105, "80300007 All the tokens are invalid")
UNREACHED = (1, "unreached", 2107, "503 Service Unavailable")


async def test_a_vendor_that_cannot_be_reached_is_asked_again_until_it_answers(
    services: Services, clock: Clock, vendor: Vendor
) -> None:
    """Not reached, a recall stays asked (counted unrecallable in the answer, which keeps its
    shape) and the sweep asks again a minute later, then at doubling intervals; the vendor back,
    it is recalled as any agreement is."""
    start = int(clock() * 1000)
    delivered(services, start)
    revocations = Revocations(
        services.db, {SELFBUILT: services.selfbuilt, "hms": vendor}, clock=clock
    )
    vendor.down = True
    answer = await revocations.revoke_task(1, "1")
    assert answer == RevokeResult(recalled=1, unrecallable=3, asking_again=1)
    assert answer.to_data() == '{"Withdrawn":0,"Recalled":1,"Unrecallable":3,"Cancelled":0}'
    assert await services.db.read(states) == [ASKED, LEFT, REVOKED, LEFT]
    assert await services.db.read(due_at, 1) == start + 60_000
    assert await services.db.read(recall_events) == [REFUSED, UNREACHED]
    assert await services.db.read(revoked_events) == [SELFBUILT]

    clock.now += 59
    assert await revocations.sweep_recalls() == RecallAnswer(())  # not due yet
    clock.now += 1
    again = await revocations.sweep_recalls()
    assert (again.agreed, [kept.id for kept in again.unreached]) == ((), [1])
    # a minute since it was first asked: asked again a minute later, then two, four...
    assert await services.db.read(due_at, 1) == start + 120_000
    clock.now += 60
    await revocations.sweep_recalls()
    assert await services.db.read(due_at, 1) == start + 240_000
    assert vendor.asked == [[1, 2], [1], [1]]
    assert await services.db.read(recall_events) == [REFUSED, UNREACHED]  # once, not per retry

    vendor.down = False
    clock.now += 120
    assert await revocations.sweep_recalls() == RecallAnswer((1,))
    assert await services.db.read(states) == [REVOKED, LEFT, REVOKED, LEFT]
    assert await services.db.read(revoked_events) == [SELFBUILT, "hms"]
    assert await revocations.revoke_task(1, "1") == RevokeResult(unrecallable=2)  # 2 asked again


async def test_a_recall_not_reached_is_asked_at_most_hourly_and_given_up_after_7_days(
    services: Services, clock: Clock, vendor: Vendor
) -> None:
    start = int(clock() * 1000)
    delivered(services, start)
    revocations = Revocations(
        services.db, {SELFBUILT: services.selfbuilt, "hms": vendor}, clock=clock
    )
    vendor.down = True
    await revocations.revoke_task(1, "1")
    clock.now += 5 * 3600  # the vendor is still down 5 hours later
    await revocations.sweep_recalls()
    assert await services.db.read(due_at, 1) == int(clock() * 1000) + 3_600_000
    clock.now = start / 1000 + 7 * 86_400 - 1800  # within an hour of the 7 days' end
    await revocations.sweep_recalls()
    # the next ask would fall after the delivery could be revoked at all: given up
    assert await services.db.read(states) == [LEFT, LEFT, REVOKED, LEFT]
    events = await services.db.read(recall_events)
    assert events == [REFUSED, UNREACHED, (1, "given_up", 2107, "503 Service Unavailable")]
    vendor.down = False
    clock.now += 3600
    assert await revocations.sweep_recalls() == RecallAnswer(())  # no longer asked


async def test_a_recall_too_late_to_ask_again_is_not_counted_as_asked_again(
    services: Services, clock: Clock, vendor: Vendor
) -> None:
    delivered(services, int(clock() * 1000))
    revocations = Revocations(
        services.db, {SELFBUILT: services.selfbuilt, "hms": vendor}, clock=clock
    )
    clock.now += 7 * 86_400 - 30  # revoked 30 s before the 7 days end: no minute left
    vendor.down = True
    answer = await revocations.revoke_task(1, "1")
    assert answer == RevokeResult(recalled=1, unrecallable=3, asking_again=0)
    assert await services.db.read(states) == [LEFT, LEFT, REVOKED, LEFT]
    events = await services.db.read(recall_events)
    assert events == [REFUSED, (1, "given_up", 2107, "503 Service Unavailable")]


async def test_the_lease_is_the_recall_lease_seconds_setting(
    database_url: str | None, tmp_path: Path, clock: Clock, vendor: Vendor
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, recall_lease_seconds=30)
    services = await Services.open(settings, clock=clock)
    try:
        delivered(services, int(clock() * 1000))
        services.channels["hms"] = vendor  # type: ignore[assignment]
        vendor.fail = True
        with pytest.raises(RuntimeError, match=STOPPED):
            await services.revocations.revoke_task(1, "1")
        vendor.fail = False
        clock.now += 29
        assert await services.revocations.sweep_recalls() == RecallAnswer(())
        clock.now += 1
        answer = await services.revocations.sweep_recalls()
        assert answer.agreed == (1,)
    finally:
        await services.aclose()


@pytest.fixture(scope="module")
def push_kit() -> Iterator[FakeHarmony]:
    running = FakeHarmony().start()
    yield running
    running.stop()


@pytest.mark.parametrize(
    ("retry_after", "waited"),
    [("7200", 7200), ("5", 60), (None, 60)],
    ids=["longer than the backoff", "shorter", "none"],
)
async def test_a_recall_out_of_reach_waits_for_the_vendor_s_retry_after(
    services: Services,
    clock: Clock,
    push_kit: FakeHarmony,
    retry_after: str | None,
    waited: int,
) -> None:
    """Push Kit (the fake) answers a recall 503 with a Retry-After: the sweep asks again no
    sooner than it said, as a send would wait (and after the backoff's minute when it asked for
    less); the vendor back, the recall is taken."""
    start = int(clock() * 1000)
    delivered(services, start, "harmonyos")
    push_kit.reset()
    config = check_config("harmonyos", push_kit.config())
    push_kit_channel = Harness("harmonyos", harmonyos.make_sender, config).channel._channel
    channels = {SELFBUILT: services.selfbuilt, "harmonyos": push_kit_channel}
    revocations = Revocations(services.db, channels, clock=clock)  # type: ignore[arg-type]
    push_kit.recalls_unavailable, push_kit.recall_retry_after = True, retry_after
    try:
        answer = await revocations.revoke_task(1, "1")
        assert answer == RevokeResult(recalled=1, unrecallable=3, asking_again=2)
        assert push_kit.recall_requests == 2
        assert await services.db.read(due_at, 1) == start + waited * 1000
        assert await services.db.read(due_at, 2) == start + waited * 1000
        clock.now += waited - 1
        assert await revocations.sweep_recalls() == RecallAnswer(())  # not asked sooner
        assert push_kit.recall_requests == 2
        push_kit.recalls_unavailable = False
        clock.now += 1
        assert await revocations.sweep_recalls() == RecallAnswer((1, 2))
    finally:
        await push_kit_channel.aclose()
    assert push_kit.recall_requests == 4
    assert await services.db.read(states) == [REVOKED, REVOKED, REVOKED, LEFT]
