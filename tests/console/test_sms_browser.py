"""The SMS supplement from the console, in Debian's Chromium against a real server: the ``sms``
channel configured on the Channels page (Alibaba Cloud SMS, pointed at the fake SendSms of
tests/integration/test_sms_supplement.py, which checks the official SDK's signature), a template
push asking for an SMS alongside it (SmsStrategy 2) reaching the fake for the phone number the
user bound, a bad SmsTemplateParam shown beside its input, and the SMS in the message trace."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from alibabacloud_mpaas20201028 import models

from tests.console.browsing import add_operator
from tests.console.chromium import chromium, create_template, expect, need_chromium, sign_in
from tests.fakes.aliyun_sms import ACCESS_KEY_SECRET, FakeAliyunSms
from tests.support.clients import new_sdk
from tests.support.pushes import eventually
from tests.support.servers import Server, running_server

WORKSPACE, APP_ID = "texts", "ONEXSMSCONSOLE001"
USER, PASSWORD = "sms-operator", "operator passphrase"
PHONE = "+8613800138000"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, tuple[str, str]]]:
    """The server, its app, an operator and an AccessKey, all made before the browser runs."""
    need_chromium()
    settings = {"TIDINGS_SMS_POLL_SECONDS": "0.1", "TIDINGS_SMS_SUPPLEMENT_DELAY_SECONDS": "600"}
    with running_server("sqlite", tmp_path_factory.mktemp("console-sms"), settings) as server:
        server.create_app(WORKSPACE, APP_ID)
        add_operator(server, USER, PASSWORD, "--workspace", WORKSPACE)
        yield server, server.create_key(WORKSPACE)


def bound_user(server: Server, key: tuple[str, str]) -> str:
    """A user bound, with a phone number, on a device reported with PushReport (never online)."""
    sdk = new_sdk(server, key)
    ids = {"app_id": APP_ID, "workspace_id": WORKSPACE}
    token, user = "DT-sms-console", "user-sms-console"
    reported = sdk.push_report(models.PushReportRequest(**ids, delivery_token=token, os_type=1))
    assert reported.body.result_code == "OK", reported.body
    bound = sdk.push_bind(
        models.PushBindRequest(
            **ids, delivery_token=token, os_type=1, user_id=user, phone_number=PHONE
        )
    )
    assert bound.body.result_code == "OK", bound.body
    return user


def test_a_template_push_with_an_sms_from_the_console_reaches_the_provider(
    site: tuple[Server, tuple[str, str]], aliyun_sms: FakeAliyunSms
) -> None:
    server, key = site
    user = bound_user(server, key)
    app = f"{server.url}/console/apps/{WORKSPACE}/{APP_ID}"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        sign_in(page, server.url, USER, PASSWORD, WORKSPACE)

        # The sms channel: its provider chosen apart, its keys listed, its secret masked.
        page.goto(f"{app}/channels")
        expect(page.get_by_label("Provider")).to_be_hidden()
        page.get_by_label("Channel", exact=True).select_option("sms")
        page.get_by_label("Provider").select_option("aliyun")
        expect(page.locator('[data-keys="sms:aliyun"]')).to_contain_text(
            "access_key_secret (secret)"
        )
        expect(page.locator('[data-keys="sms:webhook"]')).to_be_hidden()
        settings = page.get_by_label("Settings (JSON)")
        settings.fill(json.dumps({"access_key_id": "LTAI-only"}))
        page.get_by_role("button", name="Save channel").click()
        expect(page.locator("#config-error")).to_contain_text("access_key_secret is missing")
        settings.fill(json.dumps(aliyun_sms.config()))
        page.get_by_role("button", name="Save channel").click()
        expect(page.get_by_role("status")).to_have_text("Saved the sms channel.")
        row = page.locator('tr[data-channel="sms"]')
        expect(row).to_contain_text("provider: aliyun")
        expect(row).to_contain_text(f"endpoint: {aliyun_sms.url}")
        expect(row.locator('[data-secret="access_key_secret"]')).to_have_text("••••••••")
        assert ACCESS_KEY_SECRET not in page.content()

        create_template(page, app, "Code", "Your code", "Sign in with #code#")

        # The template push: the SMS inputs apply only once an SMS is asked for.
        page.goto(f"{app}/push/template")
        code = page.get_by_label("SMS template code")
        expect(code).to_be_hidden()
        expect(page.get_by_test_id("sms-supplement")).to_contain_text("waits 600 seconds")
        page.get_by_label("Placeholder values").fill("code=1234")
        page.get_by_label("Task name").fill("Sign-in code")
        msg_key = f"sms-{int(time.time() * 1000)}"
        page.get_by_label("Targets", exact=True).fill(f"{user},{msg_key}")
        page.get_by_label("Send an SMS").select_option("2")
        expect(code).to_be_visible()
        code.fill("SMS_153055065")
        page.get_by_label("SMS sign name").fill("Tidings")
        param = page.get_by_label("SMS template parameters (optional)")
        param.fill('{"code": ["1234"]}')
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#sms_template_param-error")).to_contain_text(
            "SmsTemplateParam.code must be a string or a number"
        )
        expect(param).to_have_attribute("aria-invalid", "true")
        assert aliyun_sms.record.for_token(PHONE) == []
        param.fill('{"code": "1234"}')
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_test_id("sent-task")).to_be_visible()

        (sms,) = eventually(lambda: aliyun_sms.record.for_token(PHONE), timeout=15)
        assert sms.body == {
            "PhoneNumbers": PHONE,
            "SignName": "Tidings",
            "TemplateCode": "SMS_153055065",
            "TemplateParam": {"code": "1234"},
            "OutId": sms.body["OutId"],
        }

        # The trace names the SMS in words, never the phone number.
        page.goto(f"{app}/trace?msg_key={msg_key}")
        outcome = page.get_by_test_id("sms-outcome")
        for _ in range(50):  # the sender records the provider's answer just after sending
            if "SMS sent" in outcome.inner_text():
                break
            time.sleep(0.1)
            page.reload()
        expect(outcome).to_contain_text("SMS sent")
        expect(outcome).to_contain_text("alongside the push")
        expect(page.locator('li[data-event="sms_sent"]')).to_contain_text("SMS sent")
        assert PHONE not in page.content()
        page.close()
    assert len(aliyun_sms.record.for_token(PHONE)) == 1
