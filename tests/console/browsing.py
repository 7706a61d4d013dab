"""A console user over plain HTTP: operators made with the real command, a signed-in client."""

from __future__ import annotations

import html
import re

import httpx

from tests.support.servers import Server

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def add_operator(server: Server, username: str, password: str, *grants: str) -> None:
    """``tidings admin create``, the password on stdin; grants as its options. It runs in this
    process (``Server.cli``); tests/console/test_admin_cli.py starts the command itself."""
    server.cli("admin", "create", "--username", username, *grants, stdin=password + "\n")


class Visitor:
    """One browser's worth of cookies, following no redirect by itself."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
        self.csrf = ""

    def get(self, path: str, **options: object) -> httpx.Response:
        response = self.http.get(path, **options)
        self._remember(response)
        return response

    def post(self, path: str, data: dict | None = None, **options: object) -> httpx.Response:
        """A form post carrying the CSRF token of the last page seen, unless ``data`` has one."""
        body = {"csrf": self.csrf, **(data or {})}
        response = self.http.post(path, data=body, **options)
        self._remember(response)
        return response

    def sign_in(self, username: str, password: str) -> httpx.Response:
        """The sign-in form's answer; once signed in, the session's page is read too, so
        later posts carry the session's CSRF token."""
        self.get("/console/login")
        answer = self.post("/console/login", {"username": username, "password": password})
        if answer.status_code == 303:
            self.get(answer.headers["location"])
        return answer

    def _remember(self, response: httpx.Response) -> None:
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found[1]

    def close(self) -> None:
        self.http.close()


def text_of(response: httpx.Response) -> str:
    """The page's text with tags dropped and entities decoded, white space squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def field_error(response: httpx.Response, field: str) -> str | None:
    """The error shown beside an input (its ``{field}-error`` element), or None."""
    found = re.search(rf'id="{re.escape(field)}-error"[^>]*>(.*?)</', response.text, re.S)
    return html.unescape(found[1]).strip() if found else None
