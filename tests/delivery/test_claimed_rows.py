"""The delivery rows dispatch's claim writes, for every kind of target at once: known and unknown
device tokens, on the self-built channel and a vendor's (leased), users bound and unbound, a Live
Activity's token. The two backends write them in their own ways (SQLite: NULLs written into the
statement, grouped by the columns they leave empty; PostgreSQL: COPY), so the same claim must
store exactly the same rows on both, and on SQLite bind no None and no enum, whose binding the
driver does slowly."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select

from tests.console.conftest import Clock
from tests.fakes.hms import FakeHms
from tests.support.servers import postgres_schema
from tests.support.timings import NO_TIMING
from tidings.channels.catalog import THIRD_CHANNELS
from tidings.config import Settings
from tidings.contract import Outbound
from tidings.delivery.outbound import outbound_from_rows
from tidings.devices.rules import Binding, ReportFields, check_report
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import SimpleFields
from tidings.services import Services
from tidings.store import rows
from tidings.store.deliveries import outbound_by_id
from tidings.store.plain import fetch
from tidings.store.tables import deliveries


@pytest.fixture(scope="module")
def hms() -> Iterator[FakeHms]:
    running = FakeHms().start()
    yield running
    running.stop()


def _push(delivery_type: str, targets: dict[str, str], expired_seconds: str = "600") -> Any:
    return SimpleFields(
        task_name="t",
        delivery_type=delivery_type,
        expired_seconds=expired_seconds,
        timing=NO_TIMING,
        options=OptionFields(),
        title="Hi",
        content="There",
        uri=None,
        target_msgkey=str(targets).replace("'", '"'),
    ).call()


async def _accept_every_kind(services: Services, hms: FakeHms) -> None:
    """An app with Huawei Push configured, four devices (two reporting an HMS token, two bound
    to users) and pushes to each kind of target, accepted and not dispatched yet."""
    app = await services.tenancy.create_app("ws", "APP1")
    await services.channel_configs.set("ws", "APP1", "hms", hms.config())
    tokens = []
    for n in range(4):
        device, _ = await services.devices.register(app.pk, "android")
        tokens.append(device.token)
        if n % 2:
            hms_code = str(THIRD_CHANNELS["hms"])
            fields = ReportFields(device.token, "1", hms_code, f"hms-{n}", {})
            await services.devices.report(app.pk, check_report(fields))
    for user, token in (("u1", tokens[2]), ("u2", tokens[3])):
        await services.devices.bind(app.pk, Binding(token, "android", user, None))
    by_token = {tokens[0]: "k1", tokens[1]: "k2", "unknown-token": "k3"}
    await services.pushes.push_simple(app, _push("1", by_token))
    await services.pushes.push_simple(app, _push("3", {"u1": "k4", "u2": "k5", "u3": "k6"}))
    await services.pushes.push_simple(app, _push("5", {"activity-token": "k7"}))


def _claim(services: Services) -> None:
    dispatcher = services.delivery._dispatcher
    now_ms = int(dispatcher._clock() * 1000)
    with services.db.engine.connect() as conn, conn.begin():
        dispatcher._claim(conn, now_ms, frozenset(services.channels))


async def _claimed(settings: Settings, hms: FakeHms) -> list[tuple[Any, ...]]:
    """Every column of every delivery a claim of every kind of target wrote, by id."""
    services = await Services.open(settings, clock=Clock())
    try:
        await _accept_every_kind(services, hms)
        await asyncio.to_thread(_claim, services)
        query = select(deliveries).order_by(deliveries.c.id)
        return await services.db.read(lambda conn: [tuple(r) for r in conn.execute(query)])
    finally:
        await services.aclose()


def test_a_claim_stores_the_same_rows_on_postgresql_as_on_sqlite(
    tmp_path: Path, hms: FakeHms
) -> None:
    on_sqlite = asyncio.run(_claimed(Settings(data_dir=tmp_path / "sqlite"), hms))
    with postgres_schema() as url:
        on_postgresql = asyncio.run(
            _claimed(Settings(data_dir=tmp_path / "pg", database_url=url), hms)
        )
    assert len(on_sqlite) == 7
    assert {row[deliveries.c.keys().index("channel")] for row in on_sqlite} == {
        None,
        "selfbuilt",
        "hms",
    }
    assert on_postgresql == on_sqlite


def test_a_claim_on_sqlite_binds_no_none_and_no_enum(
    tmp_path: Path, hms: FakeHms, monkeypatch: pytest.MonkeyPatch
) -> None:
    bound: list[Any] = []

    def seen(conn: Connection, sql: str, params: Any) -> list[Any]:
        if sql.startswith("INSERT INTO deliveries"):
            bound.extend(params)
        return fetch(conn, sql, params)

    async def claim() -> None:
        services = await Services.open(Settings(data_dir=tmp_path), clock=Clock())
        try:
            await _accept_every_kind(services, hms)
            monkeypatch.setattr(rows, "fetch", seen)
            await asyncio.to_thread(_claim, services)
        finally:
            await services.aclose()

    asyncio.run(claim())
    assert len(bound) > 7
    assert [v for v in bound if v is None or isinstance(v, Enum)] == []


def test_a_claim_hands_over_the_deliveries_a_resend_reads_back(
    tmp_path: Path, hms: FakeHms
) -> None:
    """What dispatch hands the channels at once is what is sent again later from the stored rows
    (store.deliveries.outbound_by_id): the same devices, each with its own token, though the
    claim reads a DeliveryToken target's device without its token (the target is the token)."""

    async def claim_and_read() -> tuple[list[Outbound], list[Outbound]]:
        services = await Services.open(Settings(data_dir=tmp_path), clock=Clock())
        try:
            await _accept_every_kind(services, hms)
            dispatcher = services.delivery._dispatcher
            now_ms = int(dispatcher._clock() * 1000)

            def claim(conn: Connection) -> list[Outbound]:
                _, written = dispatcher._claim(conn, now_ms, frozenset(services.channels))
                return written.outbound

            handed = await services.db.write(claim)
            ids = [out.id for out in handed]
            stored = outbound_from_rows(await services.db.read(outbound_by_id, ids))
            return handed, stored
        finally:
            await services.aclose()

    handed, stored = asyncio.run(claim_and_read())
    assert {out.channel for out in handed} == {"selfbuilt", "hms"}
    assert len(handed) == 4  # two devices by token, two by user
    assert sorted(handed) == sorted(stored)
