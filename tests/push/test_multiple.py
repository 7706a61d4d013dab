"""PushMultiple's rules: the call as a whole (check_call), then each target (render_targets)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.hostile import hostile_text
from tests.support.pushwire import check_multiple as check_call
from tests.support.pushwire import check_targets, render_targets
from tests.support.timings import NO_TIMING, wire_timing, wire_timings
from tidings.contract import PushOptions
from tidings.errors import Code, ServiceError
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import MultipleFields
from tidings.push.models import PushLimits
from tidings.templates.models import CompiledTemplate, Template

NOW = datetime(2026, 6, 1, 2, tzinfo=UTC).timestamp()
LIMITS = PushLimits()
SEED_CALL = MultipleFields(
    task_name="Multiple test",
    delivery_type="3",
    template_name="Test template",
    expired_seconds="600",
    timing=NO_TIMING,
    target_count=1,
    options=OptionFields(),
)


def template(
    title: str = "Congratulations",
    content: str = "Hello #name#, congratulations on winning #money# yuan",
    uri: str | None = None,
    variables: tuple[str, ...] = ("name", "money"),
) -> CompiledTemplate:
    return CompiledTemplate.of(
        Template(
            pk=1,
            app_pk=1,
            name="Test template",
            description=None,
            title=title,
            content=content,
            uri=uri,
            variables=variables,
            show_style=0,
            push_style=0,
            jump_action=0,
            image_urls=None,
            icon_urls=None,
            revision=1,
            created_at=0,
            updated_at=0,
        )
    )


SEED_TEMPLATE = template()


def check(fields: MultipleFields, limits: PushLimits = LIMITS):
    return check_call(fields, limits, timezone="Asia/Shanghai", now=NOW)


def check_refused(code: Code, limits: PushLimits = LIMITS, **changes) -> str:
    with pytest.raises(ServiceError) as caught:
        check(replace(SEED_CALL, **changes), limits)
    assert caught.value.code is code, caught.value.message
    return caught.value.detail


def target(index: int, **fields) -> dict:
    entry = {
        "Target": f"user_{index}",
        "MsgKey": f"mk{index}",
        "TemplateKeyValue": json.dumps({"name": f"N{index}", "money": str(index)}),
    }
    entry.update(fields)
    return {k: v for k, v in entry.items() if v is not None}


def render(targets: list[dict], compiled: CompiledTemplate = SEED_TEMPLATE, **options):
    return render_targets(targets, compiled, PushOptions(**options), LIMITS)


def render_refused(code: Code, targets: list[dict], **kwargs) -> str:
    with pytest.raises(ServiceError) as caught:
        render(targets, **kwargs)
    assert caught.value.code is code, caught.value.message
    return caught.value.detail


# --- check_call ---


def test_seed_call() -> None:
    spec = check(SEED_CALL)
    assert (spec.task_name, spec.delivery_type, spec.expired_seconds) == ("Multiple test", 3, 600)
    assert spec.options == PushOptions() and spec.strategy is None


def test_problems_are_reported_in_the_order_a_caller_fixes_them() -> None:
    fields = MultipleFields(
        task_name=None,
        delivery_type="5",
        template_name=None,
        expired_seconds="0",
        timing=wire_timing("2", "[]"),
        target_count=0,
        options=OptionFields(silent="2"),
    )
    steps = [
        (Code.TASKNAME_NULL, {"task_name": "t"}),
        (Code.DELIVERY_TYPE_NOT_SUPPORTED, {"delivery_type": "3"}),
        (Code.NEED_TEMPLATE, {"template_name": "Test template"}),
        (Code.TOKEN_OR_USERID_NULL, {"target_count": 101}),
        (Code.TARGET_TOO_MUCH, {"target_count": 100}),
        (Code.EXPIREDSECONDS_WRONG, {"expired_seconds": "60"}),
        (Code.INVALID_PARAM, {"options": OptionFields()}),  # Silent
        (Code.INVALID_PARAM, {"timing": NO_TIMING}),  # StrategyContent
    ]
    for code, fix in steps:
        with pytest.raises(ServiceError) as caught:
            check(fields)
        assert caught.value.code is code, caught.value.message
        fields = replace(fields, **fix)
    assert check(fields).task_name == "t"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, Code.TASKNAME_NULL),
        ("", Code.TASKNAME_NULL),
        ("t" * 201, Code.INVALID_PARAM),
        ("bell\x07", Code.INVALID_PARAM),
    ],
)
def test_task_name(value: str | None, code: Code) -> None:
    assert "TaskName" in check_refused(code, task_name=value)


@pytest.mark.parametrize("value", [None, "", "5", "x", "0", "4", "3.0", "-3"])
def test_delivery_type_refused(value: str | None) -> None:
    assert "DeliveryType" in check_refused(Code.DELIVERY_TYPE_NOT_SUPPORTED, delivery_type=value)


@pytest.mark.parametrize("value", ["1", "2", "3", "7"])
def test_delivery_type_accepted(value: str) -> None:
    assert check(replace(SEED_CALL, delivery_type=value)).delivery_type == int(value)


@pytest.mark.parametrize("value", [None, ""])
def test_template_name_required(value: str | None) -> None:
    assert "TemplateName" in check_refused(Code.NEED_TEMPLATE, template_name=value)


def test_target_count() -> None:
    assert "TargetMsg" in check_refused(Code.TOKEN_OR_USERID_NULL, target_count=0)
    detail = check_refused(Code.TARGET_TOO_MUCH, target_count=101)
    assert "TargetMsg has 101 targets; at most 100" in detail
    assert check(replace(SEED_CALL, target_count=100))


@pytest.mark.parametrize("value", [None, "", "0", "-1", "abc", "1.5", "1e3"])
def test_expired_seconds_wrong(value: str | None) -> None:
    assert "ExpiredSeconds" in check_refused(Code.EXPIREDSECONDS_WRONG, expired_seconds=value)


def test_expired_seconds_limit() -> None:
    longest = str(LIMITS.max_expired_seconds)
    assert check(replace(SEED_CALL, expired_seconds=longest)).expired_seconds == 604800
    detail = check_refused(Code.EXPIREDTIME_TOO_LONG, expired_seconds="604801")
    assert "the longest validity is 604800 s" in detail
    check_refused(
        Code.EXPIREDTIME_TOO_LONG, PushLimits(max_expired_seconds=60), expired_seconds="61"
    )


def test_strategy_is_read_in_the_apps_time_zone() -> None:
    fixed = int(NOW * 1000) + 3_600_000
    spec = check(replace(SEED_CALL, timing=wire_timing("1", json.dumps({"fixedTime": fixed}))))
    assert spec.strategy.fixed_time == fixed


# --- render_targets ---


def test_seed_target_renders() -> None:
    [message] = render(
        [
            {
                "Target": "userid1024",
                "MsgKey": "1700000000000",
                "TemplateKeyValue": '{"name": "Zhang San", "money": "200"}',
            }
        ]
    )
    assert (message.target, message.msg_key) == ("userid1024", "1700000000000")
    assert message.title == "Congratulations"
    assert message.content == "Hello Zhang San, congratulations on winning 200 yuan"
    assert (message.uri, message.extended_params) == (None, None)


def test_values_in_every_wire_shape_and_inserted_literally() -> None:
    messages = render(
        [
            target(1, TemplateKeyValue="{'name': 'Zhang San', 'money': 200}"),
            target(2, TemplateKeyValue={"name": "#money#", "money": "#name#"}),
            target(3, TemplateKeyValue='{"name": "A", "money": 1.5, "extra": "unused"}'),
        ],
        template(uri="app://win?amount=#money#"),
    )
    assert messages[0].content == "Hello Zhang San, congratulations on winning 200 yuan"
    assert messages[1].content == "Hello #money#, congratulations on winning #name# yuan"
    assert messages[1].uri == "app://win?amount=#name#"
    assert messages[2].content == "Hello A, congratulations on winning 1.5 yuan"


def test_a_template_without_placeholders_needs_no_values() -> None:
    compiled = template(content="Maintenance tonight", variables=())
    [message] = render([target(1, TemplateKeyValue=None)], compiled)
    assert message.content == "Maintenance tonight"


@pytest.mark.parametrize("value", ["", None])
def test_empty_target(value: str | None) -> None:
    detail = render_refused(Code.TOKEN_OR_USERID_NULL, [target(1), target(2, Target=value)])
    assert detail == "TargetMsg.2.Target is empty"


@pytest.mark.parametrize("value", ["", None])
def test_missing_msg_key(value: str | None) -> None:
    detail = render_refused(Code.INVALID_PARAM, [target(1), target(2, MsgKey=value)])
    assert detail == "TargetMsg.2.MsgKey is required"


def test_duplicate_msg_key_names_both_entries() -> None:
    detail = render_refused(Code.INVALID_PARAM, [target(1), target(2), target(3, MsgKey="mk1")])
    assert "TargetMsg.3.MsgKey 'mk1' repeats TargetMsg.1.MsgKey" in detail


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"Target": "u" * 129}, "TargetMsg.1.Target is longer than 128"),
        ({"MsgKey": "k" * 129}, "TargetMsg.1.MsgKey is longer than 128"),
        ({"Target": {"a": "b"}}, "TargetMsg.1.Target must be text"),
        ({"MsgKey": {"a": "b"}}, "TargetMsg.1.MsgKey must be text"),
        ({"TemplateKeyValue": "name=Zhang"}, "TargetMsg.1.TemplateKeyValue"),
        ({"TemplateKeyValue": '{"name": {"first": "Z"}}'}, "TargetMsg.1.TemplateKeyValue.name"),
    ],
)
def test_target_fields(change: dict, said: str) -> None:
    assert said in render_refused(Code.INVALID_PARAM, [target(1, **change)])


def test_missing_placeholder_names_the_target_and_the_key() -> None:
    detail = render_refused(
        Code.TEMPLATEKV_NOT_ENOUGH,
        [target(1), target(2, TemplateKeyValue='{"name": "Bob"}')],
    )
    assert detail == (
        "TargetMsg.2 (target 'user_2') has no value for placeholder 'money' "
        "of template 'Test template'"
    )
    detail = render_refused(Code.TEMPLATEKV_NOT_ENOUGH, [target(1, TemplateKeyValue=None)])
    assert "placeholder 'name', 'money'" in detail


def test_per_target_extended_params() -> None:
    nine = json.dumps({f"k{i}": i for i in range(9)})
    [message] = render([target(1, ExtendedParams=nine)])
    assert json.loads(message.extended_params) == {f"k{i}": str(i) for i in range(9)}
    ten = json.dumps({f"k{i}": i for i in range(10)})
    detail = render_refused(
        Code.MULTIPLE_INNER_EXTEND_PARAM_TO_MUCH, [target(1), target(2, ExtendedParams=ten)]
    )
    assert "TargetMsg.2.ExtendedParams has 10 keys; at most 9" in detail
    detail = render_refused(
        Code.INVALID_EXTEND_PARAM, [target(1, ExtendedParams='{"taskId": "1"}')]
    )
    assert "TargetMsg.1.ExtendedParams uses reserved key taskId" in detail
    assert render([target(1, ExtendedParams="null")])[0].extended_params is None


def test_payload_size_counts_utf8_bytes_and_the_call_wide_extensions() -> None:
    compiled = template(title="T", content="#v#", variables=("v",))
    limit = LIMITS.max_payload_bytes

    def values(text: str) -> list[dict]:
        return [target(1, TemplateKeyValue=json.dumps({"v": text}))]

    assert render(values("x" * (limit - 1)), compiled)
    assert render(values("中" * ((limit - 1) // 3)), compiled)
    detail = render_refused(
        Code.MSG_PAYLOAD_TOO_LONG, values("中" * (limit // 3 + 1)), compiled=compiled
    )
    assert f"TargetMsg.1 (target 'user_1') renders to 4099 bytes; the limit is {limit}" in detail
    # {"a": "bc"} adds 3 bytes to every message of the call
    render(values("x" * (limit - 4)), compiled, extended_params={"a": "bc"})
    render_refused(
        Code.MSG_PAYLOAD_TOO_LONG,
        values("x" * (limit - 3)),
        compiled=compiled,
        extended_params={"a": "bc"},
    )


# --- any text: nothing but ServiceError ---

maybe_hostile = st.none() | hostile_text


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        MultipleFields,
        task_name=maybe_hostile,
        delivery_type=maybe_hostile | st.sampled_from(["1", "3"]),
        template_name=maybe_hostile,
        expired_seconds=maybe_hostile | st.sampled_from(["600", "604801"]),
        timing=wire_timings(maybe_hostile | st.sampled_from(["1", "2"]), maybe_hostile),
        target_count=st.integers(0, 200),
        options=st.builds(
            OptionFields,
            extended_params=maybe_hostile,
            notify_level=maybe_hostile,
            transparent_payload=maybe_hostile,
        ),
    )
)
def test_check_call_raises_only_service_errors(fields: MultipleFields) -> None:
    try:
        spec = check(fields)
    except ServiceError as exc:
        assert isinstance(exc.code, Code)
    else:
        assert spec.options.to_json() is not None


entry_values = maybe_hostile | st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=3)
entries = st.fixed_dictionaries(
    {},
    optional={
        "Target": entry_values | st.sampled_from(["u1", "u2"]),
        "MsgKey": entry_values | st.sampled_from(["k1", "k2"]),
        "TemplateKeyValue": entry_values
        | st.just('{"name": "n", "money": "1"}')
        | st.just({"name": "n", "money": "#name#"}),
        "ExtendedParams": entry_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(entries, min_size=1, max_size=4))
def test_render_targets_raises_only_service_errors(targets: list[dict]) -> None:
    try:
        messages = render(targets)
    except ServiceError as exc:
        assert isinstance(exc.code, Code)
    else:
        assert len({m.msg_key for m in messages}) == len(targets)
        assert all(m.payload_size() <= LIMITS.max_payload_bytes for m in messages)


# Entries that mostly pass, each rule broken now and then (a size only by several entries).
nearly_plain_entries = st.fixed_dictionaries(
    {
        "Target": st.sampled_from(["u1", "u2", "u3", "", "u" * 129]),
        "MsgKey": st.sampled_from(["k1", "k2", "k3", "k4", "", "k" * 129]),
        "TemplateKeyValue": st.builds(
            lambda name, money: json.dumps({"name": "x" * name, "money": "中" * money}),
            st.sampled_from([0, 1, 1600, 2100]),
            st.sampled_from([0, 1, 300]),
        )
        | st.just('{"name": "n"}'),
    },
    optional={"ExtendedParams": st.just('{"a": "b"}')},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(nearly_plain_entries, min_size=1, max_size=3))
def test_render_targets_is_check_targets_stopped_at_the_first_problem(targets: list[dict]) -> None:
    """``render_targets`` takes entries that pass every rule all at once, ``check_targets`` one by
    one: the same messages, or the refusal of the first problem, word for word."""
    compiled = template(title="#name#", content="#money# to #name#", uri="app://#money#")
    checked = check_targets(targets, compiled, PushOptions(), LIMITS)
    problems = [(p.code, p.message, p.path) for p in checked if isinstance(p, ServiceError)]
    try:
        messages = render_targets(targets, compiled, PushOptions(), LIMITS)
    except ServiceError as exc:
        assert problems[:1] == [(exc.code, exc.message, exc.path)]
    else:
        assert not problems
        assert messages == checked
