"""The Web Push example under the console in a real browser (Debian's Chromium, Playwright): the
page registers its service worker, and asks for a subscription with the app's VAPID key (headless
Chromium has no push service to give one, so the page shows the browser's refusal instead)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.console.chromium import chromium, need_chromium
from tests.support.servers import running_server
from tidings.channels import webpush


def test_the_example_page_registers_its_service_worker(tmp_path: Path) -> None:
    need_chromium()
    key = webpush.public_key(webpush.new_private_key())
    with running_server("sqlite", tmp_path) as server, chromium() as browser:
        context = browser.new_context()
        context.grant_permissions(["notifications"], origin=server.url)
        page = context.new_page()
        page.goto(f"{server.url}/console/static/webpush/index.html?key={key}")
        worker = page.locator("#worker[data-state=registered]")
        worker.wait_for(timeout=15_000)
        assert worker.inner_text().endswith("/console/static/webpush/")
        assert (
            page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
            == f"{server.url}/console/static/webpush/sw.js"
        )
        page.click("#subscribe")
        shown = page.locator("#subscription")
        page.wait_for_function("document.getElementById('subscription').textContent !== ''")
        text = shown.inner_text()
        if text.startswith("{"):  # a browser with a push service: what PushReport takes
            subscription = json.loads(text)
            assert set(subscription["keys"]) >= {"p256dh", "auth"}
            assert subscription["endpoint"].startswith("https://")
        else:
            assert text.startswith("could not subscribe: ")
