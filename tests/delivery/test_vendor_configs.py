"""A vendor channel's batch may hold the deliveries of several apps: each delivery is given the
configuration of its own task's app, and none when that app has not configured the channel
(delivery then sends it over the self-built channel)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.channels.outbound import outbound
from tests.delivery.test_claimed_rows import _push
from tests.fakes.hms import FakeHms
from tests.support.servers import postgres_schema
from tidings.config import Settings
from tidings.services import Services


@pytest.fixture(scope="module")
def hms() -> Iterator[FakeHms]:
    running = FakeHms().start()
    yield running
    running.stop()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_each_delivery_takes_the_configuration_of_its_tasks_app(
    tmp_path: Path, hms: FakeHms, database: str
) -> None:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_schema()) if database == "postgresql" else None
        await _check_configs(Settings(data_dir=tmp_path, database_url=url), hms)


async def _check_configs(settings: Settings, hms: FakeHms) -> None:
    services = await Services.open(settings)
    try:
        configured = await services.tenancy.create_app("ws", "APP1")
        other = await services.tenancy.create_app("ws", "APP2")
        await services.channel_configs.set("ws", "APP1", "hms", hms.config())
        tasks = {}
        for app in (configured, other):
            device, _ = await services.devices.register(app.pk, "android")
            tasks[app.pk] = await services.pushes.push_simple(app, _push("1", {device.token: "k"}))
        batch = []
        for app in (configured, other, configured):
            out = outbound("hms", "token")
            batch.append(out._replace(payload=out.payload._replace(task_id=tasks[app.pk])))
        configs = await services.channel_configs.for_deliveries("hms", batch)
        assert sorted(configs) == [batch[0].id, batch[2].id]
        assert configs[batch[0].id]["app_id"] == hms.config()["app_id"]
    finally:
        await services.aclose()
