"""Three nodes on PostgreSQL + Redis, 300 devices, PushMultiple calls (the official SDK) to all
three, and then: kill -9 one node, cut another's link to Redis for 20 s, restart both.

What must hold: the dead node's devices reconnect to the others; every message answered OK
reaches its device exactly once as the app sees it (none expires: their validity outlasts the
test); each scheduled occurrence fires once; no node's memory grows without bound while Redis is
away. The figures are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from alibabacloud_mpaas20201028 import models
from alibabacloud_mpaas20201028.client import Client
from alibabacloud_tea_openapi.models import Config
from cryptography.fernet import Fernet

from tests.support.cluster import Cluster, Node
from tests.support.servers import postgres_schema, require_redis
from tidings.cli.common import run
from tidings.config import Settings
from tidings.device_client import Connected, DeviceClient, Message
from tidings.tenancy.models import DEFAULT_TIMEZONE

WORKSPACE, APP_ID, TEMPLATE = "clusterws", "ONEXCLUSTER00001", "cluster"
DEVICES, TARGETS_PER_CALL = 300, 10
KILL_AT, CUT_AT, CUT_SECONDS, PUSH_FOR = 5.0, 8.0, 20.0, 36.0
DELIVERY_WAIT = 45.0
RSS_GROWTH_LIMIT_MB = 150.0
SECRET_KEY = Fernet.generate_key().decode()


@dataclass
class Ledger:
    """What was sent, what was answered OK, and what each device's app was handed."""

    sent: int = 0
    acked: dict[str, int] = field(default_factory=dict)  # msgKey -> device
    acked_at: dict[str, float] = field(default_factory=dict)  # msgKey -> when answered OK
    failed: set[str] = field(default_factory=set)
    received: Counter[str] = field(default_factory=Counter)
    received_at: dict[str, float] = field(default_factory=dict)
    tokens: dict[int, str] = field(default_factory=dict)
    connections: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)


def sdk(node: Node, key: tuple[str, str]) -> Client:
    return Client(
        Config(
            access_key_id=key[0],
            access_key_secret=key[1],
            endpoint=f"{node.host}:{node.port}",
            protocol="http",
            connect_timeout=3000,
            read_timeout=20000,
        )
    )


def push_call(targets: list[tuple[str, str]], **extra: object) -> models.PushMultipleRequest:
    return models.PushMultipleRequest(
        app_id=APP_ID,
        workspace_id=WORKSPACE,
        delivery_type=1,
        task_name="cluster",
        template_name=TEMPLATE,
        expired_seconds=900,
        target_msg=[
            models.PushMultipleRequestTargetMsg(
                target=token, msg_key=key, template_key_value=json.dumps({"k": key})
            )
            for token, key in targets
        ],
        **extra,
    )


def answered_ok(clients: list[Client], first: int, call: models.PushMultipleRequest) -> bool:
    """Send ``call`` to node ``first``, and on a failure the same call (same msgKeys: an
    idempotent retry) to the next nodes."""
    for turn in range(len(clients)):
        try:
            body = clients[(first + turn) % len(clients)].push_multiple(call).body
        except Exception:
            continue
        if body.result_code == "OK":
            return True
    return False


def pusher(index: int, nodes: list[Node], key, ledger: Ledger, stop: threading.Event) -> None:
    clients = [sdk(node, key) for node in nodes]
    devices = list(ledger.tokens)
    while not stop.is_set():
        chosen = random.sample(devices, TARGETS_PER_CALL)
        keys = [uuid.uuid4().hex for _ in chosen]
        call = push_call([(ledger.tokens[d], k) for d, k in zip(chosen, keys, strict=True)])
        ok = answered_ok(clients, index, call)
        answered_at = time.monotonic()
        with ledger.lock:
            ledger.sent += len(keys)
            for device, msg_key in zip(chosen, keys, strict=True):
                if ok:
                    ledger.acked[msg_key] = device
                    ledger.acked_at[msg_key] = answered_at
                else:
                    ledger.failed.add(msg_key)
        time.sleep(0.05)


