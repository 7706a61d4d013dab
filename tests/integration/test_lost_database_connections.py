"""PushMultiple calls through the official SDK while a real server's PostgreSQL connections are
terminated again and again from another connection (what a restart of PostgreSQL, or an
operator, does to them): no call is answered InternalError; a call the server could not
recover is answered 503 ServiceUnavailable, and sending it again is answered OK with the same
task; every message answered OK is stored, once. And with PostgreSQL out of reach (the link
to it cut: the server reaches it through socat, which is stopped; or gone silent, its packets
dropped), a call is answered 503, and done once when sent again after the link is back."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from alibabacloud_mpaas20201028 import models
from darabonba.runtime import RuntimeOptions
from sqlalchemy import text

from tests.integration.conftest import Tenant, make_tenant, target
from tests.support import stored
from tests.support.servers import POSTGRES_ADMIN, Server, free_port, postgres_schema

CALLERS, KILLS, KILL_EVERY = 3, 6, 1.0


class Link:
    """socat between the server and PostgreSQL: ``cut`` stops it (the server's connections
    close, new ones are refused), ``restore`` starts it again on the same port."""

    def __init__(self, target: int) -> None:
        self.port, self._target = free_port(), target
        self._socat: subprocess.Popen[bytes] | None = None
        self.restore()

    def restore(self) -> None:
        self._socat = subprocess.Popen(
            [
                "socat",
                f"TCP-LISTEN:{self.port},bind=127.0.0.1,fork,reuseaddr",
                f"TCP:127.0.0.1:{self._target}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        probe = ["socat", "-u", "/dev/null", f"TCP:127.0.0.1:{self.port}"]
        while subprocess.run(probe, capture_output=True).returncode:
            assert time.monotonic() < deadline, "socat did not listen"
            time.sleep(0.05)

    def cut(self) -> None:
        assert self._socat is not None
        # its forked children hold the server's connections: end them, then it
        subprocess.run(["pkill", "-TERM", "-P", str(self._socat.pid)], capture_output=True)
        self._socat.terminate()
        self._socat.wait(5)
        self._socat = None

    def close(self) -> None:
        if self._socat is not None:
            self.cut()


@contextmanager
def _linked(directory: Path, query: str = "") -> Iterator[tuple[Tenant, Link]]:
    """A server of its own on PostgreSQL, through a link of its own, its connections named so
    that they alone are ended; ``query``: more of the database URL's parameters."""
    with postgres_schema() as url:
        admin = urlsplit(POSTGRES_ADMIN)
        link = Link(admin.port or 5432)
        url = url.replace(admin.netloc, f"{admin.username}@127.0.0.1:{link.port}", 1)
        port = free_port()
        named = f"{url}&application_name=tidings-{uuid.uuid4().hex[:12]}{query}"
        server = Server(f"http://127.0.0.1:{port}", "127.0.0.1", port, directory, named)
        server.start()
        try:
            yield make_tenant(server), link
        finally:
            server.stop()
            link.close()


@pytest.fixture
def linked(tmp_path: Path) -> Iterator[tuple[Tenant, Link]]:
    with _linked(tmp_path / "data") as made:
        yield made


def _terminate(application_name: str) -> int:
    """End every PostgreSQL backend of the server; how many there were."""
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        return admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (application_name,),
        ).fetchone()[0]


