"""A user's waiting messages handed to a vendor device when it is bound are leased like any
vendor delivery handed over at once, on both backends and a clock the test moves: if the send
fails (the channel raises) or never happens (the process died after the binding committed), the
retry sweep sends them once the lease runs out, and not before. A self-built device's adopted
deliveries stay without a lease: the device is sent them when it connects."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import select

from tests.console.conftest import Clock
from tests.fakes.hms import FakeHms
from tests.support.timings import NO_TIMING
from tidings.channels.catalog import THIRD_CHANNELS
from tidings.contract import SELFBUILT, Status
from tidings.delivery.writing import VENDOR_LEASE_MS
from tidings.devices.rules import Binding, ReportFields, check_report
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import SimpleFields
from tidings.services import Services
from tidings.store.tables import deliveries
from tidings.tenancy.models import App

HMS_TOKEN = "hms-token-1"


@pytest.fixture(scope="module")
def hms() -> Iterator[FakeHms]:
    running = FakeHms().start()
    yield running
    running.stop()


async def waiting_for_two_users(services: Services, hms: FakeHms) -> App:
    """An app with Huawei Push configured and a PushSimple to users u1 and u2, who have no device
    yet (NoBindInfo); DT1 then reports an HMS token, DT2 none."""
    hms.reset()
    app = await services.tenancy.create_app("ws", "APP1")
    await services.channel_configs.set("ws", "APP1", "hms", hms.config())
    call = SimpleFields(
        task_name="t",
        delivery_type="3",
        expired_seconds="600",
        timing=NO_TIMING,
        options=OptionFields(),
        title="Hi",
        content="There",
        uri=None,
        target_msgkey='{"u1": "k1", "u2": "k2"}',
    )
    await services.pushes.push_simple(app, call.call())
    await services.delivery._dispatcher._dispatch_due()
    assert await stored(services) == {
        "u1": (None, Status.NO_BIND, None),
        "u2": (None, Status.NO_BIND, None),
    }
    hms_code = str(THIRD_CHANNELS["hms"])
    for token, third_channel, third_token in (("DT1", hms_code, HMS_TOKEN), ("DT2", None, None)):
        fields = ReportFields(token, "1", third_channel, third_token, {})  # OsType 1: Android
        await services.devices.report(app.pk, check_report(fields))
    return app


async def stored(services: Services) -> dict[str, tuple[str | None, int, int | None]]:
    """Each delivery's (channel, status, next_attempt_at), by its user."""

    def read(conn):
        query = select(
            deliveries.c.user_id,
            deliveries.c.channel,
            deliveries.c.status,
            deliveries.c.next_attempt_at,
        )
        return {row.user_id: tuple(row[1:]) for row in conn.execute(query)}

    return await services.db.read(read)


async def sends_done(services: Services) -> None:
    """Wait for the sends the dispatcher handed over, and for their outcomes to be written."""
    while sends := list(services.delivery._dispatcher._sends):
        await asyncio.gather(*sends)
    await services.delivery.acks_written()


async def sweep(services: Services) -> None:
    await services.delivery._dispatcher._sweep()
    await sends_done(services)


def received(hms: FakeHms) -> Sequence[str]:
    return [r.token for r in hms.record.received]


async def died_after_commit(ids: Sequence[int]) -> None:
    """What a process killed right after the binding committed sends: nothing."""


@pytest.mark.parametrize("failure", ["channel raises", "process died"])
async def test_adopted_vendor_deliveries_are_leased_and_resent_after_a_failed_send(
    services: Services, hms: FakeHms, clock: Clock, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    app = await waiting_for_two_users(services, hms)
    if failure == "channel raises":

        async def raising(batch: Sequence[object]) -> list[object]:
            raise RuntimeError("the connection to the vendor broke")

        monkeypatch.setattr(services.delivery._channels["hms"], "send", raising)
    else:
        monkeypatch.setattr(services.delivery, "send_stored", died_after_commit)
    bound_at = int(clock() * 1000)
    await services.devices.bind(app.pk, Binding("DT1", "android", "u1", None))
    await services.devices.bind(app.pk, Binding("DT2", "android", "u2", None))
    await sends_done(services)
    monkeypatch.undo()
    assert received(hms) == []
    assert await stored(services) == {
        "u1": ("hms", Status.PENDING, bound_at + VENDOR_LEASE_MS),
        "u2": (SELFBUILT, Status.PENDING, None),  # sent when the device connects
    }

    clock.now += VENDOR_LEASE_MS / 2000  # the lease holds: the send may yet be under way
    await sweep(services)
    assert received(hms) == []

    clock.now += VENDOR_LEASE_MS / 2000 + 1  # the lease ran out: the sweep sends it, once
    await sweep(services)
    assert received(hms) == [HMS_TOKEN]
    assert (await stored(services))["u1"][1] == Status.ACKED
    clock.now += 2 * VENDOR_LEASE_MS / 1000
    await sweep(services)
    assert received(hms) == [HMS_TOKEN]
