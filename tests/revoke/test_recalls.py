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
from collections.abc import Collection, Sequence

import pytest
from sqlalchemy import Connection, insert, select

from tests.console.conftest import Clock
from tests.revoke.test_pages import Paused
from tests.support.rows import one_push, subscribed
from tidings.contract import SELFBUILT, Outbound, Status
from tidings.revoke.rules import RECALL_LEASE_MS, RecallAnswer, RevokeResult
from tidings.revoke.service import Revocations
from tidings.services import Services
from tidings.store.tables import deliveries, devices, webhook_outbox

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
        self.asked: list[list[int]] = []

    async def recall(
        self, device_pks: Collection[int], delivered: Sequence[Outbound] = ()
    ) -> Collection[int]:
        self.asked.append([out.id for out in delivered])
        if self.fail:
            raise RuntimeError(STOPPED)
        return [out.id for out in delivered if out.id in self.refuse]

    async def aclose(self) -> None:
        pass


# (id, channel) of each delivery of the push, every one delivered: two a vendor that recalls
# accepted, one a device holds over the self-built channel, one a vendor that cannot recall took
MADE = [(1, "hms"), (2, "hms"), (3, SELFBUILT), (4, "oppo")]


def delivered(services: Services, now_ms: int) -> None:
    with services.db.engine.begin() as conn:
        one_push(conn, action="PushSimple", delivery_type=1, now=now_ms)
        conn.execute(
            insert(devices),
            [
                {"pk": pk, "app_pk": 1, "token": f"d{pk}", "platform": "android"}
                | {"manufacturer": channel, "third_token": f"t{pk}", "created_at": 0}
                for pk, channel in MADE
            ],
        )
        conn.execute(
            insert(deliveries),
            [
                {"id": pk, "task_id": 1, "message_pk": 1, "app_pk": 1, "device_pk": pk}
                | {"channel": channel, "status": Status.ACKED, "attempts": 1}
                | {"created_at": now_ms, "expires_at": now_ms + 600_000, "updated_at": now_ms}
                for pk, channel in MADE
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
    clock.now += RECALL_LEASE_MS / 1000 - 1
    assert await stopped.sweep_recalls() == RecallAnswer((), ())  # the asker may be alive
    assert await services.db.read(states) == [ASKED, ASKED, REVOKED, LEFT]
    clock.now += 1
    assert await stopped.sweep_recalls() == RecallAnswer((1,), (2,))
    assert vendor.asked[1:] == [[1, 2]]
    assert await services.db.read(states) == [REVOKED, LEFT, REVOKED, LEFT]
    assert await services.db.read(revoked_events) == [SELFBUILT, "hms"]
    clock.now += RECALL_LEASE_MS / 1000
    assert await stopped.sweep_recalls() == RecallAnswer((), ())  # nothing left to ask
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
