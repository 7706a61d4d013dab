"""A binding and the dispatch of a push to the same user, racing on PostgreSQL.

Each runs in its own transaction; under READ COMMITTED neither sees the other's uncommitted rows.
Without a lock between them, dispatch would find no bound device and write NoBindInfo while the
binding, not seeing that row yet, would find nothing waiting: the message would stay stranded.
Dispatch must wait for the binding and then deliver to the bound device.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import select

from tests.support.servers import postgres_schema
from tests.support.timings import NO_TIMING
from tidings.config import Settings
from tidings.contract import Status
from tidings.devices.rules import Binding
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import MultipleFields, target_inputs
from tidings.services import Services
from tidings.store.tables import deliveries
from tidings.templates.rules import TemplateFields


def test_dispatch_waits_for_a_binding_in_flight_and_delivers_to_its_device(
    tmp_path: Path,
) -> None:
    with postgres_schema() as url:
        asyncio.run(_race(Settings(data_dir=tmp_path, database_url=url)))


async def _race(settings: Settings) -> None:
    services = await Services.open(settings)  # the dispatcher is not started: we drive it
    try:
        app = await services.tenancy.create_app("ws", "APP1")
        await services.templates.create(
            app.pk, TemplateFields(name="t", title="Hi", content="Hello #name#")
        )
        device, _ = await services.devices.register(app.pk, "android")
        fields = MultipleFields(
            task_name="race",
            delivery_type="3",
            template_name="t",
            expired_seconds="600",
            timing=NO_TIMING,
            target_count=1,
            options=OptionFields(),
        )
        entry = {"Target": "u1", "MsgKey": uuid.uuid4().hex, "TemplateKeyValue": '{"name":"A"}'}
        await services.pushes.push_multiple(app, fields.call(), lambda: target_inputs([entry]))
        await asyncio.to_thread(_bind_while_dispatching, services, app.pk, device.token)
        rows = await services.db.read(
            lambda conn: conn.execute(select(deliveries.c.device_pk, deliveries.c.status)).all()
        )
        assert [tuple(r) for r in rows] == [(device.pk, Status.PENDING)]
    finally:
        await services.aclose()


def _bind_while_dispatching(services: Services, app_pk: int, token: str) -> None:
    engine = services.db.engine
    binding = Binding(token=token, platform="android", user_id="u1", phone_number=None)
    dispatcher = services.delivery._dispatcher
    channels = frozenset({"selfbuilt"})
    with engine.connect() as binder:
        bind = binder.begin()
        services.devices._bind(binder, app_pk, binding, channels, int(time.time() * 1000))
        done = threading.Event()

        def dispatch() -> None:
            with engine.connect() as conn, conn.begin():
                dispatcher._claim(conn, int(time.time() * 1000), channels)
            done.set()

        worker = threading.Thread(target=dispatch)
        worker.start()
        assert not done.wait(1.0), "dispatch went ahead of a binding of its user in flight"
        bind.commit()
    worker.join(10)
    assert done.is_set()
