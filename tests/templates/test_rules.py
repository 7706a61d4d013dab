"""CreateTemplate's rules, each with the MPS code it answers."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tidings.errors import Code, ServiceError
from tidings.templates.rules import MAX_NAME, TemplateFields, check_name, draft

SEED = TemplateFields(
    name="Test template",
    title="Congratulations",
    content="Hello #name#, congratulations on winning #money# yuan",
)


def refused(fields: TemplateFields, code: Code) -> str:
    with pytest.raises(ServiceError) as caught:
        draft(fields)
    assert caught.value.code is code, caught.value.message
    return caught.value.detail


@pytest.mark.parametrize(
    "name", ["Test template", "template1024", "模板_1", "a", "x" * MAX_NAME, "a-b.c (d)"]
)
def test_names_accepted(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    ("name", "code", "problem"),
    [
        ("", Code.TEMPLATE_NAME_NULL, "required"),
        (None, Code.TEMPLATE_NAME_NULL, "required"),
        ("a,b", Code.TEMPLATE_NAME_INVALID, "comma"),
        ("x" * (MAX_NAME + 1), Code.TEMPLATE_NAME_INVALID, "limit is 200"),
        (" name", Code.TEMPLATE_NAME_INVALID, "white space"),
        ("name ", Code.TEMPLATE_NAME_INVALID, "white space"),
        ("name\u3000", Code.TEMPLATE_NAME_INVALID, "white space"),
        ("a\tb", Code.TEMPLATE_NAME_INVALID, "control character"),
        ("a\x7fb", Code.TEMPLATE_NAME_INVALID, "control character"),
    ],
)
def test_names_refused(name: str | None, code: Code, problem: str) -> None:
    detail = refused(replace(SEED, name=name), code)
    assert "TemplateName" in detail and problem in detail


def test_seed_template_drafts_with_its_placeholders() -> None:
    made = draft(SEED)
    assert (made.name, made.title, made.content) == (SEED.name, SEED.title, SEED.content)
    assert made.variables == ("name", "money")
    assert (made.show_style, made.push_style, made.jump_action) == (0, 0, 0)
    assert (made.uri, made.image_urls, made.icon_urls, made.description) == (None,) * 4


def test_placeholders_come_from_title_content_and_uri() -> None:
    made = draft(replace(SEED, title="#a# #b#", content="#b# #c#", uri="app://x?id=#d#"))
    assert made.variables == ("a", "b", "c", "d")


def test_variables_listing_the_placeholders_in_another_order() -> None:
    made = draft(replace(SEED, variables=" money , name,name"))
    assert made.variables == ("money", "name")


@pytest.mark.parametrize(
    ("variables", "said"),
    [
        ("name", "placeholders not listed: money"),
        ("name,money,extra", "listed but not used as #name#: extra"),
        ("nom,money", "placeholders not listed: name; listed but not used as #name#: nom"),
    ],
)
def test_variables_mismatch_is_invalid_param(variables: str, said: str) -> None:
    assert said in refused(replace(SEED, variables=variables), Code.INVALID_PARAM)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"title": None}, Code.TEMPLATE_TITLE_INVALID, "Title"),
        ({"title": "t" * 201}, Code.TEMPLATE_TITLE_INVALID, "Title"),
        ({"content": ""}, Code.TEMPLATE_CONTENT_INVALID, "Content"),
        ({"content": "c" * 4001}, Code.TEMPLATE_CONTENT_INVALID, "Content"),
        ({"content": "bell\x07"}, Code.TEMPLATE_CONTENT_INVALID, "Content"),
        ({"description": "d" * 201}, Code.TEMPLATE_DESC_INFO_INVALID, "DescInfo"),
        ({"uri": "https://example.com/a b"}, Code.TEMPLATE_URI_INVALID, "Uri"),
        ({"uri": "https://example.com/a\tb"}, Code.TEMPLATE_URI_INVALID, "Uri"),
        ({"uri": " https://example.com"}, Code.TEMPLATE_URI_INVALID, "Uri"),
        ({"uri": "u" * 2049}, Code.TEMPLATE_URI_INVALID, "Uri"),
        ({"show_style": "2"}, Code.INVALID_PARAM, "ShowStyle"),
        ({"push_style": "3"}, Code.INVALID_PARAM, "PushStyle"),
        ({"jump_action": "x"}, Code.INVALID_PARAM, "JumpAction"),
    ],
)
def test_field_rules(change: dict, code: Code, field: str) -> None:
    assert field in refused(replace(SEED, **change), code)


def test_uri_with_placeholders_and_styles() -> None:
    made = draft(
        replace(
            SEED, uri="app://win?amount=#money#", show_style="1", push_style="2", jump_action="1"
        )
    )
    assert made.uri == "app://win?amount=#money#"
    assert (made.show_style, made.push_style, made.jump_action) == (1, 2, 1)


def test_image_and_icon_urls_are_stored_as_compact_json() -> None:
    made = draft(
        replace(
            SEED,
            image_urls='{"defaultUrl": "https://x/a.png", "hmsUrl": "http://x/b.png"}',
            icon_urls="{'oppoUrl': 'https://x/i.png'}",
        )
    )
    assert json.loads(made.image_urls) == {
        "defaultUrl": "https://x/a.png",
        "hmsUrl": "http://x/b.png",
    }
    assert made.icon_urls == '{"oppoUrl":"https://x/i.png"}'


@pytest.mark.parametrize(
    ("image_urls", "said"),
    [
        ('{"appleUrl": "https://x/a.png"}', "ImageUrls.appleUrl is not one of"),
        ('{"defaultUrl": "ftp://x/a.png"}', "ImageUrls.defaultUrl must be an http(s) URL"),
        ('{"defaultUrl": 1}', "ImageUrls.defaultUrl must be an http(s) URL"),
        ('["https://x/a.png"]', "ImageUrls must be a JSON object"),
    ],
)
def test_image_urls_refused(image_urls: str, said: str) -> None:
    assert said in refused(replace(SEED, image_urls=image_urls), Code.INVALID_PARAM)
