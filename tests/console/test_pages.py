"""The console over HTTP against a real server on both backends: sign-in and its protections,
what each operator may see, and the pages over tenancy, templates and PushMultiple."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alibabacloud_mpaas20201028 import models
from alibabacloud_tea_openapi.exceptions import ClientException
from sqlalchemy import text

from tests.console.browsing import Visitor, add_operator, field_error, text_of
from tests.support import stored
from tests.support.clients import new_sdk
from tests.support.servers import Server

ALPHA, BETA = "alpha", "beta"
APP_A, APP_B = "ONEXALPHA0000001", "ONEXBETA00000001"
PASSWORD = "a long passphrase"
TEMPLATES = f"/console/apps/{ALPHA}/{APP_A}/templates"
PUSH = f"/console/apps/{ALPHA}/{APP_A}/push"


@pytest.fixture(scope="module")
def site(server: Server) -> Server:
    server.create_app(ALPHA, APP_A)
    server.create_app(BETA, APP_B)
    add_operator(server, "alice", PASSWORD, "--workspace", ALPHA)
    add_operator(server, "root", PASSWORD, "--all")
    return server


@pytest.fixture
def alice(site: Server) -> Iterator[Visitor]:
    visitor = Visitor(site)
    assert visitor.sign_in("alice", PASSWORD).status_code == 303
    yield visitor
    visitor.close()


def test_pages_send_a_visitor_without_a_session_to_sign_in(site: Server) -> None:
    visitor = Visitor(site)
    for path in ("/console/", "/console/keys", TEMPLATES, PUSH):
        answer = visitor.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/login?next=" + path
    refused = visitor.post("/console/keys", {"workspace": ALPHA})
    assert refused.status_code == 303
    assert "TID" not in site.cli("keys", "list").stdout
    style = visitor.get("/console/static/console.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


def test_signing_in_sets_a_protected_expiring_cookie_and_signing_out_ends_it(
    site: Server,
) -> None:
    visitor = Visitor(site)
    answer = visitor.sign_in("alice", PASSWORD)
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/")
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "tidings_console=" in c)
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/console", "max-age=28800"} <= flags
    page = visitor.get("/console/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert "Workspace alpha" in text_of(page) and "beta" not in text_of(page)

    stolen = dict(visitor.http.cookies)
    assert visitor.post("/console/logout").status_code == 303
    replay = Visitor(site)
    replay.http.cookies.update(stolen)
    assert replay.get("/console/").status_code == 303


def test_sign_in_refusals(site: Server) -> None:
    visitor = Visitor(site)
    wrong = visitor.sign_in("alice", "not the password")
    assert wrong.status_code == 401
    assert "wrong username or password" in text_of(wrong)
    unknown = visitor.sign_in("nobody", PASSWORD)
    assert unknown.status_code == 401 and "wrong username or password" in text_of(unknown)

    forged = Visitor(site)  # a form posted from elsewhere carries no sign-in cookie
    answer = forged.post("/console/login", {"csrf": "x", "username": "alice", "password": PASSWORD})
    assert answer.status_code == 400 and "tidings_console=" not in str(answer.headers)

    elsewhere = Visitor(site)
    elsewhere.get("/console/login?next=//evil.example/")
    answer = elsewhere.post(
        "/console/login?next=//evil.example/", {"username": "alice", "password": PASSWORD}
    )
    assert answer.headers["location"] == "/console/"
    back = Visitor(site)
    back.get("/console/login")
    answer = back.post(
        f"/console/login?next={TEMPLATES}", {"username": "alice", "password": PASSWORD}
    )
    assert answer.headers["location"] == TEMPLATES


def test_sign_in_is_rate_limited_per_username(site: Server) -> None:
    add_operator(site, "mallory", PASSWORD, "--workspace", ALPHA)
    visitor = Visitor(site)
    for _ in range(5):
        assert visitor.sign_in("mallory", "guess").status_code == 401
    held = visitor.sign_in("mallory", PASSWORD)
    assert held.status_code == 429
    assert 0 < int(held.headers["retry-after"]) <= 900
    assert "too many failed sign-ins" in text_of(held)


def test_every_form_needs_the_sessions_csrf_token(alice: Visitor, site: Server) -> None:
    for token in ("", "forged-token"):
        answer = alice.post("/console/keys", {"csrf": token, "workspace": ALPHA})
        assert answer.status_code == 403
    answer = alice.post(TEMPLATES + "/new", {"csrf": "", "name": "x", "title": "t", "content": "c"})
    assert answer.status_code == 403
    assert "TID" not in site.cli("keys", "list").stdout
    assert "x" not in text_of(alice.get(TEMPLATES))


def test_an_operator_sees_and_changes_only_granted_workspaces(alice: Visitor, site: Server) -> None:
    beta_key, _ = site.create_key(BETA)
    assert alice.get(f"/console/apps/{BETA}/{APP_B}/templates").status_code == 404
    assert alice.get(f"/console/apps/{ALPHA}/NOSUCHAPP/templates").status_code == 404
    assert beta_key not in alice.get("/console/keys").text
    refused = alice.post("/console/keys", {"workspace": BETA})
    assert refused.status_code == 400
    assert field_error(refused, "workspace") == "choose one of your workspaces"
    assert alice.post(f"/console/keys/{beta_key}/disable").status_code == 404
    assert alice.post(f"/console/keys/{beta_key}/delete").status_code == 404
    assert alice.post("/console/apps", {"workspace": BETA, "app_id": "X1"}).status_code == 403
    listed = site.cli("keys", "list").stdout
    assert beta_key in listed and "disabled" not in listed

    root = Visitor(site)
    root.sign_in("root", PASSWORD)
    assert beta_key in root.get("/console/keys").text
    assert root.get(f"/console/apps/{BETA}/{APP_B}/templates").status_code == 200
    site.cli("keys", "delete", beta_key)


def test_apps_are_added_to_granted_workspaces_with_errors_beside_fields(
    alice: Visitor,
) -> None:
    bad = alice.post("/console/apps", {"workspace": ALPHA, "app_id": "has space"})
    assert bad.status_code == 400
    assert "must be 1 to 64 letters" in field_error(bad, "app_id")
    zone = alice.post(
        "/console/apps", {"workspace": ALPHA, "app_id": "ONEXALPHA0000002", "timezone": "Mars/Base"}
    )
    assert "unknown time zone" in field_error(zone, "timezone")
    made = alice.post(
        "/console/apps",
        {"workspace": ALPHA, "app_id": "ONEXALPHA0000002", "timezone": "Europe/Berlin"},
    )
    assert made.status_code == 303
    overview = text_of(alice.get("/console/"))
    assert "ONEXALPHA0000002" in overview and "Europe/Berlin" in overview
    again = alice.post("/console/apps", {"workspace": ALPHA, "app_id": "ONEXALPHA0000002"})
    assert "already exists" in field_error(again, "app_id")


def test_templates_from_creation_to_deletion_as_the_api_sees_them(
    alice: Visitor, site: Server
) -> None:
    sdk = new_sdk(site, site.create_key(ALPHA))
    form = {"name": "Prize", "title": "Prize for #name#", "content": "You won #money# yuan"}
    assert alice.post(TEMPLATES + "/new", form).status_code == 303
    listed = alice.get(TEMPLATES)
    assert "Created template Prize." in text_of(listed)
    template_id = re.search(r'templates/(\d+)"', listed.text)[1]

    duplicate = alice.post(TEMPLATES + "/new", form)
    assert duplicate.status_code == 400
    assert "already exists" in field_error(duplicate, "name")
    untitled = alice.post(TEMPLATES + "/new", {**form, "name": "Other", "title": ""})
    assert field_error(untitled, "title") == "Title is required (TEMPLATE_TITLE_INVALID, 3040)"
    assert field_error(untitled, "name") is None

    preview = alice.post(
        TEMPLATES + "/preview",
        {**form, "uri": "app://prize/#id#", "sample.name": "Zhang San", "sample.money": "#id#"},
    )
    shown = text_of(preview)
    assert "Prize for Zhang San" in shown and "You won #id# yuan" in shown
    assert "app://prize/[id]" in shown

    edited = alice.post(
        f"{TEMPLATES}/{template_id}", {**form, "title": "A prize for #name#", "push_style": "1"}
    )
    assert edited.status_code == 303
    assert "(revision 2)" in text_of(alice.get(TEMPLATES))
    got = sdk.get_template(
        models.GetTemplateRequest(app_id=APP_A, workspace_id=ALPHA, template_name="Prize")
    ).body.data
    assert (got.title, got.push_style, got.variables) == ("A prize for #name#", "1", "name,money")

    assert alice.post(f"{TEMPLATES}/{template_id}/delete").status_code == 303
    assert alice.get(f"{TEMPLATES}/{template_id}").status_code == 404
    gone = sdk.get_template(
        models.GetTemplateRequest(app_id=APP_A, workspace_id=ALPHA, template_name="Prize")
    ).body
    assert (gone.success, gone.code) == (False, "3022")


def test_the_template_list_paginates(alice: Visitor, site: Server) -> None:
    app_id = "ONEXALPHAPAGES01"
    site.create_app(ALPHA, app_id)
    base = f"/console/apps/{ALPHA}/{app_id}/templates"
    for n in range(23):
        form = {"name": f"t{n:02}", "title": "T", "content": "C"}
        assert alice.post(base + "/new", form).status_code == 303
    first, second = alice.get(base), alice.get(base + "?page=2")
    assert len(re.findall(r'<th scope="row">', first.text)) == 20
    assert re.findall(r">(t\d\d)</a>", second.text) == ["t02", "t01", "t00"]
    assert "21–23 of 23" in text_of(second)


def test_an_access_key_secret_is_shown_once_and_the_key_works_until_disabled(
    alice: Visitor, site: Server
) -> None:
    made = alice.post("/console/keys", {"workspace": ALPHA, "apps": APP_A})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    key_id = re.search(r'data-testid="key-id">([^<]+)<', made.text)[1]
    secret = re.search(r'data-testid="key-secret">([^<]+)<', made.text)[1]
    assert secret not in alice.get("/console/keys").text

    sdk = new_sdk(site, (key_id, secret))
    listing = models.ListTemplatePageRequest(app_id=APP_A, workspace_id=ALPHA)
    assert sdk.list_template_page(listing).body.success
    assert alice.post(f"/console/keys/{key_id}/disable").status_code == 303
    with pytest.raises(ClientException, match=r"InvalidAccessKeyId\.Inactive"):
        sdk.list_template_page(listing)
    assert alice.post(f"/console/keys/{key_id}/enable").status_code == 303
    sdk.list_template_page(listing)
    assert alice.post(f"/console/keys/{key_id}/delete").status_code == 303
    after = alice.get("/console/keys")
    assert f"Deleted AccessKey {key_id}." in text_of(after)
    assert f">{key_id}</th>" not in after.text
    assert alice.post(f"/console/keys/{key_id}/delete").status_code == 404


def rows_of(page) -> dict[str, str]:
    """Each checked row's text by row number."""
    found = re.findall(r'<tr[^>]*data-row="(\d+)">(.*?)</tr>', page.text, re.S)
    return {number: " ".join(re.sub(r"<[^>]+>", " ", body).split()) for number, body in found}


