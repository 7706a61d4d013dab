"""A push plan's digest: how a retried call is told from a msgKey reused with other content."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

import pytest

from tidings.contract import PushOptions
from tidings.push.models import CallSpec, PushPlan, RenderedMessage
from tidings.schedule.strategy import LOOP, SCHEDULED, Strategy


def plan(**changes) -> PushPlan:
    """A fresh plan on every call, so equal digests never come from shared objects."""
    call = CallSpec("Multiple test", 3, 600, PushOptions(), None)
    messages = [
        RenderedMessage("mk1", "user_1", "Hi", "Hello Zhang San", None, None),
        RenderedMessage("mk2", "user_2", "Hi", "Hello Bob", "app://x", '{"k":"v"}'),
    ]
    base = PushPlan("PushMultiple", call, 7, "Test template", messages)
    return replace(base, **changes)


def test_equal_plans_have_equal_digests() -> None:
    assert plan().digest() == plan().digest()
    assert len(plan().digest()) == 64


@pytest.mark.parametrize("field", RenderedMessage._fields)
@pytest.mark.parametrize("index", [0, 1])
def test_any_message_field_changes_the_digest(field: str, index: int) -> None:
    messages = list(plan().messages)
    current = getattr(messages[index], field)
    messages[index] = messages[index]._replace(**{field: "other" if current != "other" else "x"})
    assert plan(messages=messages).digest() != plan().digest()


def test_text_moved_between_fields_changes_the_digest() -> None:
    first = RenderedMessage("mk1", "user_1", "ab", "c", None, None)
    second = RenderedMessage("mk1", "user_1", "a", "bc", None, None)
    assert plan(messages=[first]).digest() != plan(messages=[second]).digest()


def test_message_order_and_count_change_the_digest() -> None:
    messages = plan().messages
    assert plan(messages=messages[::-1]).digest() != plan().digest()
    assert plan(messages=messages[:1]).digest() != plan().digest()


@pytest.mark.parametrize(
    "call_change",
    [
        {"task_name": "Multiple test 2"},
        {"delivery_type": 1},
        {"expired_seconds": 601},
        {"options": PushOptions(silent=1)},
        {"options": PushOptions(extended_params={"a": "b"})},
        {"strategy": Strategy(SCHEDULED, fixed_time=1_800_000_000_000)},
        {
            "strategy": Strategy(
                LOOP, None, date(2026, 6, 1), date(2026, 6, 30), 1, (), time(13, 45, 11)
            )
        },
    ],
)
def test_any_call_field_changes_the_digest(call_change: dict) -> None:
    changed = plan(call=replace(plan().call, **call_change))
    assert changed.digest() != plan().digest()


@pytest.mark.parametrize("change", [{"action": "PushTemplate"}, {"template_name": "Other"}])
def test_action_and_template_change_the_digest(change: dict) -> None:
    assert plan(**change).digest() != plan().digest()


def test_the_template_row_id_alone_does_not() -> None:
    """A template deleted and created again with the same name renders the same messages."""
    assert plan(template_pk=8).digest() == plan().digest()


def test_payload_size_counts_utf8_bytes() -> None:
    message = RenderedMessage("k", "t", "标题", "内容", "app://", '{"a":"b"}')
    assert message.payload_size() == 6 + 6 + 6 + 9
