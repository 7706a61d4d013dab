"""Debian's Chromium for the console's browser tests (never a downloaded browser build), driven
by Playwright: launching it, and signing an operator in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
expect = playwright_api.expect


def need_chromium() -> None:
    """Skip the test when the browser is missing (``.ci/run`` installs it)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium; make what the test needs through the services before this (the
    services run their own event loop, which Playwright's would stand in the way of)."""
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def sign_in(page, base_url: str, username: str, password: str, workspace: str) -> None:
    """Sign in on the form, and wait for the workspace's apps."""
    page.goto(f"{base_url}/console/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"Workspace {workspace}")).to_be_visible()


def create_template(page, app_url: str, name: str, title: str, content: str) -> None:
    """Create a template on its form, and wait for the page to say so."""
    page.goto(f"{app_url}/templates/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Content", exact=True).fill(content)
    page.get_by_role("button", name="Create template").click()
    expect(page.get_by_role("status")).to_have_text(f"Created template {name}.")
