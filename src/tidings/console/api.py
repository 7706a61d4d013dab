"""JSON endpoints for the console's pages, behind the console's sign-in.

``GET /console/api/apps/{workspace}/{app_id}/trace?msgKey=K`` answers a message's trace in the
shape ``tidings trace --json`` prints (analytics/trace.py's ``to_json``): 401 without a signed-in
session, 404 for an app the operator may not see or a msgKey the app never used.
"""

from __future__ import annotations

import contextlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tidings.console.web import SECURITY_HEADERS, SESSION_COOKIE, Console
from tidings.errors import ServiceError


async def trace(request: Request) -> Response:
    console: Console = request.app.state.console
    session = await console.accounts.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return _answer({"error": "sign in to the console first"}, 401)
    workspace = request.path_params["workspace"]
    app_id = request.path_params["app_id"]
    msg_key = request.query_params.get("msgKey", "")
    if not msg_key:
        return _answer({"error": "give the message's msgKey as ?msgKey="}, 400)
    services = console.services
    app = None
    if session.operator.may_see(workspace):
        with contextlib.suppress(ServiceError):
            app = await services.tenancy.resolve_app(workspace, app_id, None)
    if app is None:
        return _answer({"error": f"no app {app_id} in workspace {workspace}"}, 404)
    found = await services.analytics.trace(app.pk, msg_key)
    if found is None:
        return _answer({"error": f"no message with msgKey {msg_key!r} in app {app_id}"}, 404)
    return _answer(found.to_json(), 200)


def _answer(body: dict, status: int) -> Response:
    return JSONResponse(body, status_code=status, headers=SECURITY_HEADERS)