def test_pushes_survive_their_database_connections_being_terminated(
    linked: tuple[Tenant, Link],
) -> None:
    tenant, _ = linked
    name = tenant.server.database_url.rsplit("application_name=", 1)[1]
    client = tenant.sdk()
    answers: Counter[str] = Counter()
    accepted: dict[str, str] = {}  # msgKey -> task
    unavailable: list[models.PushMultipleRequest] = []
    done = threading.Event()

    def push() -> None:
        while not done.is_set():
            call = tenant.multiple(target_msg=[target(f"u{i}") for i in range(5)])
            try:
                body = client.push_multiple(call).body
            except Exception as exc:  # the SDK's, for an answer other than 200
                answers[getattr(exc, "code", type(exc).__name__)] += 1
                if getattr(exc, "code", None) == "ServiceUnavailable":
                    unavailable.append(call)
                continue
            answers[body.result_code] += 1
            accepted.update((t.msg_key, body.push_result.data) for t in call.target_msg)

    callers = [threading.Thread(target=push) for _ in range(CALLERS)]
    for caller in callers:
        caller.start()
    terminated = 0
    for _ in range(KILLS):
        time.sleep(KILL_EVERY)
        terminated += _terminate(name)
    done.set()
    for caller in callers:
        caller.join(60)

    for call in unavailable:  # sent again once the database is back: the same task, or a new one
        body = client.push_multiple(call).body
        assert body.result_code == "OK", body
        accepted.update((t.msg_key, body.push_result.data) for t in call.target_msg)

    print(f"terminated {terminated} backends; answers {dict(answers)}")
    assert terminated >= KILLS
    assert answers["OK"] > 0
    assert set(answers) <= {"OK", "ServiceUnavailable"}, answers  # never InternalError
    with stored.connection(tenant.server) as conn:
        rows = conn.execute(text("SELECT msg_key, task_id FROM messages")).all()
    assert Counter(key for key, _ in rows).most_common(1)[0][1] == 1  # each stored once
    assert {key: str(task) for key, task in rows} == accepted
    assert "the connection to the database was lost" in tenant.server.log.read_text()


def test_a_call_while_postgresql_is_out_of_reach_is_answered_503_and_done_once_when_sent_again(
    linked: tuple[Tenant, Link],
) -> None:
    tenant, link = linked
    client = tenant.sdk()
    call = tenant.multiple(target_msg=[target("u1"), target("u2")])
    link.cut()
    with pytest.raises(Exception) as failed:  # the SDK's, for an answer other than 200
        client.push_multiple(call)
    assert (failed.value.code, failed.value.data["statusCode"]) == ("ServiceUnavailable", 503)
    assert "out of reach" in failed.value.message

    link.restore()
    task = client.push_multiple(call).body.push_result.data
    assert client.push_multiple(call).body.push_result.data == task  # the same task again
    with stored.connection(tenant.server) as conn:
        rows = conn.execute(text("SELECT msg_key, task_id FROM messages")).all()
    assert sorted((key, str(task_id)) for key, task_id in rows) == sorted(
        (t.msg_key, task) for t in call.target_msg
    )


def _dropping(port: int) -> list[str]:
    """The iptables rule that drops what is sent to ``port`` on the loopback: a silent link."""
    return ["INPUT", "-i", "lo", "-p", "tcp", "--dport", str(port), "-j", "DROP"]


def test_a_call_on_a_link_gone_silent_is_answered_503_within_the_link_bounds(
    tmp_path: Path,
) -> None:
    """Without bounds a connection waits on a silent link as long as TCP does (minutes), and
    the writes with it; the URL's bounds here are short for the test, store/database.py's
    defaults (``_PG_LINK_BOUNDS``) are 30 s and 10 s to connect."""
    if os.geteuid() != 0 or not shutil.which("iptables"):
        pytest.skip("dropping packets needs root and iptables")
    bounds = "&tcp_user_timeout=1500&connect_timeout=2&keepalives_idle=2&keepalives_interval=1"
    with _linked(tmp_path / "data", bounds) as (tenant, link):
        client = tenant.sdk()
        call = tenant.multiple(target_msg=[target("u1")])
        assert client.push_multiple(call).body.result_code == "OK"
        call = tenant.multiple(target_msg=[target("u2")])
        subprocess.run(["iptables", "-I", *_dropping(link.port)], check=True)
        try:
            began = time.monotonic()
            with pytest.raises(Exception) as failed:  # the SDK's, for an answer other than 200
                client.push_multiple_with_options(call, RuntimeOptions(read_timeout=60_000))
            waited = time.monotonic() - began
        finally:
            subprocess.run(["iptables", "-D", *_dropping(link.port)], check=True)
        assert failed.value.code == "ServiceUnavailable", failed.value
        assert waited < 20
        task = client.push_multiple(call).body.push_result.data
        assert client.push_multiple(call).body.push_result.data == task
