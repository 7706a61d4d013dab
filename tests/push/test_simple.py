"""PushSimple's rules (push/simple.py) and the TargetMsgkey map PushTemplate shares with it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.hostile import hostile_text
from tests.support.pushwire import plan_simple as plan
from tests.support.timings import NO_TIMING, wire_timing, wire_timings
from tidings.errors import Code, ServiceError
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import SimpleFields
from tidings.push.models import PushLimits
from tidings.push.sms import SmsFields
from tidings.tasks import SIMPLE

NOW = datetime(2026, 6, 1, 2, tzinfo=UTC).timestamp()
LIMITS = PushLimits()
CALL = SimpleFields(
    task_name="Simple test",
    delivery_type="1",
    title="Notice",
    content="Maintenance tonight",
    uri="https://example.com/notice",
    target_msgkey='{"tok-1": "k1", "tok-2": "k2"}',
    expired_seconds="300",
    timing=NO_TIMING,
    options=OptionFields(),
)
SMS = SmsFields(strategy="1", template_code="SMS_1000", sign_name="Tidings")


def planned(**changes):
    return plan(replace(CALL, **changes), LIMITS, timezone="Asia/Shanghai", now=NOW)


def refused(code: Code, **changes) -> str:
    with pytest.raises(ServiceError) as caught:
        planned(**changes)
    assert caught.value.code is code, caught.value.message
    return caught.value.detail


def test_each_target_gets_the_text_under_its_own_msg_key() -> None:
    push = planned()
    assert push.action == SIMPLE and push.template_pk is None
    assert [(m.target, m.msg_key) for m in push.messages] == [("tok-1", "k1"), ("tok-2", "k2")]
    assert {(m.title, m.content, m.uri) for m in push.messages} == {
        ("Notice", "Maintenance tonight", "https://example.com/notice")
    }
    assert push.key_field(2) == "TargetMsgkey['tok-2']"


def test_problems_are_reported_in_the_order_a_caller_fixes_them() -> None:
    fields = replace(
        CALL,
        task_name=None,
        delivery_type="4",
        title="",
        target_msgkey=None,
        expired_seconds="0",
        options=OptionFields(push_style="3", sms=SmsFields(strategy="1")),
        timing=wire_timing("1", "{}"),
    )
    steps = [
        (Code.TASKNAME_NULL, {"task_name": "t"}),
        (Code.DELIVERY_TYPE_NOT_SUPPORTED, {"delivery_type": "5"}),
        (Code.PAYLOAD_NOT_ENOUGH, {"title": "T"}),
        (Code.TOKEN_OR_USERID_NULL, {"target_msgkey": '{"a": "k"}'}),
        (Code.EXPIREDSECONDS_WRONG, {"expired_seconds": "60"}),
        (Code.INVALID_PARAM, {"options": OptionFields(sms=SmsFields(strategy="1"))}),  # PushStyle
        (Code.INVALID_PARAM, {"options": OptionFields(sms=SMS)}),  # SmsTemplateCode
        (Code.INVALID_PARAM, {"timing": NO_TIMING}),  # StrategyContent
        (Code.INVALID_PARAM, {"options": OptionFields()}),  # SmsStrategy with a Live Activity
    ]
    for code, fix in steps:
        with pytest.raises(ServiceError) as caught:
            plan(fields, LIMITS, timezone="Asia/Shanghai", now=NOW)
        assert caught.value.code is code, caught.value.message
        fields = replace(fields, **fix)
    assert plan(fields, LIMITS, timezone="Asia/Shanghai", now=NOW).call.delivery_type == 5


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"task_name": None}, ("TaskName",)),
        ({"delivery_type": "4"}, ("DeliveryType",)),
        ({"content": ""}, ("Content",)),
        ({"uri": "a b"}, ("Uri",)),
        ({"target_msgkey": '{"a": ""}'}, ("TargetMsgkey", "a")),
        ({"expired_seconds": "0"}, ("ExpiredSeconds",)),
        ({"options": OptionFields(push_style="3")}, ("PushStyle",)),
        ({"timing": wire_timing("1", "{}")}, ("StrategyContent", "fixedTime")),
        ({"options": OptionFields(sms=SmsFields(strategy="3"))}, ("SmsStrategy",)),
        ({"options": OptionFields(sms=SmsFields(strategy="1"))}, ("SmsTemplateCode",)),
        ({"options": OptionFields(sms=SmsFields("2", "SMS_1"))}, ("SmsSignName",)),
        (
            {"options": OptionFields(sms=SmsFields("2", "SMS_1", "T", '{"a": [1]}'))},
            ("SmsTemplateParam", "a"),
        ),
    ],
)
def test_each_refusal_carries_the_path_of_its_field(change: dict, path: tuple) -> None:
    """The edges place a refusal by its path (the console beside the form's input)."""
    with pytest.raises(ServiceError) as caught:
        planned(**change)
    assert caught.value.path == path, caught.value.message


@pytest.mark.parametrize("value", ["1", "2", "3", "5", "6", "7"])
def test_delivery_types(value: str) -> None:
    assert planned(delivery_type=value).call.delivery_type == int(value)


@pytest.mark.parametrize(("field", "value"), [("title", None), ("content", ""), ("title", "")])
def test_title_and_content_are_required(field: str, value: str | None) -> None:
    assert "is required" in refused(Code.PAYLOAD_NOT_ENOUGH, **{field: value})


def test_content_size() -> None:
    limit = LIMITS.max_payload_bytes
    assert planned(content="x" * (limit - 100), title="T", uri=None)
    detail = refused(Code.SINGLE_PUSH_CONTENT_TOO_LONG, content="中" * (limit // 3 + 1))
    assert f"Content is {3 * (limit // 3 + 1)} bytes; the limit is {limit}" in detail
    detail = refused(Code.MSG_PAYLOAD_TOO_LONG, content="x" * limit, title="Long title")
    assert "Title, Content and Uri renders to" in detail


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"title": "t" * 201}, "Title is 201 characters long"),
        ({"title": "bell\x07"}, "Title contains a control character"),
        ({"content": "nul\x00"}, "Content contains a control character"),
        ({"uri": "https://a b"}, "Uri must not contain white space"),
        ({"uri": "https://" + "a" * 2048}, "Uri is 2056 characters long"),
    ],
)
def test_text_fields(changes: dict, said: str) -> None:
    assert said in refused(Code.INVALID_PARAM, **changes)