def batch(alice: Visitor, csv: str, intent: str = "send", **fields: str):
    form = {
        "template": "Seed",
        "task_name": "Multiple test",
        "delivery_type": "3",
        "expired_seconds": "600",
        "when": "now",
        "csv": csv,
        "intent": intent,
        **fields,
    }
    return alice.post(PUSH + "/batch", form)


@pytest.fixture(scope="module")
def seed_template(site: Server) -> None:
    visitor = Visitor(site)
    visitor.sign_in("alice", PASSWORD)
    form = {"name": "Seed", "title": "Congratulations", "content": "Hello #name#, #money# yuan"}
    assert visitor.post(TEMPLATES + "/new", form).status_code == 303


def test_a_batch_is_checked_row_by_row_before_anything_is_sent(
    alice: Visitor, site: Server, seed_template: None
) -> None:
    before = stored.counts(site)
    csv = "target,msgKey,name,money\nu1,c1,Zhang San,200\nu2,c1,Li Si,300\n,c3,Wang,1\n"
    answer = batch(alice, csv, intent="check")
    assert answer.status_code == 400
    rows = rows_of(answer)
    assert rows["1"].endswith("Congratulations — Hello Zhang San, 200 yuan")
    assert "repeats TargetMsg.1.MsgKey" in rows["2"]
    assert "Target is empty" in rows["3"]
    assert "3 rows, 2 with a problem" in text_of(answer)

    sent = batch(alice, csv)  # sending checks again and sends nothing
    assert sent.status_code == 400
    header = batch(alice, "target,msgKey,name\nu1,c1,x\n", intent="check")
    assert "no column for #money#" in field_error(header, "csv")
    assert stored.counts(site) == before


