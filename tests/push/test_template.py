"""PushTemplate's rules (push/template.py): one rendering of a template to up to ten targets."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.push.test_multiple import NOW, SEED_TEMPLATE, template
from tests.support.pushwire import check_template as check_call
from tests.support.pushwire import plan_template as plan
from tests.support.timings import NO_TIMING
from tidings.contract import PushOptions
from tidings.errors import Code, ServiceError
from tidings.openapi.options import OptionFields
from tidings.openapi.pushcalls import TemplatePushFields
from tidings.push.models import PushLimits
from tidings.push.options import with_template_style
from tidings.push.sms import SmsFields
from tidings.tasks import TEMPLATE

LIMITS = PushLimits()
CALL = TemplatePushFields(
    task_name="Template test",
    delivery_type="3",
    template_name="Test template",
    template_key_value='{"name": "Zhang San", "money": "200"}',
    target_msgkey='{"user_1": "k1", "user_2": "k2"}',
    expired_seconds="300",
    timing=NO_TIMING,
    options=OptionFields(),
)


def planned(compiled=SEED_TEMPLATE, **changes):
    fields = replace(CALL, **changes)
    call, targets = check_call(fields, LIMITS, timezone="Asia/Shanghai", now=NOW)
    return plan(call, targets, fields.template_key_value, compiled, LIMITS)


def refused(code: Code, compiled=SEED_TEMPLATE, **changes) -> str:
    with pytest.raises(ServiceError) as caught:
        planned(compiled, **changes)
    assert caught.value.code is code, caught.value.message
    return caught.value.detail


def test_every_target_gets_the_same_rendering() -> None:
    push = planned()
    assert (push.action, push.template_pk, push.template_name) == (TEMPLATE, 1, "Test template")
    assert [(m.target, m.msg_key) for m in push.messages] == [("user_1", "k1"), ("user_2", "k2")]
    assert {m.content for m in push.messages} == {
        "Hello Zhang San, congratulations on winning 200 yuan"
    }


def test_call_rules_in_order() -> None:
    fields = replace(
        CALL,
        task_name="",
        delivery_type="4",
        template_name="",
        target_msgkey="",
        options=OptionFields(sms=SmsFields(strategy="2")),
    )
    for code, fix in [
        (Code.TASKNAME_NULL, {"task_name": "t"}),
        (Code.DELIVERY_TYPE_NOT_SUPPORTED, {"delivery_type": "1"}),
        (Code.NEED_TEMPLATE, {"template_name": "Test template"}),
        (Code.TOKEN_OR_USERID_NULL, {"target_msgkey": '{"d": "k"}'}),
        (Code.INVALID_PARAM, {"options": OptionFields()}),  # SmsTemplateCode
    ]:
        with pytest.raises(ServiceError) as caught:
            check_call(fields, LIMITS, timezone="Asia/Shanghai", now=NOW)
        assert caught.value.code is code, caught.value.message
        fields = replace(fields, **fix)
    assert check_call(fields, LIMITS, timezone="Asia/Shanghai", now=NOW)[1] == [("d", "k")]


def test_template_values() -> None:
    detail = refused(Code.TEMPLATEKV_NOT_ENOUGH, template_key_value='{"name": "Bob"}')
    assert (
        detail
        == "TemplateKeyValue has no value for placeholder 'money' of template 'Test template'"
    )
    assert "TemplateKeyValue" in refused(Code.INVALID_PARAM, template_key_value="name=Bob")
    fixed = template(content="Maintenance tonight", variables=())
    assert planned(fixed, template_key_value=None).messages[0].content == "Maintenance tonight"
    # given as a dict rebuilt from dotted keys, values inserted literally
    push = planned(template_key_value={"name": "#money#", "money": "1"})
    assert push.messages[0].content == "Hello #money#, congratulations on winning 1 yuan"


def test_size_limit() -> None:
    values = json.dumps({"name": "x" * LIMITS.max_payload_bytes, "money": "1"})
    detail = refused(Code.MSG_PAYLOAD_TOO_LONG, template_key_value=values)
    assert "TemplateKeyValue renders to" in detail


def test_a_template_push_shows_as_its_template_says() -> None:
    styled = replace(
        SEED_TEMPLATE.template,
        push_style=2,
        image_urls='{"defaultUrl": "https://example.com/big.png"}',
        icon_urls=None,
    )
    options = with_template_style(PushOptions(silent=1), styled)
    assert (options.push_style, options.silent) == (2, 1)
    assert options.image_urls == {"defaultUrl": "https://example.com/big.png"}
    assert options.icon_urls is None
    plain = PushOptions()
    assert with_template_style(plain, SEED_TEMPLATE.template) is plain