def test_target_msgkey_rules() -> None:
    assert "TargetMsgkey is required" in refused(Code.TOKEN_OR_USERID_NULL, target_msgkey="{}")
    eleven = json.dumps({f"t{i}": f"k{i}" for i in range(11)})
    assert "TargetMsgkey has 11 targets; at most 10" in refused(
        Code.TARGET_TOO_MUCH, target_msgkey=eleven
    )
    ten = json.dumps({f"t{i}": f"k{i}" for i in range(10)})
    assert len(planned(target_msgkey=ten).messages) == 10
    detail = refused(Code.INVALID_PARAM, target_msgkey='{"a": "k1", "b": "k1"}')
    assert detail == "TargetMsgkey['b'] 'k1' repeats TargetMsgkey['a']; msgKeys must be unique"
    assert "TargetMsgkey['a'] is required" in refused(Code.INVALID_PARAM, target_msgkey='{"a": ""}')
    assert "a target in TargetMsgkey is empty" in refused(
        Code.TOKEN_OR_USERID_NULL, target_msgkey='{"": "k"}'
    )
    assert "TargetMsgkey" in refused(Code.INVALID_PARAM, target_msgkey="u1=k1")
    for value in ('{"b": "c"}', "true", "1.5", "null", '["k"]'):
        detail = refused(Code.INVALID_PARAM, target_msgkey=f'{{"a": {value}}}')
        assert detail.startswith("TargetMsgkey['a'] must be a string or an integer, not "), detail
    # msgKeys given as numbers (as the MPS examples do) are their decimal text
    push = planned(target_msgkey='{"u1": 1578807462788}')
    assert push.messages[0].msg_key == "1578807462788"


def test_display_options() -> None:
    push = planned(
        options=OptionFields(
            push_style="2",
            image_urls='{"defaultUrl": "https://example.com/big.png"}',
            icon_urls={"hmsUrl": "https://example.com/icon.png"},
        )
    )
    options = push.call.options
    assert options.push_style == 2
    assert options.image_urls == {"defaultUrl": "https://example.com/big.png"}
    assert options.icon_urls == {"hmsUrl": "https://example.com/icon.png"}
    assert "ImageUrls.otherUrl is not one of" in refused(
        Code.INVALID_PARAM, options=OptionFields(image_urls='{"otherUrl": "https://x"}')
    )
    assert "IconUrls.defaultUrl must be an http(s) URL" in refused(
        Code.INVALID_PARAM, options=OptionFields(icon_urls='{"defaultUrl": "ftp://x"}')
    )


