"""The RPC endpoint at ``/``: from an HTTP request to an action's JSON answer.

The checks run in the gateway's order: parameters decodable, signature scheme and required
parameters, timestamp, AccessKey, signature, nonce, action and version, permission; only then does
the action see the call. (A push action records the nonce in its own write: ``_record`` says why
its answers are the same.) Gateway failures answer with their HTTP status and the gateway's JSON
body; business failures answer 200 with the action's own failure body. Nothing a client sends can
produce a traceback in an answer: an unexpected error is logged with its request id and answered
with a bare InternalError (a database out of reach with ServiceUnavailable).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Scope

from tidings import logs, metrics
from tidings.errors import ServiceError
from tidings.limits.bodies import BodyTooLarge
from tidings.openapi import actions, errors, signing
from tidings.openapi.envelopes import JSON_TYPE, encode, gateway_error, new_request_id
from tidings.openapi.form import FormError, Params, decode_params
from tidings.openapi.replay import MAX_NONCE_LENGTH, Nonces
from tidings.store.lost_connections import StoreUnavailable
from tidings.store.nonces import Nonce, NonceUsed
from tidings.tenancy.models import AccessKey
from tidings.tenancy.permissions import denial

if TYPE_CHECKING:
    from tidings.services import Services

log = logging.getLogger("tidings.openapi")

_FORM_TYPE = "application/x-www-form-urlencoded"
_OK_CODES = frozenset({"OK", "100"})
_PUSH_ACTIONS = frozenset({"PushSimple", "PushTemplate", "PushMultiple", "PushBroadcast"})


class RpcEndpoint:
    def __init__(
        self,
        services: Services,
        nonces: Nonces,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        settings = services.settings
        self._services = services
        self._nonces = nonces
        self._clock = clock
        self._skew = settings.timestamp_skew_seconds

    async def __call__(self, request: Request) -> Response:
        request_id = new_request_id()
        with logs.bound(requestId=request_id):
            return await self._respond(request, request_id)

    def stopping(self) -> Response:
        """The answer to a call that came after the server began to stop: 503, nothing done,
        so the caller may send it again (to another server)."""
        request_id = new_request_id()
        failure = errors.stopping()
        return _reply(
            request_id, failure.status, gateway_error(request_id, "", failure.code, failure.message)
        )

    async def _respond(self, request: Request, request_id: str) -> Response:
        try:
            body = await self._answer(request, request_id)
            status = 200
        except errors.GatewayError as exc:
            status = exc.status
            body = gateway_error(request_id, request.headers.get("host", ""), exc.code, exc.message)
        except FormError as exc:
            failure = errors.invalid_parameter(str(exc))
            status = failure.status
            body = gateway_error(
                request_id, request.headers.get("host", ""), failure.code, failure.message
            )
        except (BodyTooLarge, ClientDisconnect):
            raise  # limits.bodies answers it, or drops it: the client is gone
        except Exception as exc:
            failure = _unexpected(exc)
            status = failure.status
            body = gateway_error(
                request_id, request.headers.get("host", ""), failure.code, failure.message
            )
        action, code = _action_label(request), _code(body)
        metrics.request(action, code)
        logs.bind(task=_task_of(action, body))
        # Every request is logged with its id: refusals at info, the rest only at debug.
        log.log(
            logging.DEBUG if status == 200 and code in _OK_CODES else logging.INFO,
            "%s answered %s %s",
            action,
            status,
            code,
        )
        return _reply(request_id, status, body)

    async def _answer(self, request: Request, request_id: str) -> dict[str, Any]:
        if request.method not in ("GET", "POST"):
            raise errors.unsupported_method(request.method)
        raw_body = await request.body()  # capped by limits.bodies
        content_type = request.headers.get("content-type", _FORM_TYPE)
        if raw_body and not content_type.lower().startswith(_FORM_TYPE):
            raise FormError(f"the body must be {_FORM_TYPE}, not {content_type[:60]!r}")
        raw_query = request.scope["query_string"]
        signed = signing.SignedRequest(
            method=request.method,
            query=decode_params(raw_query, "query"),
            form=decode_params(raw_body, "body"),
            headers=_headers(request),
            body=raw_body,
            raw_query=raw_query,
        )
        claim = signing.read_claim(signed)
        request.state.action = claim.action
        if len(claim.nonce) > MAX_NONCE_LENGTH:
            raise errors.invalid_parameter(
                f"SignatureNonce is {len(claim.nonce)} characters long; "
                f"the limit is {MAX_NONCE_LENGTH}"
            )
        signing.check_fresh(claim, self._clock(), self._skew)
        found = await self._services.tenancy.credentials(claim.access_key_id)
        if found is None:
            raise errors.access_key_not_found()
        key, secret = found
        if not key.active:
            raise errors.access_key_inactive()
        signing.verify(claim, signed, secret)
        nonce = self._nonces.pending(claim.access_key_id, claim.nonce)
        action = actions.find(claim.action, claim.version)
        if action is None or not action.carries_nonce:
            await self._record(nonce)
        try:
            body = await self._act(action, claim, signed, key, request_id, nonce)
        except NonceUsed:
            raise errors.nonce_used() from None
        except Exception:
            await self._record(nonce)
            raise
        await self._record(nonce)
        return body

    async def _record(self, nonce: Nonce) -> None:
        """Record the call's nonce alone unless it is recorded already; nonce_used for a
        replay.

        A push action (``carries_nonce``) records it in the write that accepts the push, so the
        call costs one writer transaction and one fsync, not two; every other action has it
        recorded here before it runs, as before. A carrying action that stored nothing (it was
        refused or failed, or its write rolled back) has it recorded here after it ran, before
        the answer goes out. Either way a replay is answered nonce_used whatever else is wrong
        with it, and leaves nothing written or sent: the carrying write refuses it before it
        writes. (A call dropped before its write records nothing; it did nothing either, so a
        copy of it sent later is the first to act.)"""
        if not await self._nonces.record(nonce):
            raise errors.nonce_used()

    async def _act(
        self,
        action: actions.Action | None,
        claim: signing.Claim,
        signed: signing.SignedRequest,
        key: AccessKey,
        request_id: str,
        nonce: Nonce,
    ) -> dict[str, Any]:
        """The action's answer to a verified call: action and version, permission, handler."""
        if action is None:
            raise errors.api_not_found(claim.action, claim.version)
        params = Params(signing.params_of(signed))
        logs.bind(workspace=params.get("WorkspaceId"), app=params.get("AppId"))
        reason = denial(
            key,
            workspace=params.get("WorkspaceId"),
            app_id=params.get("AppId"),
            writes=action.writes,
        )
        if reason:
            raise errors.forbidden(f"{reason} ({action.name})")
        call = actions.Call(request_id, params, key, self._services, nonce)
        try:
            return await action.handler(call)
        except ServiceError as exc:
            return action.failure(request_id, exc)


