"""Reading MPS field values: table tests of each reader, and properties over arbitrary text."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.hostile import hostile_text
from tidings.errors import Code, ServiceError
from tidings.fields import (
    MAX_MAP_DEPTH,
    MAX_MAP_TEXT,
    read_choice,
    read_flat_map,
    read_flat_maps,
    read_int,
    read_map,
    read_text,
)

CODE = Code.EXPIREDSECONDS_WRONG  # any code: the readers raise the caller's


def refused(reader, *args, code: Code = CODE, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        reader(*args, **kwargs)
    assert caught.value.code is code
    return caught.value


# --- read_int ---


@pytest.mark.parametrize(
    ("raw", "value"),
    [("0", 0), ("600", 600), (" 7 ", 7), ("-3", -3), ("007", 7), (None, 42), ("", 42)],
)
def test_read_int_accepts(raw: str | None, value: int) -> None:
    assert read_int(raw, "ExpiredSeconds", CODE, default=42) == value


@pytest.mark.parametrize(
    "raw",
    ["abc", "1.5", "1e3", "+5", "--5", "-", "5-", "0x10", "１２", "٣", "1 2", "9" * 21, "NaN"],
)
def test_read_int_refuses_what_is_not_a_whole_number(raw: str) -> None:
    error = refused(read_int, raw, "ExpiredSeconds", CODE)
    assert "ExpiredSeconds must be a whole number" in error.detail


def test_read_int_bounds_and_choices_name_the_field() -> None:
    assert "at least 1, got 0" in refused(read_int, "0", "F", CODE, minimum=1).detail
    assert "at most 9, got 10" in refused(read_int, "10", "F", CODE, maximum=9).detail
    error = refused(read_int, "5", "DeliveryType", CODE, allowed=(1, 2, 3, 7))
    assert error.detail == "DeliveryType must be one of 1, 2, 3, 7, got 5"
    assert read_int("7", "DeliveryType", CODE, allowed=(1, 2, 3, 7)) == 7


# --- read_choice and read_text ---


def test_read_choice() -> None:
    assert read_choice("HIGH", "Urgency", ("HIGH", "NORMAL")) == "HIGH"
    assert read_choice("", "Urgency", ("HIGH", "NORMAL"), default="NORMAL") == "NORMAL"
    error = refused(read_choice, "high", "Urgency", ("HIGH", "NORMAL"), code=Code.INVALID_PARAM)
    assert error.detail == "Urgency must be one of HIGH, NORMAL, got 'high'"


def test_read_text() -> None:
    assert read_text("line 1\nline 2\ttab", "Content", CODE, max_length=20) == "line 1\nline 2\ttab"
    assert read_text("", "Content", CODE, max_length=5) is None
    assert (
        "Content is required"
        in refused(read_text, None, "Content", CODE, max_length=5, required=True).detail
    )
    assert (
        "6 characters long; the limit is 5"
        in refused(read_text, "abcdef", "Content", CODE, max_length=5).detail
    )
    assert "control character" in refused(read_text, "a\x00b", "Content", CODE, max_length=5).detail


# --- read_map and read_flat_map ---


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "Zhang San", "money": "200"}',
        "{'name': 'Zhang San', 'money': '200'}",  # the old Python SDK given a dict
        '  {"name":"Zhang San","money":"200"}  ',
        {"name": "Zhang San", "money": "200"},  # rebuilt from dotted keys
    ],
)
def test_read_map_accepts_every_wire_shape(raw) -> None:
    assert read_map(raw, "TemplateKeyValue", CODE) == {"name": "Zhang San", "money": "200"}


@pytest.mark.parametrize("raw", [None, "", "  ", "null", " null "])
def test_read_map_treats_null_and_empty_as_absent(raw) -> None:
    assert read_map(raw, "ExtendedParams", CODE) is None


@pytest.mark.parametrize(
    "raw",
    [
        "[1, 2]",
        '"text"',
        "42",
        "{name: 1}",
        "{'a': 1",
        "{'a': {1, 2}}",  # a set
        "{'a': b'x'}",  # bytes
        "{'a': 1j}",  # a complex number
        "{'a': {(1, 2): 3}}",  # a tuple as a key
        "{1: 'a'}",
        "{'a': open('x')}",
        "__import__('os')",
    ],
)
def test_read_map_refuses_what_is_not_an_object(raw: str) -> None:
    error = refused(read_map, raw, "ExtendedParams", CODE)
    assert "ExtendedParams" in error.detail


def test_read_map_dict_literal_values_become_json_values() -> None:
    assert read_map("{'a': (1, 2), 'b': None, 'c': True}", "F", CODE) == {
        "a": [1, 2],
        "b": None,
        "c": True,
    }


def test_read_map_limits_depth_and_length() -> None:
    deep = '{"a":' * (MAX_MAP_DEPTH + 1) + "1" + "}" * (MAX_MAP_DEPTH + 1)
    assert "nested more than" in refused(read_map, deep, "F", CODE).detail
    just_deep_enough = '{"a":' * (MAX_MAP_DEPTH - 1) + "1" + "}" * (MAX_MAP_DEPTH - 1)
    assert read_map(just_deep_enough, "F", CODE) is not None
    long = json.dumps({"a": "x" * MAX_MAP_TEXT})
    assert "longer than" in refused(read_map, long, "F", CODE).detail


def test_read_flat_map_keeps_numbers_and_booleans_as_json_text() -> None:
    assert read_flat_map('{"oppo": 1, "hms": "1", "x": 1.5, "y": true}', "F", CODE) == {
        "oppo": "1",
        "hms": "1",
        "x": "1.5",
        "y": "true",
    }


@pytest.mark.parametrize("raw", ['{"a": {"b": 1}}', '{"a": [1]}', '{"a": null}'])
def test_read_flat_map_refuses_nested_values_naming_the_key(raw: str) -> None:
    assert "F.a must be a string or a number" in refused(read_flat_map, raw, "F", CODE).detail


@pytest.mark.parametrize(
    "raw",
    [
        '{"money": NaN}',
        '{"money": Infinity}',
        '{"money": -Infinity}',
        '{"money": 1e999999}',
        '{"a": {"b": [1, -1e400]}}',
        "{'money': 1e999}",
    ],
)
def test_maps_refuse_numbers_that_are_not_finite_naming_the_field(raw: str) -> None:
    for reader in (read_map, read_flat_map):
        detail = refused(reader, raw, "TemplateKeyValue", CODE).detail
        assert detail.startswith("TemplateKeyValue"), detail


def test_large_finite_numbers_are_kept() -> None:
    assert read_flat_map('{"a": 1e308, "b": 12345678901234567890}', "F", CODE) == {
        "a": "1e+308",
        "b": "12345678901234567890",
    }


# --- properties: arbitrary text raises nothing but ServiceError ---


@settings(max_examples=400, deadline=None)
@given(hostile_text)
def test_map_readers_raise_only_service_errors(raw: str) -> None:
    try:
        value = read_map(raw, "ExtendedParams", CODE)
    except ServiceError as exc:
        assert exc.code is CODE and "ExtendedParams" in exc.detail
    else:
        assert value is None or isinstance(value, dict)
        json.dumps(value, allow_nan=False)  # what is accepted can be stored as strict JSON
    try:
        flat = read_flat_map(raw, "ExtendedParams", CODE)
    except ServiceError as exc:
        assert exc.code is CODE
    else:
        assert flat is None or all(isinstance(v, str) for v in flat.values())


@settings(max_examples=300, deadline=None)
@given(hostile_text | st.integers().map(str))
def test_read_int_raises_only_service_errors(raw: str) -> None:
    try:
        value = read_int(raw, "ExpiredSeconds", CODE, minimum=1, maximum=10**6)
    except ServiceError as exc:
        assert exc.code is CODE and "ExpiredSeconds" in exc.detail
    else:
        assert value is None or 1 <= value <= 10**6


def test_read_flat_maps_reads_plain_objects_of_strings_at_once() -> None:
    raws = ['{"name": "N1", "money": "1"}', ' {"name": "中"} ', "{}"]
    assert read_flat_maps(raws) == [{"name": "N1", "money": "1"}, {"name": "中"}, {}]
    assert read_flat_maps([]) == []


def test_read_flat_maps_leaves_texts_that_are_not_one_object_each_to_read_flat_map() -> None:
    """Read together, as one array, these texts would make as many objects of strings as
    there are texts, but not one each."""
    assert read_flat_maps(['{"a":"x"', '"b":"y"}', '{"c":"1"},{"d":"2"}']) is None
    assert read_flat_maps(['{"a":"x},{"}', '{"c":"1"},{"d":"2"}']) is None


flat_map_raws = (
    st.none()
    | hostile_text
    | st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.text(max_size=3) | st.integers(), max_size=2).map(
        json.dumps
    )
    | st.sampled_from(["null", " ", '{"a": "b"} x', '{"a": "b"}{', '{"a": "\\u0000"}', "[]"])
    # texts that hold two objects, or half of one, when read together as one JSON array
    | st.sampled_from(['{"a":"x"', '"b":"y"}', '{"a":"1"},{"b":"2"}', '{"a":"1"},\n{"b":"2"}'])
    | st.sampled_from(['{"a":"x},{"}', '{"a":"1"}]', '{"a":["x"', '"y"]}', '{"a":{"k":"v"}'])
    | st.just(json.dumps({"a": "x" * MAX_MAP_TEXT}))
)


@settings(max_examples=400, deadline=None)
@given(st.lists(flat_map_raws, max_size=4))
def test_read_flat_maps_is_read_flat_map_of_each_or_leaves_them_to_it(raws: list) -> None:
    """None, or what ``read_flat_map`` reads of each, none of them refused."""
    together = read_flat_maps(raws)
    if together is not None:
        assert together == [read_flat_map(raw, "F", CODE) for raw in raws]