def test_the_sms_supplement_is_kept_with_the_options() -> None:
    assert planned(options=OptionFields(sms=SmsFields(strategy="0", template_code="x")))
    options = planned(options=OptionFields(sms=SMS)).call.options
    assert (options.sms_strategy, options.sms_template_code, options.sms_sign_name) == (
        1,
        "SMS_1000",
        "Tidings",
    )
    param = SmsFields("2", "SMS_1", "T", '{"code": "1234", "n": 5}')
    assert planned(options=OptionFields(sms=param)).call.options.sms_template_param == {
        "code": "1234",
        "n": "5",
    }
    assert "SmsStrategy must be one of 0, 1, 2" in refused(
        Code.INVALID_PARAM, options=OptionFields(sms=SmsFields(strategy="9"))
    )
    assert "SmsTemplateCode is required" in refused(
        Code.INVALID_PARAM, options=OptionFields(sms=SmsFields(strategy="1"))
    )
    live = refused(Code.INVALID_PARAM, delivery_type="6", options=OptionFields(sms=SMS))
    assert "Live Activity" in live


def test_a_live_activity_starts_on_ios_devices_users_or_start_tokens() -> None:
    start = OptionFields(
        activity_event="start",
        extended_params='{"attributes-type": "MatchAttributes", "attributes": "{}"}',
    )
    for delivery_type in ("2", "3", "5"):
        assert planned(delivery_type=delivery_type, options=start).call.options.activity_event
    for delivery_type in ("1", "6", "7"):
        detail = refused(Code.INVALID_PARAM, delivery_type=delivery_type, options=start)
        assert detail.startswith("ActivityEvent start goes to an iOS device"), detail


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (OptionFields(activity_event="end"), "ActivityEvent"),
        (
            OptionFields(activity_content_state='{"score": 1}', dismissal_date="9"),
            "ActivityContentState",
        ),
        (OptionFields(dismissal_date="1700000000"), "DismissalDate"),
    ],
)
def test_live_activity_fields_are_refused_on_a_device_token(options, field) -> None:
    """An update or end cannot reach an Android or iOS device's own token; 3 and 7 carry a
    HarmonyOS live view, 5 and 6 a Live Activity."""
    for delivery_type in ("1", "2"):
        detail = refused(Code.INVALID_PARAM, delivery_type=delivery_type, options=options)
        assert detail.startswith(f"{field} is for a Live Activity"), detail
        assert f"not DeliveryType {delivery_type}" in detail
    for delivery_type in ("3", "5", "6", "7"):
        assert planned(delivery_type=delivery_type, options=options)


def test_digest_tells_calls_apart() -> None:
    assert planned().digest() == planned().digest()
    assert planned().digest() != planned(content="Other").digest()
    assert planned().digest() != planned(options=OptionFields(push_style="1")).digest()


maybe_hostile = st.none() | hostile_text


ANY_CALL = st.builds(
    SimpleFields,
    task_name=maybe_hostile,
    delivery_type=maybe_hostile | st.sampled_from(["1", "3"]),
    title=maybe_hostile,
    content=maybe_hostile,
    uri=maybe_hostile,
    target_msgkey=maybe_hostile | st.just('{"u": "k"}'),
    expired_seconds=maybe_hostile | st.just("600"),
    timing=wire_timings(maybe_hostile, maybe_hostile),
    options=st.builds(
        OptionFields,
        push_style=maybe_hostile,
        image_urls=maybe_hostile,
        sms=st.builds(SmsFields, strategy=maybe_hostile, template_code=maybe_hostile),
    ),
)
# PushSimple's parameters that ANY_CALL fills in: a refusal's path starts with one of them.
PARAMETERS = {
    "TaskName",
    "DeliveryType",
    "Title",
    "Content",
    "Uri",
    "TargetMsgkey",
    "ExpiredSeconds",
    "StrategyType",
    "StrategyContent",
    "SmsStrategy",
    "SmsTemplateCode",
    "SmsSignName",
    "PushStyle",
    "ImageUrls",
}


@settings(max_examples=300, deadline=None)
@given(ANY_CALL)
def test_any_text_raises_only_service_errors(fields: SimpleFields) -> None:
    try:
        push = plan(fields, LIMITS, timezone="Asia/Shanghai", now=NOW)
    except ServiceError as exc:
        assert isinstance(exc.code, Code)
    else:
        assert all(m.payload_size() <= LIMITS.max_payload_bytes for m in push.messages)


@settings(max_examples=300, deadline=None)
@given(ANY_CALL)
def test_every_refusal_names_the_parameter_at_fault(fields: SimpleFields) -> None:
    """Whatever the input, an edge can place the refusal by its path, without reading it."""
    try:
        plan(fields, LIMITS, timezone="Asia/Shanghai", now=NOW)
    except ServiceError as exc:
        assert exc.path and exc.path[0] in PARAMETERS, (exc.path, exc.message)