def test_a_batch_is_sent_once_and_sending_it_again_changes_nothing(
    alice: Visitor, site: Server, seed_template: None
) -> None:
    csv = "target,msgKey,name,money\nuserid1024,s1,Zhang San,200\nuserid1025,s2,Li Si,300\n"
    checked = batch(alice, csv, intent="check")
    assert checked.status_code == 200 and "2 rows, all ready" in text_of(checked)
    assert "Hello Zhang San, 200 yuan" in text_of(checked)
    sent = batch(alice, csv)
    task_ids = re.findall(r'data-testid="sent-task">(\d+)<', sent.text)
    assert len(task_ids) == 1
    messages = stored.messages(site, task_ids[0])
    assert [(m["target"], m["msg_key"], m["content"]) for m in messages] == [
        ("userid1024", "s1", "Hello Zhang San, 200 yuan"),
        ("userid1025", "s2", "Hello Li Si, 300 yuan"),
    ]
    again = batch(alice, csv)
    assert re.findall(r'data-testid="sent-task">(\d+)<', again.text) == task_ids
    reused = batch(alice, csv.replace("200", "201"))
    assert reused.status_code == 400
    assert "was already used by task" in field_error(reused, "csv")


def test_a_large_batch_goes_out_as_calls_of_at_most_a_hundred(
    alice: Visitor, site: Server, seed_template: None
) -> None:
    rows = "".join(f"user{n},big{n},N{n},{n}\n" for n in range(150))
    sent = batch(alice, "target,msgKey,name,money\n" + rows, task_name="Big")
    task_ids = re.findall(r'data-testid="sent-task">(\d+)<', sent.text)
    assert len(task_ids) == 2
    assert [len(stored.messages(site, t)) for t in task_ids] == [100, 50]
    assert [stored.task(site, t)["name"] for t in task_ids] == ["Big (1/2)", "Big (2/2)"]


