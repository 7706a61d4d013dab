"""Service refusals placed beside the form field they concern."""

from __future__ import annotations

from tidings.console.fielderrors import FORM, field_errors, first_mentioned
from tidings.errors import Code, ServiceError

FIELDS = {"TemplateName": "name", "Title": "title", "Content": "content", "Uri": "uri"}


def test_the_field_the_message_names_first_gets_the_error() -> None:
    error = ServiceError(Code.TEMPLATE_TITLE_INVALID, "Title is 201 characters long")
    assert field_errors(error, FIELDS) == {
        "title": "Title is 201 characters long (TEMPLATE_TITLE_INVALID, 3040)"
    }


def test_a_name_inside_a_longer_word_is_not_a_mention() -> None:
    assert first_mentioned("StrategyContent.time is wrong; Titles too", FIELDS) is None
    assert first_mentioned("bad Content in Title", FIELDS) == "Content"
    assert first_mentioned("TargetMsg.3.MsgKey repeats", ["MsgKey", "TargetMsg"]) == "TargetMsg"


def test_codes_whose_message_names_no_field_are_placed_by_code() -> None:
    error = ServiceError(Code.TEMPLATE_ALREADY_EXIST, "a template named 'x' already exists")
    assert list(field_errors(error, FIELDS)) == ["name"]


def test_a_message_naming_no_field_of_the_form_concerns_the_whole_form() -> None:
    error = ServiceError(Code.INVALID_PARAM, "the app already has 100 templates")
    assert list(field_errors(error, FIELDS)) == [FORM]


def test_of_names_at_the_same_place_the_longest_wins() -> None:
    names = {"StrategyContent": "when", "StrategyContent.time": "time"}
    assert first_mentioned("StrategyContent.time must be HH:mm:ss", names) == "StrategyContent.time"
    assert first_mentioned("StrategyContent is not valid JSON", names) == "StrategyContent"
