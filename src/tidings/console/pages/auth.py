"""Signing in and out.

The sign-in form has no session to carry a CSRF token yet, so it uses a double-submit token: a
random value in a cookie of its own that the form must repeat. A successful sign-in starts a new
session (never reusing one), so a token planted before sign-in is worth nothing after it.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tidings.console.accounts import SignInRefused
from tidings.console.web import (
    SECURITY_HEADERS,
    SESSION_COOKIE,
    Console,
    Context,
    csrf_ok,
    new_token,
    page,
)

LOGIN_COOKIE = "tidings_console_login"


async def login(request: Request) -> Response:
    console: Console = request.app.state.console
    target = _safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if await console.accounts.session(request.cookies.get(SESSION_COOKIE)):
            return RedirectResponse(target, status_code=303)
        return _form(request, console, target)
    form = await request.form()
    username = form.get("username")
    password = form.get("password")
    if not csrf_ok(form.get("csrf"), request.cookies.get(LOGIN_COOKIE, "")):
        return _form(request, console, target, "The form expired; sign in again.", status=400)
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        return _form(request, console, target, "Enter your username and password.", status=400)
    address = request.client.host if request.client else "unknown"
    try:
        token, _ = await console.accounts.sign_in(username, password, address)
    except SignInRefused as exc:
        status = 429 if exc.retry_after_s else 401
        response = _form(request, console, target, str(exc), status=status, username=username)
        if exc.retry_after_s:
            response.headers["retry-after"] = str(exc.retry_after_s)
        return response
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=console.accounts.session_seconds,
        path="/console",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    response.headers.update(SECURITY_HEADERS)
    return response


@page
async def logout(ctx: Context) -> Response:
    await ctx.console.accounts.sign_out(ctx.request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


def _form(
    request: Request,
    console: Console,
    target: str,
    error: str | None = None,
    *,
    status: int = 200,
    username: str = "",
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or new_token()
    response = console.templates.TemplateResponse(
        request,
        "login.html",
        {"csrf": token, "error": error, "next": target, "username": username},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/console",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _safe_next(raw: str | None) -> str:
    """Where to go after signing in: a console path, never another site."""
    if raw and raw.startswith("/console/") and not raw.startswith("//") and "\\" not in raw:
        return quote(raw, safe="/%?=&-_.~")
    return "/console/"
