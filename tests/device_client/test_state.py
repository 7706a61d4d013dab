"""The device's saved state and the gateway URL it derives from the server's address."""

from __future__ import annotations

import stat
from pathlib import Path

from tidings.device_client.client import device_url
from tidings.device_client.state import SEEN_WINDOW, DeviceState


def test_state_survives_a_restart_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "device.json"
    state = DeviceState("tok", "secret")
    for delivery_id in (5, 6):
        state.remember(delivery_id)
    state.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = DeviceState.load(path)
    assert (again.delivery_token, again.secret) == ("tok", "secret")
    assert again.has_seen(5) and again.has_seen(6) and not again.has_seen(7)
    assert not list(tmp_path.glob("*.tmp"))


def test_only_recent_deliveries_are_remembered() -> None:
    state = DeviceState()
    for delivery_id in range(1, SEEN_WINDOW + 11):
        state.remember(delivery_id)
    assert not state.has_seen(10) and state.has_seen(11) and state.has_seen(SEEN_WINDOW + 10)
    assert len(state.seen) == SEEN_WINDOW


def test_a_missing_state_file_means_a_new_device(tmp_path: Path) -> None:
    assert DeviceState.load(tmp_path / "none.json").delivery_token is None
    assert DeviceState.load(None).secret is None


def test_the_gateway_url_follows_the_server_address() -> None:
    assert device_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/device"
    assert device_url("https://push.example.com/") == "wss://push.example.com/device"
    assert device_url("127.0.0.1:8080") == "ws://127.0.0.1:8080/device"
    assert device_url("ws://h:1/custom/path") == "ws://h:1/custom/path"
