"""Where Tidings may send a request whose URL a client chose: the guard against server-side
request forgery.

A Web Push subscription's endpoint comes from the browser, through the app's backend
(PushReport). Without a check, anyone who can report a device could make Tidings POST to its
own network (a metadata service, an admin port, the database). So an endpoint must be https and
every address its host resolves to must be public: not private, loopback, link-local,
multicast, reserved or unspecified. It is checked when the subscription is reported and again
right before each send, since DNS may answer differently later; the send then connects to the
very address that was checked (``pinned``), so a name cannot resolve to a public address for
the check and a private one for the connection.

``allowed`` names hosts exempt from both rules (a push service on the operator's own network,
a test's local fake): an explicit, documented list, never a switch that turns the guard off.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Collection

import httpx


class DestinationRefused(ValueError):
    """A URL Tidings will not send to; the message says why."""


class Unresolved(DestinationRefused):
    """Its host does not resolve (now): refused at registration, retried when sending."""


def _address_refused(address: str) -> str | None:
    """What kind of address ``address`` is when Tidings may not reach it; None when public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    kinds = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved or not ip.is_global),
    )
    return next((f"a {kind} address" for kind, found in kinds if found), None)


async def resolve(url: str, allowed: Collection[str] = ()) -> str:
    """The address to connect to for ``url``, checked; ``DestinationRefused`` if it may not
    be reached."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise DestinationRefused("it is not a URL") from None
    host = parsed.host
    if not host:
        raise DestinationRefused("it has no host")
    exempt = host in allowed
    if parsed.scheme != "https" and not exempt:
        raise DestinationRefused("it must be an https URL")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Unresolved(f"its host {host!r} does not resolve") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise Unresolved(f"its host {host!r} does not resolve")
    if not exempt:
        for address in addresses:
            why = _address_refused(address)
            if why is not None:
                raise DestinationRefused(f"its host {host!r} resolves to {why} ({address})")
    return addresses[0]


def pinned(request: httpx.Request, address: str) -> httpx.Request:
    """``request`` sent to ``address`` (as ``resolve`` gave it) instead of resolving its host
    again: the Host header and TLS (SNI and the certificate's name) still use the host."""
    headers = request.headers.copy()
    headers["host"] = request.url.netloc.decode("ascii")
    return httpx.Request(
        request.method,
        request.url.copy_with(host=address),
        headers=headers,
        content=request.content,
        extensions={**request.extensions, "sni_hostname": request.url.host},
    )
