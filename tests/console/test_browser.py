"""The seed's flow in a real browser: Debian's Chromium driven by Playwright against a real server,
with real device clients (``tidings device listen``) receiving what the console sends.

Sign in (by keyboard), create a template and watch its preview, check and send a batch push from a
CSV, see it arrive on two devices and the task's counts change when a third user binds a device,
trace a msgKey, schedule a push and cancel it. Each main page is saved as a screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.console.browsing import add_operator
from tests.console.chromium import chromium, create_template, expect, need_chromium, sign_in
from tests.support.clients import new_sdk
from tests.support.devices import Listener, bind
from tests.support.servers import Server, running_server
from tests.support.webhook_receiver import receiving

WORKSPACE, APP_ID = "test", "ONEX570DA89211721"
BROADCAST_APP = "ONEXBCAST00000001"  # the broadcast test's own app
USER, PASSWORD = "operator", "operator passphrase"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
README_SHOTS = ("template", "task")  # the two the README shows
UPDATE = "TIDINGS_UPDATE_SCREENSHOTS"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, tuple[str, str]]]:
    """The server, and an AccessKey for the SDK (made before Playwright's loop runs here, as
    are the apps)."""
    need_chromium()
    with running_server("sqlite", tmp_path_factory.mktemp("console-browser")) as server:
        server.create_app(WORKSPACE, APP_ID)
        server.create_app(WORKSPACE, BROADCAST_APP)
        add_operator(server, USER, PASSWORD, "--workspace", WORKSPACE)
        yield server, server.create_key(WORKSPACE)


@pytest.fixture(scope="module")
def browser(site: tuple[Server, tuple[str, str]]) -> Iterator:
    with chromium() as launched:
        yield launched


class Shots:
    """Screenshots of the main pages, into the test's temporary directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.taken: list[str] = []

    def take(self, page, name: str) -> None:
        page.screenshot(path=self.directory / f"{name}.png", full_page=True)
        self.taken.append(name)


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shots]:
    """Also copies the README's two into docs/screenshots/ when they are missing there, or when
    TIDINGS_UPDATE_SCREENSHOTS is set (each run differs in times and ids, so copying on every
    run would leave the committed pictures changed in every working tree)."""
    taken = Shots(tmp_path_factory.mktemp("screenshots"))
    yield taken
    DOCS.mkdir(parents=True, exist_ok=True)
    for name in README_SHOTS:
        target = DOCS / f"{name}.png"
        if name in taken.taken and (os.environ.get(UPDATE) or not target.exists()):
            shutil.copyfile(taken.directory / f"{name}.png", target)