async def device(number: int, nodes: list[Node], ledger: Ledger) -> None:
    home = number % len(nodes)
    servers = [nodes[(home + i) % len(nodes)].url for i in range(len(nodes))]
    client = DeviceClient(
        servers, app_id=APP_ID, workspace_id=WORKSPACE, min_backoff=0.2, max_backoff=3.0
    )
    async with contextlib.aclosing(client.events()) as events:
        async for event in events:
            now = time.monotonic()
            if isinstance(event, Connected):
                ledger.tokens[number] = event.delivery_token
                ledger.connections[number].append(now)
            elif isinstance(event, Message):
                ledger.received[event.msg_key] += 1
                ledger.received_at[event.msg_key] = now


def rss(nodes: list[Node]) -> list[float | None]:
    return [node.rss_mb() for node in nodes]


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    require_redis()
    if shutil.which("socat") is None and not os.environ.get("TIDINGS_TEST_REQUIRE_SERVICES"):
        pytest.skip("socat is needed to put the nodes' links to Redis where a test can cut them")
    monkeypatch.setenv("TIDINGS_SECRET_KEY", SECRET_KEY)
    with postgres_schema() as url:
        settings = {
            "TIDINGS_SECRET_KEY": SECRET_KEY,
            "TIDINGS_REDIS_PREFIX": "c" + uuid.uuid4().hex[:8],
            "TIDINGS_DEVICE_HEARTBEAT_SECONDS": "5",
            "TIDINGS_DELIVERY_SWEEP_SECONDS": "2",
            "TIDINGS_DRAIN_SECONDS": "10",
            "TIDINGS_LOG_LEVEL": "warning",
        }
        made = Cluster(tmp_path, 3, url, 0, settings)
        try:
            for node in made.nodes:
                node.start()
            for node in made.nodes:
                node.wait_ready()
            yield made, url
        finally:
            made.close()


def test_three_nodes_survive_a_kill_and_a_redis_partition(cluster, tmp_path: Path) -> None:
    made, url = cluster
    nodes = made.nodes

    async def tenant(services):
        await services.tenancy.create_app(WORKSPACE, APP_ID, None, DEFAULT_TIMEZONE)
        key, secret = await services.tenancy.create_key(WORKSPACE, (), False)
        return key.access_key_id, secret

    key = run(Settings(data_dir=tmp_path / "admin", database_url=url), tenant)
    sdk(nodes[0], key).create_template(
        models.CreateTemplateRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, template_name=TEMPLATE, title="T", content="#k#"
        )
    )
    ledger = Ledger()
    figures = asyncio.run(_scenario(made, key, ledger))

    delivered = {k for k in ledger.acked if ledger.received[k] >= 1}
    lost = sorted(set(ledger.acked) - delivered)
    duplicated = sorted(k for k, n in ledger.received.items() if n > 1)
    strangers = sorted(set(ledger.received) - set(ledger.acked) - ledger.failed)
    print(
        f"\ncluster ({'network namespaces' if made.isolated else 'loopback'}): "
        f"sent {ledger.sent}, acked {len(ledger.acked)}, not answered OK {len(ledger.failed)}, "
        f"lost {len(lost)}, duplicated {len(duplicated)}; "
        f"devices of the killed node all back in {figures['reconnect']:.1f} s; "
        f"longest from an OK answer to the app {figures['slowest']:.1f} s; "
        f"RSS growth while Redis was away (MB): {figures['rss_growth']}"
    )
    assert len(ledger.acked) > 1000, "too few messages to say anything"
    assert lost == [], f"{len(lost)} answered OK never arrived: {_where(url, lost)}"
    assert duplicated == [], f"{len(duplicated)} messages reached the app twice"
    assert strangers == []
    assert all(g < RSS_GROWTH_LIMIT_MB for g in figures["rss_growth"] if g is not None)
    assert figures["scheduled"] == {k: 1 for k in figures["scheduled"]}


