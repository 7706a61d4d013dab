"""PushBroadcast's rules (push/broadcast.py): the call, the audience it stores, its windows."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.push.test_multiple import NOW, SEED_TEMPLATE
from tests.support.hostile import hostile_text
from tests.support.pushwire import check_broadcast as check_call
from tests.support.pushwire import plan_broadcast as plan
from tests.support.timings import NO_TIMING, wire_timings
from tidings.delivery.audience import Audience, Window
from tidings.errors import Code, ServiceError
from tidings.instants import DAY_MS
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import BroadcastFields
from tidings.push.models import PushLimits
from tidings.tasks import BROADCAST

LIMITS = PushLimits()
CALL = BroadcastFields(
    task_name="Broadcast test",
    delivery_type="1",
    template_name="Test template",
    template_key_value='{"name": "everyone", "money": "5"}',
    msg_key="bk1",
    expired_seconds="300",
    timing=NO_TIMING,
    push_status=None,
    bind_period=None,
    unbind_period=None,
    time_mode=None,
    bind_start_time=None,
    bind_end_time=None,
    unbind_start_time=None,
    unbind_end_time=None,
    options=OptionFields(),
)


def checked(**changes):
    return check_call(replace(CALL, **changes), LIMITS, timezone="Asia/Shanghai", now=NOW)


def audience(**changes) -> Audience:
    return checked(**changes)[1]


def refused(code: Code, **changes) -> str:
    with pytest.raises(ServiceError) as caught:
        checked(**changes)
    assert caught.value.code is code, caught.value.message
    return caught.value.detail


def test_the_plan_is_one_message_and_an_audience() -> None:
    call, chosen, msg_key = checked()
    push = plan(call, chosen, msg_key, CALL.template_key_value, SEED_TEMPLATE, LIMITS)
    assert push.action == BROADCAST and push.key_field(1) == "Msgkey"
    [message] = push.messages
    assert (message.msg_key, message.target) == ("bk1", "")
    assert message.content == "Hello everyone, congratulations on winning 5 yuan"
    assert Audience.from_json(push.audience) == chosen
    assert chosen == Audience("android", Window(days=None), None)  # bound, any time


@pytest.mark.parametrize(
    ("value", "platform"), [("1", "android"), ("2", "ios"), ("7", "harmonyos")]
)
def test_device_platforms(value: str, platform: str) -> None:
    assert audience(delivery_type=value).platform == platform


def test_user_dimension_is_refused_with_3030() -> None:
    assert "DeliveryType 3" in refused(Code.BROADCAST_ONLY_SUPPORT_BY_DEVICE, delivery_type="3")
    for other in ("5", "6", "4", "", None):
        refused(Code.DELIVERY_TYPE_NOT_SUPPORTED, delivery_type=other)


def test_msg_key() -> None:
    assert "Msgkey is required" in refused(Code.INVALID_PARAM, msg_key=None)
    assert "Msgkey is longer than 128" in refused(Code.INVALID_PARAM, msg_key="k" * 129)


def test_push_status_and_periods() -> None:
    assert audience(bind_period="1") == Audience("android", Window(days=7), None)
    assert audience(push_status="1", unbind_period="2") == Audience(
        "android", Window(), Window(days=15)
    )
    assert audience(push_status="2", unbind_period="3") == Audience(
        "android", None, Window(days=60)
    )
    assert audience(push_status="2", unbind_period="4") == Audience("android", None, Window())
    assert "UnBindPeriod is required with PushStatus 2" in refused(
        Code.INVALID_PARAM, push_status="2"
    )
    assert "PushStatus must be one of 0, 1, 2" in refused(Code.INVALID_PARAM, push_status="3")
    assert "BindPeriod must be one of 1, 2, 3, 4" in refused(Code.INVALID_PARAM, bind_period="5")
    assert "AndroidChannel" in refused(
        Code.INVALID_PARAM, options=OptionFields(android_channel="3")
    )


def test_explicit_windows() -> None:
    chosen = audience(time_mode="1", bind_start_time="1000", bind_end_time="2000")
    assert chosen.bound == Window(since=1000, until=2000)
    chosen = audience(time_mode="1", push_status="2", unbind_start_time="5", unbind_end_time="9")
    assert chosen.unbound == Window(since=5, until=9)
    assert "TimeMode 1 needs BindStartTime and BindEndTime" in refused(
        Code.INVALID_PARAM, time_mode="1", bind_start_time="1"
    )
    assert "UnBindEndTime 1 is before UnBindStartTime 9" in refused(
        Code.INVALID_PARAM,
        time_mode="1",
        push_status="2",
        unbind_start_time="9",
        unbind_end_time="1",
    )


def test_window_bounds_are_taken_from_the_push_time() -> None:
    at = 100 * DAY_MS
    assert Window(days=7).bounds(at) == (93 * DAY_MS, None)
    assert Window().bounds(at) == (None, None)
    assert Window(since=1, until=2).bounds(at) == (1, 2)


def test_audience_round_trips() -> None:
    for chosen in (
        Audience("ios", Window(days=15), None),
        Audience("harmonyos", Window(), Window(since=1, until=2)),
        Audience("android", None, Window(days=60)),
    ):
        assert Audience.from_json(chosen.to_json()) == chosen


maybe_hostile = st.none() | hostile_text


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        BroadcastFields,
        task_name=maybe_hostile | st.just("t"),
        delivery_type=maybe_hostile | st.sampled_from(["1", "3", "7"]),
        template_name=maybe_hostile | st.just("Test template"),
        template_key_value=maybe_hostile,
        msg_key=maybe_hostile,
        expired_seconds=maybe_hostile | st.just("600"),
        timing=wire_timings(maybe_hostile, maybe_hostile),
        push_status=maybe_hostile | st.sampled_from(["0", "1", "2"]),
        bind_period=maybe_hostile | st.sampled_from(["1", "4"]),
        unbind_period=maybe_hostile | st.sampled_from(["2", "3"]),
        time_mode=maybe_hostile | st.sampled_from(["0", "1"]),
        bind_start_time=maybe_hostile,
        bind_end_time=maybe_hostile,
        unbind_start_time=maybe_hostile,
        unbind_end_time=maybe_hostile,
        options=st.builds(OptionFields, android_channel=maybe_hostile),
    )
)
def test_any_text_raises_only_service_errors(fields: BroadcastFields) -> None:
    try:
        call, chosen, msg_key = check_call(fields, LIMITS, timezone="Asia/Shanghai", now=NOW)
        push = plan(call, chosen, msg_key, fields.template_key_value, SEED_TEMPLATE, LIMITS)
    except ServiceError as exc:
        assert isinstance(exc.code, Code)
    else:
        assert Audience.from_json(push.audience) == chosen


def test_a_live_activity_is_not_started_by_broadcast() -> None:
    start = OptionFields(
        activity_event="start",
        extended_params='{"attributes-type": "MatchAttributes", "attributes": "{}"}',
    )
    detail = refused(Code.INVALID_PARAM, delivery_type="2", options=start)
    assert detail == "ActivityEvent start goes to devices or users, not a broadcast"
