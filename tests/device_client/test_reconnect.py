"""Where and when the device client connects again: round robin over its servers, short waits
while one is untried, then exponential backoff with jitter."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tidings.device_client.client import DeviceClient
from tidings.device_client.reconnect import delay, next_server


def test_round_robin() -> None:
    assert [next_server(i, 3) for i in range(4)] == [1, 2, 0, 1]
    assert next_server(0, 1) == 0


def test_short_waits_while_a_server_is_untried_then_doubling_to_the_cap() -> None:
    def high() -> float:
        return 1.0

    assert [delay(f, 3, 0.2, 30, high) for f in range(3)] == [0.2, 0.2, 0.2]
    assert [delay(f, 3, 0.2, 30, high) for f in (3, 6, 9)] == [0.4, 0.8, 1.6]
    assert delay(300, 3, 0.2, 30, high) == 30
    assert delay(300, 3, 0.2, 30, lambda: 0.0) == 15  # half of the wait is random


@given(
    failures=st.integers(0, 10_000),
    servers=st.integers(1, 10),
    draw=st.floats(0, 1),
)
def test_a_wait_is_never_negative_nor_past_the_cap(
    failures: int, servers: int, draw: float
) -> None:
    assert 0 <= delay(failures, servers, 0.2, 30, lambda: draw) <= 30


def test_the_client_knows_every_server() -> None:
    client = DeviceClient(["http://a:1", "ws://b:2/device"], app_id="A", workspace_id="w")
    assert client.urls == ["ws://a:1/device", "ws://b:2/device"]
    assert client.url == "ws://a:1/device"
