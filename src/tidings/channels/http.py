"""HTTP for the vendor channels: clients with one TLS setup, timeouts and connection limits; the
sender every vendor but APNs uses; and the OAuth token requests several of them share.

A vendor module describes its protocol (``VendorHttp``: fetch a token, build a request, read an
answer, all but the first pure) and ``HttpSender`` does the I/O around it. Certificates are
checked against certifi's roots, or against the file ``SSL_CERT_FILE`` names (the OpenSSL
convention), which is how tests and private deployments add their own CA.
"""

from __future__ import annotations

import functools
import os
import ssl
import time
from collections.abc import Callable
from typing import Any, Protocol

import certifi
import httpx

from tidings.channels.access_tokens import CachedToken
from tidings.channels.vendor_config import ChannelConfig
from tidings.channels.verdicts import Failure, Verdict, vendor_status
from tidings.contract import Outbound

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


class AuthFailed(Exception):
    """The vendor's token endpoint did not give a token; ``verdict`` says what to do."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


class VendorHttp(Protocol):
    """One vendor's protocol over HTTP: how it authenticates, asks and answers."""

    block: int  # the vendor's status codes (Vendor.status_block)
    needs_token: bool

    async def fetch_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        """A new access token and its lifetime in seconds, or ``AuthFailed``."""
        ...

    def request(self, out: Outbound, token: str | None, now: float) -> httpx.Request: ...

    def read(self, out: Outbound, status: int, headers: httpx.Headers, body: bytes) -> Verdict: ...

    def revoke_request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        """The request taking back a delivery the vendor took, read by ``read`` too; raises
        ``NotRecallable`` when it cannot be asked (vendors that recall)."""
        ...


class NotRecallable(Exception):
    """This delivery cannot be recalled (the words say why)."""


class HttpSender:
    """A ``Sender`` for the vendors that speak plain HTTP (all but APNs)."""

    def __init__(
        self,
        protocol: VendorHttp,
        concurrency: int,
        *,
        http2: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._protocol = protocol
        self._client = vendor_client(concurrency, http2=http2)
        self._clock = clock
        self._token = (
            CachedToken(lambda: protocol.fetch_token(self._client))
            if protocol.needs_token
            else None
        )

    async def attempt(self, out: Outbound) -> Verdict:
        return await self._exchange(out, self._protocol.request)

    async def revoke(self, out: Outbound) -> Verdict:
        try:
            return await self._exchange(out, self._protocol.revoke_request)
        except NotRecallable as exc:
            return Verdict(vendor_status(self._protocol.block, Failure.INVALID), str(exc))

    async def _exchange(
        self, out: Outbound, build: Callable[[Outbound, str | None, float], httpx.Request]
    ) -> Verdict:
        unreachable = vendor_status(self._protocol.block, Failure.CONN_CLOSED)
        try:
            token = await self._token.get() if self._token is not None else None
            response = await self._client.send(build(out, token, self._clock()))
        except AuthFailed as exc:
            return exc.verdict
        except httpx.HTTPError as exc:
            return Verdict(unreachable, f"{type(exc).__name__}: {exc}", retry=True)
        return self._protocol.read(out, response.status_code, response.headers, response.content)

    def refresh(self) -> None:
        if self._token is not None:
            self._token.invalidate()

    async def aclose(self) -> None:
        await self._client.aclose()


def token_answer(block: int, response: httpx.Response) -> dict[str, Any]:
    """A token endpoint's JSON answer, or ``AuthFailed``: retried when the vendor is down,
    final when it refused the credentials."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 500 or response.status_code == 429:
        failure = Failure.THROTTLED if response.status_code in (429, 503) else Failure.VENDOR_ERROR
        reason = f"token endpoint answered {response.status_code}"
        raise AuthFailed(
            Verdict(
                vendor_status(block, failure),
                reason,
                retry=True,
                retry_after=retry_after(response.headers),
            )
        )
    if response.status_code != 200 or not isinstance(body, dict):
        raise AuthFailed(
            Verdict(
                vendor_status(block, Failure.AUTH),
                f"token endpoint refused the credentials ({response.status_code}): "
                f"{response.text[:200]}",
            )
        )
    return body


async def client_credentials(
    block: int, client: httpx.AsyncClient, url: str, client_id: str, secret: str
) -> tuple[str, float]:
    """OAuth 2.0 client credentials (Huawei, Honor)."""
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    body = token_answer(block, await client.post(url, data=form))
    return _access_token(block, body)


def _access_token(block: int, body: dict[str, Any]) -> tuple[str, float]:
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthFailed(Verdict(vendor_status(block, Failure.AUTH), f"no access_token: {body}"))
    return token, float(body.get("expires_in") or 3600)


async def jwt_bearer(
    block: int, client: httpx.AsyncClient, url: str, assertion: str
) -> tuple[str, float]:
    """OAuth 2.0 JWT bearer grant (a Google service account, for FCM)."""
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    body = token_answer(block, await client.post(url, data=form))
    return _access_token(block, body)


class ClientCredentialsJson:
    """The shape Huawei and Honor share: an OAuth client-credentials token, then JSON posts
    carrying it as a bearer token. Subclasses give ``block``, ``body`` and ``read``, and
    ``replacement`` when they recall by overwriting (the replacement is posted as a send)."""

    block: int
    needs_token = True

    def __init__(self, config: ChannelConfig, send_url: str) -> None:
        self._config = config
        self._send_url = send_url

    async def fetch_token(self, client: httpx.AsyncClient) -> tuple[str, float]:
        config = self._config
        return await client_credentials(
            self.block, client, config["auth_url"], config["client_id"], config["client_secret"]
        )

    def headers(self, token: str | None, now: float) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    def body(self, out: Outbound, now: float) -> dict[str, Any]:
        raise NotImplementedError

    def replacement(self, out: Outbound, now: float) -> dict[str, Any]:
        raise NotRecallable(f"{type(self).__name__} does not recall")

    def request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        return self._post(token, now, self.body(out, now))

    def revoke_request(self, out: Outbound, token: str | None, now: float) -> httpx.Request:
        return self._post(token, now, self.replacement(out, now))

    def _post(self, token: str | None, now: float, body: dict[str, Any]) -> httpx.Request:
        return httpx.Request("POST", self._send_url, headers=self.headers(token, now), json=body)