def test_scheduling_fields_are_judged_by_the_push_rules_in_the_apps_time_zone(
    alice: Visitor, site: Server, seed_template: None
) -> None:
    csv = "target,msgKey,name,money\nu1,when1,A,1\n"
    past = batch(alice, csv, when="once", at="2020-01-01T08:00")
    assert past.status_code == 400
    assert "is in the past" in field_error(past, "at")
    assert "(Asia/Shanghai)" in field_error(past, "at")
    missing = batch(alice, csv, when="loop", start_day="2099-01-01")
    assert field_error(missing, "end_day") == "give a last day"
    scheduled = batch(alice, csv, when="once", at="2099-06-01T09:30")
    task_id = re.findall(r'data-testid="sent-task">(\d+)<', scheduled.text)[0]
    assert "Scheduled" in text_of(scheduled)
    task = stored.task(site, task_id)
    nine_thirty_in_shanghai = datetime(2099, 6, 1, 1, 30, tzinfo=UTC)
    fixed = int(nine_thirty_in_shanghai.timestamp()) * 1000
    assert task["strategy"] == f'{{"fixedTime":{fixed}}}'


def test_tasks_count_deliveries_by_status_and_trace_shows_each_delivery(
    alice: Visitor, site: Server, seed_template: None
) -> None:
    csv = "target,msgKey,name,money\nnobody1,t1,A,1\nnobody2,t2,B,2\n"
    sent = batch(alice, csv, task_name="Counted")
    task_id = re.findall(r'data-testid="sent-task">(\d+)<', sent.text)[0]
    base = f"/console/apps/{ALPHA}/{APP_A}"
    assert f'data-task="{task_id}"' in alice.get(base + "/tasks").text
    deadline = time.monotonic() + 10
    while 'data-status="1"' not in (detail := alice.get(f"{base}/tasks/{task_id}")).text:
        assert time.monotonic() < deadline, "the users' deliveries were never written"
        time.sleep(0.1)
    assert re.search(r'data-testid="messages">2<', detail.text)
    assert re.search(r'data-status="1">.*?no device bound to the user.*?>2</td>', detail.text, re.S)
    assert "Deliveries of task" in detail.text  # the chart's accessible name

    trace = alice.get(f"{base}/trace?msg_key=t2")
    assert trace.status_code == 200
    shown = text_of(trace)
    assert "Message t2" in shown and "nobody2" in shown and "Hello B, 2 yuan" in shown
    assert "no device bound to the user" in shown
    missing = alice.get(f"{base}/trace?msg_key=never")
    assert missing.status_code == 404
    assert field_error(missing, "msg_key") == "no message with msgKey 'never' in app " + APP_A

    assert alice.get(f"{base}/tasks/999999").status_code == 404
    assert alice.get(f"{base}/tasks/abc").status_code == 404
    other = f"/console/apps/{ALPHA}/ONEXALPHAPAGES01/tasks/{task_id}"
    assert alice.get(other).status_code == 404