def test_the_seed_flow_in_the_browser(
    site: tuple[Server, tuple[str, str]], browser, shots: Shots, tmp_path: Path
) -> None:
    server, key = site
    sdk = new_sdk(server, key)
    devices = [Listener(server, APP_ID, WORKSPACE, tmp_path / f"device{n}.json") for n in range(3)]
    try:
        tokens = [device.connected()["DeliveryToken"] for device in devices]
        for token, user in zip(tokens[:2], ("userid1024", "userid1025"), strict=True):
            assert bind(sdk, APP_ID, WORKSPACE, token, user).result_code == "OK"

        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.set_default_timeout(15_000)
        app = f"{server.url}/console/apps/{WORKSPACE}/{APP_ID}"

        # Sign in with the keyboard alone: the username field has focus, Tab, Enter.
        page.goto(f"{server.url}/console/")
        expect(page).to_have_url(re.compile(r"/console/login\?next=/console/$"))
        shots.take(page, "sign-in")
        page.keyboard.type(USER)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Workspace test")).to_be_visible()
        shots.take(page, "apps")

        # A template, previewed live as it is typed.
        page.goto(f"{app}/templates/new")
        page.get_by_label("Name", exact=True).fill("Test template")
        page.get_by_label("Title", exact=True).fill("Congratulations")
        page.get_by_label("Content", exact=True).fill(
            "Hello #name#, congratulations on winning #money# yuan"
        )
        preview = page.get_by_test_id("preview")
        expect(preview).to_contain_text("Hello [name], congratulations on winning [money] yuan")
        page.get_by_label("#name# sample value").fill("Zhang San")
        expect(preview).to_contain_text("Hello Zhang San, congratulations on winning [money]")
        shots.take(page, "template")
        page.get_by_role("button", name="Create template").click()
        expect(page.get_by_role("status")).to_have_text("Created template Test template.")
        shots.take(page, "templates")

        # A batch from a CSV: checked row by row, then sent.
        stamp = str(int(time.time() * 1000))
        keys = [f"{stamp}-{n}" for n in range(3)]
        page.goto(f"{app}/push")
        page.get_by_label("Task name").fill("Multiple test")
        page.get_by_label("CSV", exact=True).fill(
            "target,msgKey,name,money\n"
            f"userid1024,{keys[0]},Zhang San,200\n"
            f"userid1025,{keys[0]},Li Si,300\n"
        )
        page.get_by_role("button", name="Check").click()
        expect(page.get_by_test_id("batch-summary")).to_contain_text("2 rows, 1 with a problem")
        expect(page.locator('tr[data-row="2"]')).to_contain_text("repeats TargetMsg.1.MsgKey")
        page.get_by_label("CSV", exact=True).fill(
            "target,msgKey,name,money\n"
            f"userid1024,{keys[0]},Zhang San,200\n"
            f"userid1025,{keys[1]},Li Si,300\n"
            f"userid1026,{keys[2]},Wang Wu,400\n"
        )
        page.get_by_role("button", name="Check").click()
        expect(page.get_by_test_id("batch-summary")).to_contain_text("3 rows, all ready")
        expect(page.locator('tr[data-row="2"]')).to_contain_text(
            "Hello Li Si, congratulations on winning 300 yuan"
        )
        shots.take(page, "push")
        page.get_by_role("button", name="Send").click()
        task_id = page.get_by_test_id("sent-task").inner_text()

        # It arrives on the two bound devices.
        [first] = devices[0].messages(1)
        [second] = devices[1].messages(1)
        assert (first["msgKey"], first["content"]) == (
            keys[0],
            "Hello Zhang San, congratulations on winning 200 yuan",
        )
        assert (second["msgKey"], second["taskId"]) == (keys[1], task_id)

        # The task's counts: two delivered, one waiting for its user to bind a device...
        page.goto(f"{app}/tasks/{task_id}")
        _reload_until(page, "delivered", "2")
        expect(page.locator('tr[data-status="1"]')).to_contain_text("no device bound to the user")
        # ...until that user binds one.
        assert bind(sdk, APP_ID, WORKSPACE, tokens[2], "userid1026").result_code == "OK"
        assert devices[2].messages(1)[0]["msgKey"] == keys[2]
        _reload_until(page, "delivered", "3")
        expect(page.get_by_test_id("waiting")).to_have_text("0")
        shots.take(page, "task")
        page.goto(f"{app}/tasks")
        expect(page.locator(f'tr[data-task="{task_id}"] [data-count="delivered"]')).to_have_text(
            "3"
        )
        shots.take(page, "tasks")

        # Trace one msgKey to the device that has it.
        page.goto(f"{app}/trace")
        page.get_by_label("msgKey").fill(keys[1])
        page.get_by_role("button", name="Trace").click()
        expect(page.get_by_test_id("delivery-status")).to_have_text("delivered")
        expect(page.locator("tbody")).to_contain_text(tokens[1])
        shots.take(page, "trace")

        # The device behind a user: online, bound, no vendor token.
        page.goto(f"{app}/devices")
        page.get_by_label("userId").fill("userid1025")
        page.get_by_role("button", name="Find the user's devices").click()
        found = page.locator(f'section[data-device="{tokens[1]}"]')
        expect(found.get_by_test_id("presence")).to_contain_text("online")
        expect(found.get_by_test_id("binding")).to_contain_text("userid1025")
        shots.take(page, "devices")

        # Arrivals over the last day.
        page.goto(f"{app}/analytics")
        expect(page.get_by_test_id("arrived")).to_have_text("3")
        shots.take(page, "analytics")

        # A vendor channel: a missing key is named beside the settings, secrets never shown.
        page.goto(f"{app}/channels")
        page.get_by_label("Channel", exact=True).select_option("xiaomi")
        settings = page.get_by_label("Settings (JSON)")
        settings.fill('{"package_name": "com.example.news"}')
        page.get_by_role("button", name="Save channel").click()
        expect(page.locator("#config-error")).to_contain_text("app_secret")
        settings.fill('{"package_name": "com.example.news", "app_secret": "s3cr3t-xiaomi"}')
        page.get_by_role("button", name="Save channel").click()
        expect(page.locator('tr[data-channel="xiaomi"]')).to_contain_text("com.example.news")
        assert "s3cr3t-xiaomi" not in page.content()
        shots.take(page, "channels")

        # A webhook endpoint: added, its secret shown once, a test event sent and verified by
        # the receiver, the attempt listed with its answer, then replayed.
        with receiving() as receiver:
            page.goto(f"{app}/webhooks")
            for box in page.get_by_role("checkbox").all():
                box.uncheck()
            page.get_by_label("URL", exact=True).fill(receiver.url)
            page.get_by_role("button", name="Add endpoint").click()
            expect(page.locator("#events-error")).to_contain_text("events")
            page.get_by_label("delivery.arrived").check()
            page.get_by_label("delivery.opened").check()
            page.get_by_role("button", name="Add endpoint").click()
            secret = page.get_by_test_id("new-secret").locator(".mono").inner_text().strip()
            assert secret.startswith("whsec_")
            receiver.secrets.append(secret)
            endpoint = page.locator("section[data-endpoint]")
            expect(endpoint).to_contain_text("delivery.arrived, delivery.opened")
            endpoint.get_by_role("button", name="Send test event").click()
            expect(page.get_by_role("status")).to_contain_text(": 200.")
            assert "whsec_" not in page.content()
            expect(page.locator("tr.ok[data-attempt]")).to_contain_text('{"ok":true}')
            tested = receiver.wait_for(1, kind="webhook.test")
            assert len(tested) == 1 and receiver.unverified == 0
            shots.take(page, "webhooks")
            page.get_by_role("button", name="Replay").click()
            expect(page.get_by_role("status")).to_contain_text("1 event(s)")
            again = receiver.wait_for(2, kind="webhook.test")
            assert [e["id"] for e in again] == [tested[0]["id"]] * 2

        # Schedule a push for tomorrow morning in the app's time zone, then cancel it.
        tomorrow = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)
        page.goto(f"{app}/push")
        page.get_by_label("Task name").fill("Tomorrow's news")
        page.get_by_label("CSV", exact=True).fill(
            f"target,msgKey,name,money\nuserid1024,{stamp}-later,Zhang San,1\n"
        )
        page.get_by_label("Once, later").check()
        page.get_by_label("Date and time").fill(f"{tomorrow.isoformat()}T09:00")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("heading", name="Scheduled")).to_be_visible()
        scheduled_id = page.get_by_test_id("sent-task").inner_text()
        page.goto(f"{app}/scheduled")
        row = page.locator(f'tr[data-occurrence="{scheduled_id}"]')
        expect(row).to_contain_text(f"{tomorrow.isoformat()} 09:00:00")
        expect(row).to_contain_text("waiting")
        shots.take(page, "scheduled")
        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name="Cancel").click()
        expect(page.get_by_role("status")).to_contain_text(
            f"Cancelled 1 waiting occurrence of {scheduled_id}."
        )
        page.goto(f"{app}/scheduled?all=1")
        expect(page.locator(f'tr[data-occurrence="{scheduled_id}"]')).to_contain_text("cancelled")
        devices[0].quiet(0.3)

        page.goto(f"{server.url}/console/keys")
        shots.take(page, "keys")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{app}/tasks/{task_id}")
        shots.take(page, "task-phone")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.close()
    finally:
        for device in devices:
            device.stop()


