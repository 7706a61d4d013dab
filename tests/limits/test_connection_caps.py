"""The connection count: per address, in all, and trusted proxies held to the total only."""

from __future__ import annotations

from tidings.limits.connections import ConnectionCaps


def test_per_address_and_total() -> None:
    caps = ConnectionCaps(per_address=2, total=3)
    assert caps.admit("10.0.0.1") and caps.admit("10.0.0.1")
    assert not caps.admit("10.0.0.1")
    assert caps.admit("10.0.0.2")
    assert not caps.admit("10.0.0.3")  # the total
    caps.release("10.0.0.1")
    assert len(caps) == 2
    assert caps.admit("10.0.0.1")


def test_trusted_proxies_are_held_to_the_total_only() -> None:
    caps = ConnectionCaps(per_address=1, total=5, trusted_proxies="10.0.0.5, 192.168.0.0/16")
    assert all(caps.admit("192.168.3.4") for _ in range(3))
    assert caps.admit("10.0.0.5") and caps.admit("10.0.0.5")
    assert not caps.admit("10.0.0.5")  # the total
    everyone = ConnectionCaps(per_address=1, total=3, trusted_proxies="*")
    assert all(everyone.admit("10.9.9.9") for _ in range(3))


def test_a_peer_that_is_no_ip_address_is_capped_like_any() -> None:
    caps = ConnectionCaps(per_address=1, total=3, trusted_proxies="10.0.0.0/8")
    assert caps.admit("unix")
    assert not caps.admit("unix")