def too_large(scope: Scope, limit: int) -> Response:
    """The gateway's RequestEntityTooLarge, for a body limits.bodies refused."""
    request_id = new_request_id()
    host = Headers(scope=scope).get("host", "")
    failure = errors.body_too_large(limit)
    body = gateway_error(request_id, host, failure.code, failure.message)
    metrics.request("unknown", _code(body))
    return _reply(request_id, failure.status, body)


def _reply(request_id: str, status: int, body: dict[str, Any]) -> Response:
    return Response(
        encode(body),
        status_code=status,
        media_type=JSON_TYPE,
        headers={"x-acs-request-id": request_id},
    )


def _unexpected(exc: Exception) -> errors.GatewayError:
    """The answer to a call that failed other than by its content, logged: 503 when the
    database was out of reach (store/database.py ran the work again on a new connection
    first, where that was safe), which the caller may send again (a push with the same
    msgKeys gets the same task, never a second one); 500 for any other fault."""
    if isinstance(exc, StoreUnavailable):
        log.warning("request failed: %s", exc)
        return errors.database_unavailable()
    log.exception("request failed")
    return errors.internal_error()


def _action_label(request: Request) -> str:
    """The action a request named, for metrics; names no action serves are one label, so a
    caller cannot mint labels."""
    name = getattr(request.state, "action", None)
    return name if name in actions.REGISTRY else "unknown"


def _task_of(action: str, body: dict[str, Any]) -> str | None:
    """The task id a push action answered with (``PushResult.Data``), so the request's log line
    names the task that delivery's log lines name; other actions' Data is not a task."""
    if action not in _PUSH_ACTIONS:
        return None
    result = body.get("PushResult")
    return result.get("Data") if isinstance(result, dict) else None


def _code(body: dict[str, Any]) -> str:
    """The answer's result code, whichever family it is in."""
    return str(body.get("ResultCode") or body.get("Code") or "")


def _headers(request: Request) -> dict[str, str]:
    """Header names lower-cased; repeated headers joined as the SDK signs them (sorted, by ',')."""
    grouped: dict[str, list[str]] = {}
    for raw_name, raw_value in request.headers.raw:
        try:
            value = raw_value.decode("utf-8")
        except UnicodeDecodeError:
            value = raw_value.decode("latin-1")
        grouped.setdefault(raw_name.decode("latin-1").lower(), []).append(value)
    return {
        name: values[0] if len(values) == 1 else ",".join(sorted(values))
        for name, values in grouped.items()
    }
