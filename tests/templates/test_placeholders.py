"""``#name#`` placeholders: found the same way everywhere, filled in literally."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tidings.templates.placeholders import Pattern, names_in

# text rich in '#', word characters and the odd non-word character, so placeholders are common;
# with what a format spells its fields with ('%s', '{}'), which rendering must keep as they are,
# and the NUL that parts the texts ``render_each`` fills in at once
template_text = st.lists(
    st.sampled_from([*"##ab_1 .-名%{}\x00", "#a#", "#money#", "%s", "{0}"])
).map("".join)
value_text = st.lists(
    st.sampled_from([*"#ab %{}\x00", "#money#", "#a#", "\\1", "\\g<0>", "%s", "{0}"])
).map("".join)


def test_seed_template() -> None:
    pattern = Pattern.compile("Hello #name#, congratulations on winning #money# yuan")
    assert pattern.names == ("name", "money")
    rendered = pattern.render({"name": "Zhang San", "money": "200"})
    assert rendered == "Hello Zhang San, congratulations on winning 200 yuan"


def test_a_value_that_reads_like_a_placeholder_stays_as_it_is() -> None:
    pattern = Pattern.compile("#name# won #money#")
    assert pattern.render({"name": "#money#", "money": "#name#"}) == "#money# won #name#"


def test_names_in_order_of_first_appearance_across_texts() -> None:
    assert names_in("#b# #a#", None, "", "#a# #c#") == ("b", "a", "c")
    assert Pattern.compile("#b##a##b#").names == ("b", "a")
    assert Pattern.compile("##a# # b# #名字#").names == ("a", "名字")
    assert Pattern.compile("no placeholders # here").render({}) == "no placeholders # here"


@given(template_text)
def test_pattern_names_equal_names_in(text: str) -> None:
    assert Pattern.compile(text).names == names_in(text)


@given(template_text, st.data())
def test_rendering_inserts_values_literally(text: str, data: st.DataObject) -> None:
    pattern = Pattern.compile(text)
    values = {name: data.draw(value_text) for name in pattern.names}
    expected = re.sub(r"#(\w+)#", lambda m: values[m[1]], text)  # a function's result is literal
    assert pattern.render(values) == expected


@given(template_text)
def test_rendering_each_name_as_itself_gives_the_text_back(text: str) -> None:
    pattern = Pattern.compile(text)
    assert pattern.render({name: f"#{name}#" for name in pattern.names}) == text


@given(template_text, st.data())
def test_rendering_each_map_is_rendering_it_alone(text: str, data: st.DataObject) -> None:
    pattern = Pattern.compile(text)
    maps = data.draw(
        st.lists(st.fixed_dictionaries({name: value_text for name in pattern.names}), max_size=4)
    )
    rendered = [re.sub(r"#(\w+)#", lambda m, v=values: v[m[1]], text) for values in maps]
    assert pattern.render_each(maps) == rendered