def test_a_scheduled_push_is_listed_and_cancelled(
    alice: Visitor, site: Server, seed_template: None
) -> None:
    csv = "target,msgKey,name,money\nu1,sched1,A,1\n"
    sent = batch(alice, csv, when="once", at="2099-01-01T08:00", task_name="Later")
    task_id = re.findall(r'data-testid="sent-task">(\d+)<', sent.text)[0]
    base = f"/console/apps/{ALPHA}/{APP_A}/scheduled"
    listed = alice.get(base)
    row = re.search(rf'data-occurrence="{task_id}">(.*?)</tr>', listed.text, re.S)[1]
    assert "2099-01-01 08:00:00" in row and "waiting" in row and "Later" in row

    done = alice.post(f"{base}/{task_id}/cancel")
    assert done.status_code == 303
    after = alice.get(base)
    assert f"Cancelled 1 waiting occurrence of {task_id}." in text_of(after)
    assert f'data-occurrence="{task_id}"' not in after.text
    everything = alice.get(base + "?all=1")
    row = re.search(rf'data-occurrence="{task_id}">(.*?)</tr>', everything.text, re.S)[1]
    assert "cancelled" in row and "<button" not in row
    assert stored.task(site, task_id)["state"] == "cancelled"

    alice.post(f"{base}/999999/cancel")
    assert "Not cancelled: UniqueIds: no scheduled push or occurrence 999999" in text_of(
        alice.get(base)
    )
    immediate = re.findall(
        r'data-testid="sent-task">(\d+)<',
        batch(alice, "target,msgKey,name,money\nu,imm1,A,1\n").text,
    )[0]
    alice.post(f"{base}/{immediate}/cancel")
    assert "only scheduled ones can be cancelled" in text_of(alice.get(base))


