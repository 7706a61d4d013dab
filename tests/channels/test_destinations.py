"""The SSRF guard for URLs clients choose (Web Push endpoints): https only, every address the
host resolves to public, the allowed hosts exempt; and a pinned request goes to the address
checked while keeping the host name for the Host header and TLS."""

from __future__ import annotations

import httpx
import pytest

from tidings.channels.destinations import DestinationRefused, Unresolved, pinned, resolve


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://push.example.com/x", "must be an https URL"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://localhost:8443/x", "loopback"),
        ("https://10.1.2.3/x", "private"),
        ("https://192.168.0.10/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/x", "loopback"),
        ("https://[fe80::1]/x", "link-local"),
        ("https://[::ffff:10.0.0.1]/x", "private"),
        ("https://224.0.0.1/x", "multicast"),
        ("https://0.0.0.0/x", "unspecified"),
        ("https://240.0.0.1/x", "reserved|private"),  # Python counts 240/4 among both
        ("https:///x", "no host"),
        ("not a url at all", "no host"),
    ],
)
async def test_refused_destinations(url: str, words: str) -> None:
    with pytest.raises(DestinationRefused, match=words):
        await resolve(url)


async def test_a_public_address_passes_and_allowed_hosts_are_exempt() -> None:
    assert await resolve("https://8.8.8.8/push/1") == "8.8.8.8"
    assert await resolve("http://127.0.0.1:9/push/1", allowed=["127.0.0.1"]) == "127.0.0.1"


async def test_a_host_that_does_not_resolve_is_unresolved() -> None:
    with pytest.raises(Unresolved):
        await resolve("https://no-such-host.invalid/push")


def test_pinned_keeps_the_name_for_host_and_tls() -> None:
    request = httpx.Request("POST", "https://push.example.com:8443/p/1?x=1", content=b"body")
    sent = pinned(request, "93.184.216.34")
    assert str(sent.url) == "https://93.184.216.34:8443/p/1?x=1"
    assert sent.headers["host"] == "push.example.com:8443"
    assert sent.extensions["sni_hostname"] == "push.example.com"
    assert sent.content == b"body"