def _reload_until(page, test_id: str, value: str, seconds: float = 10) -> None:
    """Reload until the page shows ``value`` (the page is server-rendered: no live updates)."""
    deadline = time.monotonic() + seconds
    while page.get_by_test_id(test_id).inner_text() != value:
        assert time.monotonic() < deadline, f"{test_id} stayed {page.get_by_test_id(test_id)}"
        time.sleep(0.2)
        page.reload()


def test_a_broadcast_and_a_revocation_in_the_browser(
    site: tuple[Server, tuple[str, str]], browser, tmp_path: Path
) -> None:
    """A broadcast reaches a connected device; a message revoked from the console is withdrawn
    on the device (its revoke frame). An app of its own, so the seed flow's counts stay theirs."""
    server, _ = site
    app_id = BROADCAST_APP
    device = Listener(server, app_id, WORKSPACE, tmp_path / "device.json")
    try:
        token = device.connected()["DeliveryToken"]
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.set_default_timeout(15_000)
        app = f"{server.url}/console/apps/{WORKSPACE}/{app_id}"
        sign_in(page, server.url, USER, PASSWORD, WORKSPACE)
        create_template(page, app, "Bulletin", "Bulletin", "Today: #what#")

        # A broadcast to every Android device: the form names a refusal beside its input first.
        page.goto(f"{app}/push")
        page.get_by_role("link", name="Broadcast").click()
        page.get_by_label("Placeholder values").fill("what=sunshine")
        page.get_by_label("Task name").fill("Weather")
        page.get_by_label("Which devices").select_option("1")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#msg_key-error")).to_contain_text("Msgkey is required")
        expect(page.get_by_label("msgKey")).to_have_attribute("aria-invalid", "true")
        page.get_by_label("msgKey").fill("weather-1")
        page.get_by_role("button", name="Send").click()
        broadcast_task = page.get_by_test_id("sent-task").inner_text()
        [arrived] = device.messages(1)
        assert (arrived["msgKey"], arrived["content"], arrived["taskId"]) == (
            "weather-1",
            "Today: sunshine",
            broadcast_task,
        )

        # A simple push to the device, then that message revoked from the Revoke page.
        page.get_by_role("link", name="Simple push").click()
        page.get_by_label("Title").fill("Oops")
        page.get_by_label("Content").fill("Sent by mistake")
        page.get_by_label("Task name").fill("Mistake")
        page.get_by_label("Targets are").select_option("1")
        page.get_by_label("Targets", exact=True).fill(f"{token},oops-1")
        page.get_by_role("button", name="Send").click()
        [mistake] = device.messages(1)
        assert mistake["msgKey"] == "oops-1"
        page.get_by_role("link", name="Revoke", exact=True).click()
        page.get_by_label("msgKey").fill("oops-1")
        page.get_by_label("Target", exact=True).fill("someone-else")
        page.get_by_role("button", name="Revoke the message").click()
        expect(page.locator("#target-error")).to_contain_text("was sent to")
        page.get_by_label("Target", exact=True).fill(token)
        page.get_by_role("button", name="Revoke the message").click()
        expect(page.locator('[data-count="recalled"]')).to_have_text("1")
        revoked = device.next()
        while revoked["event"] != "revoked":
            revoked = device.next()
        assert (revoked["msgKey"], revoked["taskId"]) == ("oops-1", mistake["taskId"])
        page.close()
    finally:
        device.stop()
