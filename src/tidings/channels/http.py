"""The HTTP clients vendor channels share: one TLS setup, timeouts and connection limits.

Certificates are checked against certifi's roots, or against the file ``SSL_CERT_FILE`` names
(the OpenSSL convention), which is how tests and private deployments add their own CA.
"""

from __future__ import annotations

import functools
import os
import ssl

import certifi
import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@functools.cache
def _context(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def tls_context(*, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
    cafile = os.environ.get("SSL_CERT_FILE") or certifi.where()
    if not alpn:
        return _context(cafile)
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(list(alpn))
    return context


def vendor_client(concurrency: int, *, http2: bool = False) -> httpx.AsyncClient:
    """A client holding at most ``concurrency`` connections to the vendor."""
    return httpx.AsyncClient(
        http2=http2,
        verify=tls_context(),
        timeout=TIMEOUT,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        trust_env=False,
    )


def retry_after(headers: httpx.Headers | dict[str, str]) -> float | None:
    """Retry-After in seconds (vendors send the delay form; an HTTP date is taken as absent)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
