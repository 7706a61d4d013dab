"""The MPS actions the endpoint serves: a registry of names, versions, permissions and handlers.

Each handler turns the decoded parameters into a domain call and the result into its response
family's JSON; a ``ServiceError`` from the domain becomes that family's failure body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tidings.errors import ServiceError
from tidings.openapi.form import Params
from tidings.push.service import Caller
from tidings.store.nonces import Nonce
from tidings.tenancy.models import AccessKey, App

if TYPE_CHECKING:
    from tidings.services import Services

V2019 = "2019-08-21"
V2020 = "2020-10-28"

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated call on its way to a handler. ``nonce`` is its signature nonce: a
    handler whose action ``carries_nonce`` hands it to its first write, which records it."""

    request_id: str
    params: Params
    key: AccessKey
    services: Services
    nonce: Nonce

    def caller(self) -> Caller:
        """The call as a push knows it (push/service.py)."""
        return Caller(self.request_id, self.nonce)

    async def app(self) -> App:
        p = self.params
        return await self.services.tenancy.resolve_app(
            p.get("WorkspaceId"), p.get("AppId"), p.get("TenantId")
        )


@dataclass(frozen=True, slots=True)
class Action:
    """A registered action. ``carries_nonce``: its handler writes nothing, and sends nothing,
    before a write that records ``Call.nonce`` in its transaction (store/nonces.py,
    ``write_claiming``), so the endpoint need not record it alone first (openapi/endpoint.py)."""

    name: str
    versions: frozenset[str]
    writes: bool
    handler: Callable[[Call], Awaitable[Body]]
    failure: Callable[[str, ServiceError], Body]
    carries_nonce: bool


REGISTRY: dict[str, Action] = {}


def action(
    name: str,
    *,
    writes: bool,
    failure: Callable[[str, ServiceError], Body],
    versions: tuple[str, ...] = (V2020,),
    carries_nonce: bool = False,
) -> Callable[[Callable[[Call], Awaitable[Body]]], Callable[[Call], Awaitable[Body]]]:
    """Register a handler under an MPS action name."""

    def register(handler: Callable[[Call], Awaitable[Body]]) -> Callable[[Call], Awaitable[Body]]:
        REGISTRY[name] = Action(name, frozenset(versions), writes, handler, failure, carries_nonce)
        return handler

    return register


def find(name: str, version: str) -> Action | None:
    found = REGISTRY.get(name)
    return found if found is not None and version in found.versions else None


# Importing the handler modules fills the registry.
from tidings.openapi.actions import (  # noqa: E402,F401
    analytics,
    devices,
    push,
    revoke,
    schedules,
    templates,
)
