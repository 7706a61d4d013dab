"""Fixtures for the console's tests: services on a real database, on a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.servers import postgres_schema
from tidings.config import Settings
from tidings.services import Services

START = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def services(
    database_url: str | None, tmp_path: Path, clock: Clock
) -> AsyncIterator[Services]:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    opened = await Services.open(settings, clock=clock)
    try:
        yield opened
    finally:
        await opened.aclose()
