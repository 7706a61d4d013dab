"""The device's saved state and the gateway URL it derives from the server's address."""

from __future__ import annotations

import stat
from pathlib import Path

from tidings.device_client.client import device_url
from tidings.device_client.state import CLOCK_SLACK_MS, REVOKE_KEEP_MS, DeviceState

NOW = 1_800_000_000.0
NOW_MS = int(NOW * 1000)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_state_survives_a_restart_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "device.db"
    state = DeviceState(path)
    state.delivery_token, state.secret = "tok", "secret"
    state.save()
    for delivery_id in (5, 6):
        state.remember(delivery_id, NOW_MS + 60_000)
    state.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = DeviceState(path)
    assert (again.delivery_token, again.secret) == ("tok", "secret")
    assert again.has_seen(5) and again.has_seen(6) and not again.has_seen(7)


def test_a_delivery_is_remembered_until_its_message_expires_however_many_follow(
    tmp_path: Path,
) -> None:
    clock = Clock(NOW)
    path = tmp_path / "device.db"
    state = DeviceState(path, clock=clock)
    state.remember(1, NOW_MS + 60_000)
    for delivery_id in range(2, 5002):
        state.remember(delivery_id, NOW_MS + 1_000)
    state.remember(9001)  # named by a revoke frame only
    state.close()
    clock.now = NOW + 30  # a restart half a minute later: everything is still valid
    assert DeviceState(path, clock=clock).has_seen(1)
    clock.now = NOW + (1_000 + CLOCK_SLACK_MS) / 1000 + 1  # the short messages ran out
    later = DeviceState(path, clock=clock)
    assert later.has_seen(1) and not later.has_seen(2) and later.has_seen(9001)
    clock.now = NOW + (REVOKE_KEEP_MS + 1) / 1000
    assert not DeviceState(path, clock=clock).has_seen(9001)


def test_a_missing_state_file_means_a_new_device(tmp_path: Path) -> None:
    assert DeviceState(tmp_path / "none.db").delivery_token is None
    assert DeviceState(None).secret is None


def test_the_gateway_url_follows_the_server_address() -> None:
    assert device_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/device"
    assert device_url("https://push.example.com/") == "wss://push.example.com/device"
    assert device_url("127.0.0.1:8080") == "ws://127.0.0.1:8080/device"
    assert device_url("ws://h:1/custom/path") == "ws://h:1/custom/path"
