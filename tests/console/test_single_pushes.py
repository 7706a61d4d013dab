"""Template and simple pushes from the console, on both backends: sent, stored as the API stores
them, refused with the error beside its field."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.console.browsing import Visitor, add_operator, field_error, text_of
from tests.support import stored
from tests.support.servers import Server

WORKSPACE, APP_ID = "single", "ONEXSINGLE000001"
PUSH = f"/console/apps/{WORKSPACE}/{APP_ID}/push"
PASSWORD = "a long passphrase"


@pytest.fixture(scope="module")
def site(server: Server) -> Server:
    server.create_app(WORKSPACE, APP_ID)
    add_operator(server, "sam", PASSWORD, "--workspace", WORKSPACE)
    return server


@pytest.fixture
def sam(site: Server) -> Iterator[Visitor]:
    visitor = Visitor(site)
    visitor.sign_in("sam", PASSWORD)
    form = {"name": "Prize", "title": "Prize for #name#", "content": "You won #money# yuan"}
    visitor.post(f"/console/apps/{WORKSPACE}/{APP_ID}/templates/new", form)
    yield visitor
    visitor.close()


def common(**fields: str) -> dict[str, str]:
    return {"task_name": "One text", "delivery_type": "3", "expired_seconds": "600"} | fields


def sent_task(page) -> str:
    [task_id] = re.findall(r'data-testid="sent-task">(\d+)<', page.text)
    return task_id


def test_a_template_push_fills_the_template_once_for_every_target(
    sam: Visitor, site: Server
) -> None:
    form = common(template="Prize", values="name=Zhang San\nmoney=200", targets="u1,tk1\nu2,tk2")
    page = sam.post(PUSH + "/template", form)
    assert page.status_code == 200 and "2 messages" in text_of(page)
    messages = stored.messages(site, sent_task(page))
    assert [(m["target"], m["msg_key"], m["title"], m["content"]) for m in messages] == [
        ("u1", "tk1", "Prize for Zhang San", "You won 200 yuan"),
        ("u2", "tk2", "Prize for Zhang San", "You won 200 yuan"),
    ]
    assert stored.task(site, sent_task(page))["action"] == "PushTemplate"
    again = sam.post(PUSH + "/template", form)
    assert sent_task(again) == sent_task(page)


def test_template_push_refusals_sit_beside_their_fields(sam: Visitor) -> None:
    missing = sam.post(PUSH + "/template", common(template="Prize", values="name=A", targets="u,k"))
    assert "no value for placeholder 'money'" in field_error(missing, "values")
    unreadable = sam.post(
        PUSH + "/template", common(template="Prize", values="money", targets="u,k")
    )
    assert field_error(unreadable, "values") == "line 1: write name=value"
    targets = sam.post(
        PUSH + "/template", common(template="Prize", values="name=A\nmoney=1", targets="u\n")
    )
    assert field_error(targets, "targets") == "line 1: write target,msgKey"
    twice = sam.post(
        PUSH + "/template", common(template="Prize", values="name=A\nmoney=1", targets="u,k\nu,j")
    )
    assert field_error(twice, "targets") == "line 2: target 'u' is on line 1 too"
    eleven = "\n".join(f"u{n},many{n}" for n in range(11))
    many = sam.post(
        PUSH + "/template", common(template="Prize", values="name=A\nmoney=1", targets=eleven)
    )
    assert "at most 10" in field_error(many, "targets")


def test_a_simple_push_sends_its_own_text_and_can_be_scheduled(sam: Visitor, site: Server) -> None:
    form = common(title="Hello", content="Plain text", uri="app://x", targets="u1,sk1")
    page = sam.post(PUSH + "/simple", form)
    [message] = stored.messages(site, sent_task(page))
    assert (message["title"], message["content"], message["uri"]) == (
        "Hello",
        "Plain text",
        "app://x",
    )
    later = sam.post(
        PUSH + "/simple", form | {"targets": "u1,sk2", "when": "once", "at": "2099-01-01T08:00"}
    )
    assert "Scheduled" in text_of(later)
    assert stored.task(site, sent_task(later))["state"] == "scheduled"
    untitled = sam.post(PUSH + "/simple", form | {"title": "", "targets": "u1,sk3"})
    assert untitled.status_code == 400 and "Title is required" in field_error(untitled, "title")
    past = sam.post(
        PUSH + "/simple", form | {"targets": "u1,sk4", "when": "once", "at": "2001-01-01T08:00"}
    )
    assert "is in the past" in field_error(past, "at")


def test_sms_supplement_refusals_sit_beside_their_inputs(sam: Visitor, site: Server) -> None:
    form = common(
        task_name="SMS code",
        title="Code",
        content="Your code",
        targets="u1,sms-1",
        sms_strategy="1",
        sms_template_code="SMS_153055065",
        sms_sign_name="Tidings",
        sms_template_param='{"code": "1234"}',
    )
    page = sam.get(PUSH + "/simple")
    assert "waits 300 seconds" in text_of(page) and 'data-testid="no-sms-provider"' in page.text
    spaced = sam.post(PUSH + "/simple", form | {"sms_template_code": "SMS 1"})
    assert spaced.status_code == 400
    assert "SmsTemplateCode must not contain white space" in field_error(
        spaced, "sms_template_code"
    )
    unsigned = sam.post(PUSH + "/simple", form | {"sms_sign_name": ""})
    assert "SmsSignName is required" in field_error(unsigned, "sms_sign_name")
    unreadable = sam.post(PUSH + "/simple", form | {"sms_template_param": "{code: 1}"})
    assert field_error(unreadable, "sms_template_param").startswith("SmsTemplateParam")
    nowhere = sam.post(
        PUSH + "/template", form | {"template": "Prize", "values": "name=A\nmoney=1"}
    )
    assert "no SMS provider configured" in field_error(nowhere, "sms_strategy")
    # Strategy 0 asks for no SMS: the other fields are not read, and nothing is refused.
    plain = sam.post(PUSH + "/simple", form | {"sms_strategy": "0", "sms_template_code": "SMS 1"})
    assert plain.status_code == 200, text_of(plain)
    assert [t["id"] for t in stored.tasks_named(site, "SMS code")] == [int(sent_task(plain))]
