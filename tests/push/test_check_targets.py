"""Checking every TargetMsg of a batch at once, as the console does before sending."""

from __future__ import annotations

from tests.push.test_multiple import template
from tests.support.pushwire import check_targets, render_targets
from tidings.contract import PushOptions
from tidings.errors import Code, ServiceError
from tidings.push.models import PushLimits

TEMPLATE = template(title="Hi #name#", content="#money# yuan")


def entry(target: str, key: str, values: str = '{"name":"A","money":"1"}') -> dict[str, str]:
    return {"Target": target, "MsgKey": key, "TemplateKeyValue": values}


def test_every_entry_gets_its_message_or_its_own_first_problem() -> None:
    entries = [
        entry("u1", "k1"),
        entry("u2", "k1"),
        entry("", "k3"),
        entry("u4", "k4", '{"name":"B"}'),
        entry("u5", "k5", '{"name":"' + "x" * 5000 + '","money":"1"}'),
        entry("u6", "k6"),
    ]
    checked = check_targets(entries, TEMPLATE, PushOptions(), PushLimits())
    assert checked[0].title == "Hi A" and checked[0].content == "1 yuan"
    assert [c.code if isinstance(c, ServiceError) else None for c in checked] == [
        None,
        Code.INVALID_PARAM,
        Code.TOKEN_OR_USERID_NULL,
        Code.TEMPLATEKV_NOT_ENOUGH,
        Code.MSG_PAYLOAD_TOO_LONG,
        None,
    ]
    assert "TargetMsg.2.MsgKey 'k1' repeats TargetMsg.1.MsgKey" in checked[1].detail


def test_on_a_clean_batch_it_agrees_with_rendering() -> None:
    entries = [entry(f"u{n}", f"k{n}") for n in range(150)]  # beyond one call's 100
    checked = check_targets(entries, TEMPLATE, PushOptions(), PushLimits())
    assert checked == render_targets(entries, TEMPLATE, PushOptions(), PushLimits())


def test_each_problem_carries_the_path_of_its_field() -> None:
    paths = {  # an entry after a good first one -> the path of its problem
        ("u2", "k1", None): ("TargetMsg", 2, "MsgKey"),
        ("", "k2", None): ("TargetMsg", 2, "Target"),
        ("u2", "k2", '{"name":"B"}'): ("TargetMsg", 2, "TemplateKeyValue"),
        ("u2", "k2", '{"name":"' + "x" * 5000 + '","money":"1"}'): ("TargetMsg", 2),
        ("u2", "k2", "[1]"): ("TargetMsg", 2, "TemplateKeyValue"),
    }
    for (target, key, values), path in paths.items():
        second = entry(target, key) if values is None else entry(target, key, values)
        _, problem = check_targets(
            [entry("u1", "k1"), second], TEMPLATE, PushOptions(), PushLimits()
        )
        assert isinstance(problem, ServiceError) and problem.path == path, (second, problem)
