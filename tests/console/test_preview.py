"""The template preview fills placeholders in as the push path does."""

from __future__ import annotations

from tidings.console.preview import preview


def test_placeholders_are_listed_once_in_order_and_filled_with_samples() -> None:
    shown = preview("Hi #name#", "#name# won #money# yuan", "app://x/#id#", {"money": "200"})
    assert shown.names == ("name", "money", "id")
    assert shown.title == "Hi [name]"
    assert shown.content == "[name] won 200 yuan"
    assert shown.uri == "app://x/[id]"
    assert shown.samples == {"name": "[name]", "money": "200", "id": "[id]"}


def test_values_are_inserted_literally_never_scanned_again() -> None:
    shown = preview("#a#", "#a# and #b#", "", {"a": "#b#", "b": "B"})
    assert shown.title == "#b#"
    assert shown.content == "#b# and B"


def test_the_rule_is_the_push_paths_rule_including_non_latin_names() -> None:
    shown = preview("#姓名#, #not a name#, ##, #x_1#", "", "", {"姓名": "张三"})
    assert shown.names == ("姓名", "x_1")
    assert shown.title == "张三, #not a name#, ##, [x_1]"
