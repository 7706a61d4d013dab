"""PushBind and PushReport field rules, secrets and the Statue value: pure, with their codes."""

from __future__ import annotations

import pytest

from tidings.devices import tokens
from tidings.devices.models import Device, DeviceState
from tidings.devices.rules import BindFields, Binding, ReportFields, check_bind, check_report
from tidings.errors import Code, ServiceError


def code_of(call) -> tuple[str, str]:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value.code.value_str, caught.value.detail


def test_a_binding_needs_token_os_type_and_user() -> None:
    assert check_bind(BindFields("tok", "7", "u1", "+86 138-0000-0000")) == Binding(
        "tok", "harmonyos", "u1", "+86 138-0000-0000"
    )
    assert code_of(lambda: check_bind(BindFields(None, "1", "u"))) == (
        "3001",
        "DeliveryToken is required",
    )
    assert code_of(lambda: check_bind(BindFields("t", "1", "")))[0] == "3012"
    assert code_of(lambda: check_bind(BindFields("t", None, "u"))) == ("3028", "OsType is required")
    assert (
        "OsType must be one of 1, 2, 7" in code_of(lambda: check_bind(BindFields("t", "3", "u")))[1]
    )
    assert "UserId" in code_of(lambda: check_bind(BindFields("t", "1", "u" * 129)))[1]
    assert "PhoneNumber" in code_of(lambda: check_bind(BindFields("t", "1", "u", "call me")))[1]


def report(**fields) -> ReportFields:
    values = {"delivery_token": "tok", "os_type": "1", "third_channel": None, "third_token": None}
    values.update(fields)
    return ReportFields(facts=values.pop("facts", {}), **values)


def test_a_report_names_the_vendor_by_its_third_channel_code() -> None:
    found = check_report(report(third_channel="3", third_token="hms-token", facts={"Model": "P60"}))
    assert (found.platform, found.third_channel, found.manufacturer) == ("android", 3, "hms")
    assert found.facts == {"Model": "P60"}
    apns = check_report(report(os_type="2", third_channel="1", third_token="apns"))
    assert apns.manufacturer == "ios"
    plain = check_report(report())
    assert (plain.manufacturer, plain.third_token) == ("android", None)


def test_report_refusals_name_the_field() -> None:
    assert (
        "ThirdChannel must be one of"
        in code_of(lambda: check_report(report(third_channel="99", third_token="x")))[1]
    )
    assert "give both or neither" in code_of(lambda: check_report(report(third_channel="3")))[1]
    assert "Model" in code_of(lambda: check_report(report(facts={"Model": "x" * 200})))[1]


def test_secrets_are_checked_against_their_hash_only() -> None:
    secret = tokens.new_secret()
    stored = tokens.hash_secret(secret)
    assert secret.encode() not in stored and len(stored) == 32
    assert tokens.secret_matches(secret, stored)
    assert not tokens.secret_matches(secret + "x", stored)
    assert not tokens.secret_matches(secret, None)  # a reported device has no secret
    assert tokens.new_token() != tokens.new_token()


def device(platform: str) -> Device:
    return Device(1, 1, "t", platform, None, None, None, None, None, platform, {}, 0, None)


@pytest.mark.parametrize(
    ("platform", "online", "statue"),
    [("android", True, "ONLINE"), ("android", False, "OFFLINE"), ("ios", None, "UNKNOW")],
)
def test_statue_spells_presence_as_mps_does(platform: str, online, statue: str) -> None:
    assert DeviceState(device(platform), online).statue == statue


@pytest.mark.parametrize(
    ("os_type", "third_channel", "fits"),
    [("2", "1", True), ("1", "1", False), ("2", "3", False), ("1", "3", True), ("7", "3", True)],
)
def test_a_vendor_token_must_fit_the_device_platform(os_type, third_channel, fits) -> None:
    fields = ReportFields("DT1", os_type, third_channel, "vendor-token", {})
    if fits:
        assert check_report(fields).third_token == "vendor-token"
    else:
        with pytest.raises(ServiceError) as refused:
            check_report(fields)
        assert refused.value.code is Code.INVALID_PARAM
        assert "push tokens belong to" in refused.value.detail
