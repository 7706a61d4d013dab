"""Service refusals placed beside the form field they concern, by the path the refusal carries
(never by reading its English message)."""

from __future__ import annotations

from tidings.console.fielderrors import FORM, field_errors, input_for
from tidings.errors import Code, ServiceError, refused

FIELDS = {"TemplateName": "name", "Title": "title", "Content": "content", "Uri": "uri"}


def test_the_field_of_the_path_gets_the_error() -> None:
    error = refused(Code.TEMPLATE_TITLE_INVALID, "Title", "is 201 characters long")
    assert error.path == ("Title",)
    assert field_errors(error, FIELDS) == {
        "title": "Title is 201 characters long (TEMPLATE_TITLE_INVALID, 3040)"
    }


def test_the_message_is_not_read() -> None:
    error = ServiceError(Code.INVALID_PARAM, "bad Content in Title", ("Uri",))
    assert list(field_errors(error, FIELDS)) == ["uri"]


def test_codes_that_concern_one_field_are_placed_by_code() -> None:
    error = ServiceError(Code.TEMPLATE_ALREADY_EXIST, "a template named 'x' already exists")
    assert list(field_errors(error, FIELDS)) == ["name"]


def test_a_path_naming_no_field_of_the_form_concerns_the_whole_form() -> None:
    error = ServiceError(Code.INVALID_PARAM, "the app already has 100 templates")
    assert list(field_errors(error, FIELDS)) == [FORM]
    assert input_for(("StrategyType",), FIELDS) == FORM


def test_the_longest_mapped_start_of_the_path_wins() -> None:
    names = {"StrategyContent": "when", "StrategyContent.time": "time", "TargetMsg": "csv"}
    assert input_for(("StrategyContent", "time"), names) == "time"
    assert input_for(("StrategyContent", "fixedTime"), names) == "when"
    assert input_for(("TargetMsg", 3, "MsgKey"), names) == "csv"
