"""A broadcast resolved a batch at a time survives ``kill -9`` in the middle: after a restart it
carries on where it stopped, every device gets exactly one delivery, and the analytics counters
(written in the same transactions) agree with the deliveries."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.support.pushes import AppSpace, eventually, ok, unique
from tests.support.stored import connection
from tidings.devices.tokens import hash_secret
from tidings.services import Services
from tidings.store.chunks import chunks
from tidings.store.rows import insert_rows

DEVICES = 30_000


def add_devices(space: AppSpace, count: int) -> None:
    """``count`` offline Android devices, written in bulk (as if registered long ago)."""

    async def job(services: Services) -> None:
        app = await services.tenancy.resolve_app("pushes", space.app_id, None)
        secret = hash_secret("never used")
        columns = ("app_pk", "token", "secret_hash", "platform", "manufacturer", "created_at")
        rows = [(app.pk, uuid.uuid4().hex, secret, "android", "android", 0) for _ in range(count)]
        for chunk in chunks(rows, 10_000):
            await services.db.write(insert_rows, "devices", columns, chunk)

    space.server.admin(job)


def progress(space: AppSpace, task_id: str) -> tuple[str, int, int, int]:
    """(task state, deliveries, distinct devices, deliveries the counters counted)."""
    with connection(space.server) as conn:
        state = conn.execute(
            text("SELECT state FROM tasks WHERE id = :id"), {"id": int(task_id)}
        ).scalar_one()
        made, devices = conn.execute(
            text("SELECT count(*), count(DISTINCT device_pk) FROM deliveries WHERE task_id = :id"),
            {"id": int(task_id)},
        ).one()
        counted = conn.execute(
            text("SELECT coalesce(sum(pushed), 0) FROM push_stats WHERE task_id = :id"),
            {"id": int(task_id)},
        ).scalar_one()
    return state, made, devices, counted


def test_a_broadcast_killed_mid_way_finishes_once_after_restart(space: AppSpace) -> None:
    add_devices(space, DEVICES)
    task_id = ok(space.broadcast(msgkey=unique("b"), push_status=2, un_bind_period=4))
    partly = eventually(lambda: (p := progress(space, task_id))[1] > 0 and p, timeout=30)
    space.server.process.kill()  # kill -9
    space.server.process.wait()
    space.server.process = None
    stopped = progress(space, task_id)
    assert stopped[0] == "accepted" and 0 < stopped[1] < DEVICES  # killed mid-way
    assert stopped[1] == stopped[3]  # counted with the deliveries, in the same transactions
    space.server.start()
    done = eventually(lambda: (p := progress(space, task_id))[0] == "dispatched" and p, 60)
    assert done == ("dispatched", DEVICES, DEVICES, DEVICES)
    assert partly[1] <= stopped[1]
