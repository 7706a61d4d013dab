"""The SMS supplement end to end: a real ``tidings serve`` with Alibaba Cloud SMS configured as
the app's ``sms`` channel (pointed at a fake SendSms that checks the official SDK's signature),
PushBind with a PhoneNumber and PushTemplate with SmsStrategy through the official MPS SDK.

The supplement delay is shortened to DELAY seconds; every wait is for an event or a state, and
the one fixed wait (``settled``) is only to show that no second SMS follows the first.
"""

from __future__ import annotations

import json
import time

import pytest
from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.support.pushes import WORKSPACE, AppSpace, Workbench, eventually, ok, refused, unique
from tests.support.servers import Server, running_server
from tests.support.stored import connection

DELAY = 1.5
SMS = {
    "sms_template_code": "SMS_153055065",
    "sms_sign_name": "Tidings",
    "sms_template_param": json.dumps({"code": "1234"}),
}


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp(f"sms-{request.param}")
    settings = {
        "TIDINGS_SMS_SUPPLEMENT_DELAY_SECONDS": str(DELAY),
        "TIDINGS_SMS_POLL_SECONDS": "0.1",
        "TIDINGS_DELIVERY_SWEEP_SECONDS": "0.5",
    }
    with running_server(request.param, data_dir, settings) as running:
        yield running


@pytest.fixture(scope="module")
def bench(server: Server) -> Workbench:
    return Workbench(server)


@pytest.fixture
def space(bench: Workbench, aliyun_sms: FakeAliyunSms, tmp_path):
    made = bench.app(tmp_path)
    config = {"provider": "aliyun", **aliyun_sms.config()}  # tests/integration/test_channels_cli.py
    made.server.admin(lambda s: s.channel_configs.set(WORKSPACE, made.app_id, "sms", config))
    yield made
    made.stop()


def phone() -> str:
    return f"+86138{int(time.time() * 1000) % 100_000_000:08d}"


def offline_user(space: AppSpace, number: str | None) -> str:
    """A user bound on a device reported with PushReport, which never connects."""
    token, user = unique("DT"), unique("user")
    answer = space.sdk.push_report(
        models.PushReportRequest(**space.ids(), delivery_token=token, os_type=1)
    ).body
    assert answer.result_code == "OK", answer
    bind(space, token, user, number)
    return user


def bind(space: AppSpace, token: str, user: str, number: str | None) -> None:
    answer = space.sdk.push_bind(
        models.PushBindRequest(
            **space.ids(), delivery_token=token, os_type=1, user_id=user, phone_number=number
        )
    ).body
    assert answer.result_code == "OK", answer


def supplement(server: Server, msg_key: str):
    with connection(server) as conn:
        return conn.execute(
            text(
                "SELECT s.state, s.detail FROM sms_supplements s JOIN messages m "
                "ON m.pk = s.message_pk WHERE m.msg_key = :k"
            ),
            {"k": msg_key},
        ).first()


def settled(server: Server, msg_key: str):
    row = eventually(
        lambda: (
            (found := supplement(server, msg_key))
            and found.state not in ("due", "sending")
            and found
        ),
        timeout=15,
    )
    time.sleep(0.5)  # long enough for a second SMS to show, were one sent
    return row


def trace_of(space: AppSpace, msg_key: str) -> dict:
    """The message's trace, as ``tidings trace --json`` prints it."""

    async def job(services):
        app = await services.tenancy.resolve_app(WORKSPACE, space.app_id, None)
        return (await services.analytics.trace(app.pk, msg_key)).to_json()

    return space.server.admin(job)


def test_an_offline_user_gets_exactly_one_sms_after_the_delay(space, aliyun_sms) -> None:
    number = phone()
    user = offline_user(space, number)
    key = unique("k")
    started = time.monotonic()
    ok(space.template({user: key}, delivery_type=3, sms_strategy=1, **SMS))
    (got,) = eventually(lambda: aliyun_sms.record.for_token(number), timeout=15)
    assert time.monotonic() - started >= DELAY
    assert got.body == {
        "PhoneNumbers": number,
        "SignName": "Tidings",
        "TemplateCode": "SMS_153055065",
        "TemplateParam": {"code": "1234"},
        "OutId": got.body["OutId"],
    }
    assert settled(space.server, key).state == "sent"
    assert len(aliyun_sms.record.for_token(number)) == 1
    (step,) = [s for s in trace_of(space, key)["timeline"] if s["event"].startswith("sms_")]
    assert step["event"] == "sms_sent" and "BizId" in step["detail"]
    assert number not in json.dumps(trace_of(space, key))


