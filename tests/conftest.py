"""Shared fixtures: real servers on SQLite and on PostgreSQL, the official SDKs as clients, and
the fake Alibaba Cloud SMS API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.support.servers import Server, running_server

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A ``tidings serve`` process shared by a test module, once per database backend."""
    data_dir: Path = tmp_path_factory.mktemp(f"data-{request.param}")
    with running_server(request.param, data_dir) as running:
        yield running


@pytest.fixture(scope="module")
def aliyun_sms() -> Iterator[FakeAliyunSms]:
    """The fake Alibaba Cloud SendSms (it checks the official SDK's signature), one per module."""
    running = FakeAliyunSms().start()
    yield running
    running.stop()
