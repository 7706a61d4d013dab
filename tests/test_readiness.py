"""/readyz beside /healthz: database, schema version, Redis when configured, draining."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx

from tests.support.servers import running_server
from tidings import readiness
from tidings.config import Settings
from tidings.services import Services


def test_ready_then_not_when_the_schema_is_another_version(tmp_path: Path) -> None:
    with running_server("sqlite", tmp_path / "data") as server:
        ready = httpx.get(f"{server.url}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "checks": {
                "database": "ok",
                "migrations": "ok",
                "redis": "not configured",
                "draining": "ok",
            },
        }
        with sqlite3.connect(tmp_path / "data" / "tidings.db") as db:
            db.execute("UPDATE alembic_version SET version_num = 'from_a_newer_release'")
        stale = httpx.get(f"{server.url}/readyz", timeout=5)
        assert stale.status_code == 503
        assert stale.json()["checks"]["migrations"] != "ok"
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_redis_that_does_not_answer_is_not_ready(tmp_path: Path) -> None:
    async def verdicts() -> dict[str, str]:
        services = await Services.open(
            Settings(data_dir=tmp_path, redis_url="redis://:pw@127.0.0.1:1/0")
        )
        try:
            return await readiness.check(services, draining=False)
        finally:
            await services.aclose()

    found = asyncio.run(verdicts())
    assert found["database"] == "ok"
    assert found["redis"].startswith("unreachable")
    assert "pw" not in found["redis"]
    assert not readiness.is_ready(found)