def test_device_lookup_shows_binding_vendor_token_and_presence(
    alice: Visitor, site: Server
) -> None:
    sdk = new_sdk(site, site.create_key(ALPHA))
    for token, vendor, os_type in (("hms-token-1", 3, 1), ("apns-token-1", 1, 2)):
        reported = sdk.push_report(
            models.PushReportRequest(
                app_id=APP_A,
                workspace_id=ALPHA,
                delivery_token=token,
                os_type=os_type,
                third_channel=vendor,
                third_channel_device_token=token + "-vendor",
            )
        ).body
        assert reported.result_code == "OK", reported
        bound = sdk.push_bind(
            models.PushBindRequest(
                app_id=APP_A,
                workspace_id=ALPHA,
                delivery_token=token,
                os_type=os_type,
                user_id="lookup-user",
            )
        ).body
        assert bound.result_code == "OK", bound
    base = f"/console/apps/{ALPHA}/{APP_A}/devices"
    found = alice.get(base + "?user=lookup-user")
    sections = dict(re.findall(r'data-device="([^"]+)">(.*?)</section>', found.text, re.S))
    assert set(sections) == {"hms-token-1", "apns-token-1"}
    android = " ".join(re.sub(r"<[^>]+>", " ", sections["hms-token-1"]).split())
    assert (
        "offline" in android and "lookup-user" in android and "hms: hms-token-1-vendor" in android
    )
    ios = " ".join(re.sub(r"<[^>]+>", " ", sections["apns-token-1"]).split())
    assert "reached through its vendor" in ios and "apns: apns-token-1-vendor" in ios
    one = alice.get(base + "?token=apns-token-1")
    assert re.findall(r'data-device="([^"]+)"', one.text) == ["apns-token-1"]
    unknown = alice.get(base + "?user=nobody-at-all")
    assert unknown.status_code == 404
    assert "no device bound to user 'nobody-at-all'" in field_error(unknown, "user")


def test_vendor_channel_settings_are_checked_and_secrets_never_shown(
    alice: Visitor, site: Server
) -> None:
    base = f"/console/apps/{ALPHA}/{APP_A}/channels"
    bad = alice.post(base, {"channel": "xiaomi", "config": '{"package_name": "com.example"}'})
    assert bad.status_code == 400 and "app_secret" in field_error(bad, "config")
    odd = alice.post(base, {"channel": "pigeon", "config": "{}"})
    assert odd.status_code == 400 and field_error(odd, "channel")
    config = '{"package_name": "com.example", "app_secret": "never-shown-secret"}'
    assert alice.post(base, {"channel": "xiaomi", "config": config}).status_code == 303
    page = alice.get(base)
    assert "Saved the xiaomi channel." in text_of(page)
    assert "com.example" in page.text and "never-shown-secret" not in page.text
    assert "never-shown-secret" not in alice.get(base + "?channel=xiaomi").text
    assert "xiaomi" in site.cli("channels", "list").stdout
    assert alice.post(f"{base}/xiaomi/delete").status_code == 303
    assert 'data-channel="xiaomi"' not in alice.get(base).text
    alice.post(f"{base}/xiaomi/delete")
    assert "Not removed" in text_of(alice.get(base))


