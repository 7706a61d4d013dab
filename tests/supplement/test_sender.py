"""The SMS sender on a real database (both backends) and the fake Alibaba Cloud SendSms, on a
clock the test moves: two senders racing for the same due row send one SMS; a sender that
claimed a row and died leaves it failed ("outcome unknown") once its lease runs out, never sent
again; the rules that settle a row without an SMS."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.console.conftest import Clock
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.support.timings import NO_TIMING
from tidings.config import Settings
from tidings.devices.rules import Binding, Report
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import SimpleFields
from tidings.push.sms import SmsFields
from tidings.services import Services
from tidings.store.tables import sms_supplements
from tidings.supplement import ARRIVED, SKIPPED
from tidings.supplement.rules import settled_without_sending
from tidings.supplement.sender import UNKNOWN
from tidings.tenancy.models import App

DELAY = 60
PHONE = "+8613900000000"


def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path, database_url=database_url, sms_supplement_delay_seconds=DELAY
    )


@pytest.fixture
async def services(database_url, tmp_path: Path, clock: Clock) -> AsyncIterator[Services]:
    opened = await Services.open(settings(tmp_path, database_url), clock=clock)
    try:
        yield opened
    finally:
        await opened.aclose()


async def pushed(services: Services, aliyun_sms: FakeAliyunSms) -> None:
    """An app with Alibaba Cloud SMS, an offline device bound with PHONE, and a PushSimple to it
    with SmsStrategy 1."""
    aliyun_sms.reset()
    app = await services.tenancy.create_app("ws", "APP1")
    config = {"provider": "aliyun", **aliyun_sms.config()}
    await services.channel_configs.set("ws", "APP1", "sms", config)
    await services.devices.report(app.pk, Report("DT1", "android", None, None, "android", {}))
    await services.devices.bind(app.pk, Binding("DT1", "android", "u1", PHONE))
    await push_simple(services, app, "k1", SmsFields("1", "SMS_1", "Tidings"))


async def push_simple(services: Services, app: App, msg_key: str, sms: SmsFields | None) -> None:
    """A PushSimple to DT1 with the given SMS fields (None: it asks for no supplement)."""
    call = SimpleFields(
        task_name="t",
        delivery_type="1",
        expired_seconds="600",
        timing=NO_TIMING,
        options=OptionFields(sms=sms),
        title="Hi",
        content="There",
        uri=None,
        target_msgkey=json.dumps({"DT1": msg_key}),
    )
    await services.pushes.push_simple(app, call.call())


async def state(services: Services) -> tuple[str, str | None]:
    row = await services.db.read(
        lambda conn: conn.execute(select(sms_supplements.c.state, sms_supplements.c.detail)).one()
    )
    return row.state, row.detail


async def test_two_senders_racing_for_a_due_row_send_one_sms(
    services: Services, aliyun_sms, clock: Clock, tmp_path: Path, database_url
) -> None:
    await pushed(services, aliyun_sms)
    assert await services.sms.send_due() == 0  # not due before the delay
    clock.now += DELAY
    other = await Services.open(settings(tmp_path, database_url), clock=clock)
    try:
        await asyncio.gather(services.sms.send_due(), other.sms.send_due())
    finally:
        await other.aclose()
    assert len(aliyun_sms.record.for_token(PHONE)) == 1
    assert (await state(services))[0] == "sent"
    clock.now += 3600
    assert await services.sms.send_due() == 0
    assert len(aliyun_sms.record.for_token(PHONE)) == 1


async def test_a_sender_that_died_mid_send_leaves_the_row_failed_not_resent(
    services: Services, aliyun_sms, clock: Clock
) -> None:
    await pushed(services, aliyun_sms)
    clock.now += DELAY
    now_ms = int(clock() * 1000)
    claimed, jobs = await services.db.write(services.sms._claim, now_ms)  # then it died
    assert claimed == len(jobs) == 1
    clock.now += 30  # the lease still holds: nobody touches the row
    assert await services.sms.send_due() == 0
    assert (await state(services))[0] == "sending"
    clock.now += 60  # the lease ran out
    await services.sms.send_due()
    assert await state(services) == ("failed", UNKNOWN)
    assert aliyun_sms.record.for_token(PHONE) == []


async def test_only_a_push_asking_for_the_supplement_wakes_its_sender(
    services: Services, aliyun_sms
) -> None:
    """A wake costs the sender a pass over the database; the sender is not started here, so
    its wake-up stays set once given."""
    await pushed(services, aliyun_sms)
    assert services.sms._wake.is_set()
    services.sms._wake.clear()
    app = await services.tenancy.resolve_app("ws", "APP1", None)
    await push_simple(services, app, "k2", None)
    assert not services.sms._wake.is_set()


def test_what_settles_a_row_without_an_sms() -> None:
    assert settled_without_sending(1, arrived=True, revoked=False)[0] == ARRIVED
    assert settled_without_sending(1, arrived=False, revoked=False) is None
    assert settled_without_sending(2, arrived=True, revoked=False) is None  # alongside anyway
    assert settled_without_sending(2, arrived=False, revoked=True)[0] == SKIPPED
