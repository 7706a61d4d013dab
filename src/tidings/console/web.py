"""What every console page shares: the signed-in session, CSRF, the app in the URL, rendering.

A page is an ``async def page(ctx) -> Response`` wrapped by ``page``: the wrapper finds the
session from its cookie (or sends the browser to sign in), checks the CSRF token of every POST,
and adds the security headers. Pages reach the domain only through ``ctx.services``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from tidings.console.accounts import Accounts, Operator, Session
from tidings.contract import status_label
from tidings.errors import ServiceError
from tidings.tenancy.models import App

if TYPE_CHECKING:
    from tidings.services import Services

HERE = Path(__file__).parent
SESSION_COOKIE = "tidings_console"
FLASH_COOKIE = "tidings_console_flash"
MAX_UPLOAD = 2 * 1024 * 1024  # one part of a form; the whole body is capped by limits.bodies

# Everything the console loads comes from the console itself; inline SVG needs no exception.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


class NotFound(Exception):
    """The page names something that does not exist, or that the operator may not see."""


class Console:
    """The console's share of the process: the services, the accounts and the page templates."""

    def __init__(self, services: Services, accounts: Accounts) -> None:
        self.services = services
        self.accounts = accounts
        self.templates = Jinja2Templates(directory=HERE / "templates")
        env = self.templates.env
        env.filters["when"] = format_instant
        env.filters["status_label"] = status_label
        env.globals["base"] = "/console"


def format_instant(millis: int | None, timezone: str = "UTC") -> str:
    """An epoch-millisecond instant as local time in ``timezone``, to the second."""
    if millis is None:
        return ""
    moment = datetime.fromtimestamp(millis / 1000, UTC).astimezone(ZoneInfo(timezone))
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Context:
    request: Request
    console: Console
    session: Session
    form: FormData

    @property
    def services(self) -> Services:
        return self.console.services

    @property
    def operator(self) -> Operator:
        return self.session.operator

    def field(self, name: str) -> str:
        """A text field of the submitted form, '' when absent; uploads are not text fields."""
        value = self.form.get(name)
        return value if isinstance(value, str) else ""

    async def app(self) -> App:
        """The app the URL names, if the operator may see its workspace."""
        workspace = self.request.path_params["workspace"]
        app_id = self.request.path_params["app_id"]
        if not self.operator.may_see(workspace):
            raise NotFound(f"no app {app_id} in workspace {workspace}")
        try:
            return await self.services.tenancy.resolve_app(workspace, app_id, None)
        except ServiceError:
            raise NotFound(f"no app {app_id} in workspace {workspace}") from None

    async def visible_apps(self) -> list[App]:
        return [a for a in await self.services.tenancy.apps() if self.operator.may_see(a.workspace)]

    def render(self, name: str, status: int = 200, **values: Any) -> Response:
        flash = self.request.cookies.get(FLASH_COOKIE)
        if flash is not None:
            flash = unquote(flash)
        response = self.console.templates.TemplateResponse(
            self.request,
            name,
            {
                "operator": self.operator,
                "csrf": self.session.csrf_token,
                "flash": flash,
                "path": self.request.url.path,
                "here": app_url(values["app"]) if values.get("app") else None,
                **values,
            },
            status_code=status,
        )
        if flash is not None:
            response.delete_cookie(FLASH_COOKIE, path="/console")
        return response


def redirect(url: str, flash: str | None = None) -> Response:
    """See Other, after a POST; ``flash`` is shown once on the page it leads to."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE, quote(flash), path="/console", httponly=True, samesite="lax"
        )
    return response


def app_url(app: App, rest: str = "") -> str:
    return f"/console/apps/{quote(app.workspace)}/{quote(app.app_id)}{rest}"


Page = Callable[[Context], Awaitable[Response]]


def page(handler: Page) -> Callable[[Request], Awaitable[Response]]:
    """A signed-in page: session from the cookie, CSRF checked on POST, security headers added."""

    async def endpoint(request: Request) -> Response:
        console: Console = request.app.state.console
        session = await console.accounts.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            response: Response = RedirectResponse(
                "/console/login?next=" + quote(request.url.path), status_code=303
            )
        else:
            form = FormData()
            if request.method == "POST":
                form = await request.form(max_part_size=MAX_UPLOAD)
            if request.method == "POST" and not csrf_ok(form.get("csrf"), session.csrf_token):
                response = Response(
                    "The form has expired or did not come from this console; reload the page "
                    "and send it again.",
                    status_code=403,
                    media_type="text/plain",
                )
            else:
                ctx = Context(request, console, session, form)
                try:
                    response = await handler(ctx)
                except NotFound as exc:
                    response = ctx.render("not_found.html", status=404, message=str(exc))
        response.headers.update(SECURITY_HEADERS)
        return response

    return endpoint


def too_large(scope: Scope, limit: int) -> Response:
    """The console's 413, for a form limits.bodies refused."""
    return Response(
        f"The form is larger than {limit} bytes.", status_code=413, media_type="text/plain"
    )


def csrf_ok(sent: object, expected: str) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), expected.encode())


def new_token() -> str:
    return secrets.token_urlsafe(32)