async def _scenario(made: Cluster, key, ledger: Ledger) -> dict:
    nodes = made.nodes
    devices = [asyncio.create_task(device(n, nodes, ledger)) for n in range(DEVICES)]
    deadline = time.monotonic() + 60
    while len(ledger.tokens) < DEVICES:
        assert time.monotonic() < deadline, f"{len(ledger.tokens)} devices registered in 60 s"
        await asyncio.sleep(0.2)

    # Scheduled occurrences, due while the cluster is being broken.
    scheduled: list[str] = []
    now_ms = int(time.time() * 1000)
    for i in range(5):
        fixed = (now_ms // 1000 + 8 + 6 * i) * 1000
        keys = [f"sched-{i}-{uuid.uuid4().hex[:8]}" for _ in range(2)]
        targets = [(ledger.tokens[(7 * i + j) % DEVICES], k) for j, k in enumerate(keys)]
        call = push_call(
            targets, strategy_type=1, strategy_content=json.dumps({"fixedTime": fixed})
        )
        assert await asyncio.to_thread(answered_ok, [sdk(n, key) for n in nodes], i % 3, call)
        scheduled += keys
        for token, k in targets:
            ledger.acked[k] = next(d for d, t in ledger.tokens.items() if t == token)

    stop = threading.Event()
    pushers = [
        asyncio.create_task(asyncio.to_thread(pusher, i, nodes, key, ledger, stop))
        for i in range(len(nodes))
    ]
    start = time.monotonic()
    await asyncio.sleep(KILL_AT)
    killed_at = time.monotonic()
    nodes[0].kill()
    await asyncio.sleep(CUT_AT - KILL_AT)
    before = rss(nodes)
    made.cut_redis(1)
    peak = list(before)
    for _ in range(int(CUT_SECONDS)):
        await asyncio.sleep(1)
        peak = [
            max(p, r) if p is not None and r is not None else p
            for p, r in zip(peak, rss(nodes), strict=True)
        ]
    made.restore_redis(1)
    nodes[0].start()
    await asyncio.to_thread(nodes[1].stop)
    nodes[1].start()
    await asyncio.to_thread(nodes[0].wait_ready)
    await asyncio.to_thread(nodes[1].wait_ready)
    await asyncio.sleep(max(0.0, start + PUSH_FOR - time.monotonic()))
    stop.set()
    await asyncio.gather(*pushers)

    deadline = time.monotonic() + DELIVERY_WAIT
    while any(ledger.received[k] == 0 for k in ledger.acked) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)  # a late duplicate would show here
    gave_up = [n for n, task in enumerate(devices) if task.done()]
    assert gave_up == [], f"device clients ended: {[devices[n].exception() for n in gave_up[:3]]}"
    for task in devices:
        task.cancel()
    await asyncio.gather(*devices, return_exceptions=True)

    homed_on_killed = [n for n in range(DEVICES) if n % len(nodes) == 0]
    back = [
        min((t for t in ledger.connections[n] if t > killed_at), default=float("inf"))
        for n in homed_on_killed
    ]
    waits = [
        ledger.received_at[k] - at for k, at in ledger.acked_at.items() if k in ledger.received_at
    ]
    return {
        "reconnect": max(back) - killed_at,
        "slowest": max(waits, default=0.0),
        "rss_growth": [
            round(p - b, 1) if p is not None and b is not None else None
            for p, b in zip(peak, before, strict=True)
        ],
        "scheduled": {k: ledger.received[k] for k in scheduled},
    }


def _where(url: str, keys: list[str]) -> dict[str, int]:
    """The states of ``keys``' deliveries and tasks, to say where lost messages stopped."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT coalesce(d.status::text, 'no delivery') || '/' || t.state, count(*)"
            " FROM messages m JOIN tasks t ON t.id = m.task_id"
            " LEFT JOIN deliveries d ON d.message_pk = m.pk"
            " WHERE m.msg_key = ANY(%s) GROUP BY 1",
            (keys,),
        ).fetchall()
    return dict(rows)
