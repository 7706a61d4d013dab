"""The pushes' end-to-end tests share one server per module and database, whose delivery sweep
runs twice a second (and its webhook sender ten times, retrying after 0.2 s), and give each
test an app of its own (tests/support/pushes.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.support.pushes import AppSpace, Workbench
from tests.support.servers import Server, running_server


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp(f"pushing-{request.param}")
    settings = {
        "TIDINGS_DELIVERY_SWEEP_SECONDS": "0.5",
        "TIDINGS_WEBHOOK_POLL_SECONDS": "0.1",
        "TIDINGS_WEBHOOK_BACKOFF_SECONDS": "0.2",
    }
    with running_server(request.param, data_dir, settings) as running:
        yield running


@pytest.fixture(scope="module")
def bench(server: Server) -> Workbench:
    return Workbench(server)


@pytest.fixture
def space(bench: Workbench, tmp_path: Path) -> Iterator[AppSpace]:
    made = bench.app(tmp_path)
    yield made
    made.stop()