def test_the_sms_provider_is_a_channel_of_the_same_form(alice: Visitor, site: Server) -> None:
    """``sms`` with its provider chosen apart (as ``--provider``): its keys checked by the
    provider's schema, its secret masked in the list and never sent back."""
    base = f"/console/apps/{ALPHA}/{APP_A}/channels"
    secret = "webhook-secret-never-shown"
    hook = {"channel": "sms", "provider": "webhook", "config": '{"url": "https://sms.example"}'}
    missing = alice.post(base, hook)
    assert missing.status_code == 400 and "secret is missing" in field_error(missing, "config")
    plain = alice.post(
        base, hook | {"config": f'{{"url": "http://sms.example", "secret": "{secret}"}}'}
    )
    assert "url must be an https URL" in field_error(plain, "config")
    assert secret not in plain.text and "http://sms.example" in plain.text  # give it again
    broken = alice.post(base, hook | {"config": "url=https://sms.example"})
    assert "not valid JSON" in field_error(broken, "config")
    config = f'{{"url": "https://sms.example/send", "secret": "{secret}"}}'
    assert alice.post(base, hook | {"config": config}).status_code == 303
    page = alice.get(base)
    [row] = re.findall(r'<tr data-channel="sms">(.*?)</tr>', page.text, re.S)
    assert "provider: webhook" in row and "url: https://sms.example/send" in row
    assert 'data-secret="secret"' in row and secret not in page.text
    again = alice.get(base + "?channel=sms")
    assert secret not in again.text
    assert re.search(r'<option value="webhook"\s+selected>', again.text)
    [shown] = re.findall(r'<textarea id="config"[^>]*>(.*?)</textarea>', again.text, re.S)
    assert json.loads(html.unescape(shown)) == {
        "url": "https://sms.example/send",
        "concurrency": 10,
    }
    assert "provider=webhook" in site.cli("channels", "list").stdout
    assert alice.post(f"{base}/sms/delete").status_code == 303
    assert 'data-channel="sms"' not in alice.get(base).text


def test_analytics_pages_render_every_range(alice: Visitor) -> None:
    base = f"/console/apps/{ALPHA}/{APP_A}/analytics"
    for query, buckets in (("", 24), ("?range=7d", 7), ("?range=30d", 30), ("?range=x", 24)):
        page = alice.get(base + query)
        assert page.status_code == 200
        assert len(re.findall(r'<tr><th scope="row">', page.text)) == buckets


def test_oversized_forms_are_refused_before_they_are_read(alice: Visitor, site: Server) -> None:
    huge = "x" * (3 * 1024 * 1024)
    assert alice.post(PUSH + "/batch", {"csv": huge}).status_code == 413
    visitor = Visitor(site)
    visitor.get("/console/login")
    assert (
        visitor.post("/console/login", {"username": "alice", "password": huge}).status_code == 413
    )
    long_password = visitor.post("/console/login", {"username": "alice", "password": "y" * 5000})
    assert long_password.status_code == 401


def test_webhook_endpoints_are_checked_kept_to_their_app_and_secrets_shown_once(
    alice: Visitor, site: Server
) -> None:
    base = f"/console/apps/{ALPHA}/{APP_A}/webhooks"
    bad = alice.post(base, {"url": "ftp://example.com/x", "event-delivery.opened": "1"})
    assert bad.status_code == 400 and "http" in field_error(bad, "url")
    none = alice.post(base, {"url": "https://example.com/hooks"})
    assert none.status_code == 400 and field_error(none, "events")
    made = alice.post(base, {"url": "https://example.com/hooks", "event-delivery.opened": "1"})
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", made.text)
    assert made.status_code == 200 and secret
    pk = re.search(r'data-endpoint="(\d+)"', made.text)[1]
    assert secret[0] not in alice.get(base).text
    with stored.connection(site) as conn:
        conn.execute(text("UPDATE webhook_endpoints SET enabled = false"))
        conn.commit()
        ciphertext = conn.execute(text("SELECT secrets_ciphertext FROM webhook_endpoints"))
        assert all(secret[0].encode() not in bytes(row[0]) for row in ciphertext)
    assert "Disabled" in text_of(alice.get(base))
    alice.post(f"{base}/{pk}/enable")
    assert f"Enabled endpoint {pk}." in text_of(alice.get(base))
    assert alice.post(f"/console/apps/{BETA}/{APP_B}/webhooks/{pk}/delete").status_code == 404
    alice.post(f"{base}/{pk}/delete")
    page = text_of(alice.get(base))
    assert f"Removed endpoint {pk}." in page and "No endpoint yet" in page
    alice.post(f"{base}/{pk}/delete")
    assert "Not removed" in text_of(alice.get(base))