def test_no_sms_when_the_device_acks_in_time(space, aliyun_sms) -> None:
    number = phone()
    device = space.device()
    token = device.connected()["DeliveryToken"]
    user = unique("user")
    bind(space, token, user, number)
    key = unique("k")
    ok(space.template({user: key}, delivery_type=3, sms_strategy=1, **SMS))
    (message,) = device.messages(1)
    assert message["msgKey"] == key
    row = settled(space.server, key)
    assert (row.state, row.detail) == ("arrived", "the push arrived in time; no SMS needed")
    assert aliyun_sms.record.for_token(number) == []
    events = [s["event"] for s in trace_of(space, key)["timeline"]]
    assert "sms_not_needed" in events and "sms_sent" not in events


def test_strategy_2_sends_at_once_alongside_the_push(space, aliyun_sms) -> None:
    number = phone()
    user = offline_user(space, number)
    key = unique("k")
    started = time.monotonic()
    ok(space.template({user: key}, delivery_type=3, sms_strategy=2, **SMS))
    eventually(lambda: aliyun_sms.record.for_token(number), timeout=DELAY)
    assert time.monotonic() - started < DELAY
    assert settled(space.server, key).state == "sent"
    assert len(aliyun_sms.record.for_token(number)) == 1


def test_a_user_without_a_phone_number_is_pushed_and_the_sms_skipped(space, aliyun_sms) -> None:
    user = offline_user(space, None)
    key = unique("k")
    ok(space.template({user: key}, delivery_type=3, sms_strategy=2, **SMS))
    row = settled(space.server, key)
    assert row.state == "skipped" and "no phone number" in row.detail
    events = [s["event"] for s in trace_of(space, key)["timeline"]]
    assert "sms_skipped" in events and "waiting" not in events  # the push itself went on


def test_the_phone_number_is_sealed_at_rest_and_unbinding_removes_it(space) -> None:
    number = phone()
    token, user = unique("DT"), unique("user")
    space.sdk.push_report(models.PushReportRequest(**space.ids(), delivery_token=token, os_type=1))
    bind(space, token, user, number)
    query = text("SELECT phone_ciphertext FROM devices WHERE token = :t")
    with connection(space.server) as conn:
        sealed = conn.execute(query, {"t": token}).scalar_one()
    assert sealed and number.encode() not in bytes(sealed) and number[3:].encode() not in sealed
    answer = space.sdk.push_un_bind(
        models.PushUnBindRequest(**space.ids(), delivery_token=token, user_id=user)
    ).body
    assert answer.result_code == "OK", answer
    with connection(space.server) as conn:
        assert conn.execute(query, {"t": token}).scalar_one() is None


def test_sms_fields_are_checked_and_an_app_without_a_provider_is_refused(bench, tmp_path) -> None:
    plain = bench.app(tmp_path)
    user = offline_user(plain, phone())
    said = refused(plain.template({user: unique("k")}, delivery_type=3, sms_strategy=1), "3028")
    assert "SmsTemplateCode is required" in said
    bad = {**SMS, "sms_template_param": "[1]"}
    said = refused(
        plain.template({user: unique("k")}, delivery_type=3, sms_strategy=1, **bad), "3028"
    )
    assert "SmsTemplateParam must be" in said or "SmsTemplateParam" in said
    said = refused(
        plain.template({user: unique("k")}, delivery_type=3, sms_strategy=1, **SMS), "3028"
    )
    assert "no SMS provider configured" in said
    ok(plain.template({user: unique("k")}, delivery_type=3, sms_strategy=0))


def test_a_restart_between_due_and_send_sends_exactly_one(space, aliyun_sms) -> None:
    number = phone()
    user = offline_user(space, number)
    key = unique("k")
    ok(space.template({user: key}, delivery_type=3, sms_strategy=1, **SMS))
    space.server.stop()  # before the SMS falls due
    time.sleep(DELAY)  # due while no process runs
    assert supplement(space.server, key).state == "due"
    space.server.start()
    eventually(lambda: aliyun_sms.record.for_token(number), timeout=15)
    assert settled(space.server, key).state == "sent"
    assert len(aliyun_sms.record.for_token(number)) == 1
