"""The options every push shares, field by field, with the codes they answer."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.hostile import hostile_text
from tidings.contract import PushOptions
from tidings.errors import Code, ServiceError
from tidings.openapi.options import (
    MAX_EXTENDED_KEYS,
    RESERVED_EXTENSION_KEYS,
    OptionFields,
    read_options,
)


def refused(code: Code, **fields) -> str:
    with pytest.raises(ServiceError) as caught:
        read_options(OptionFields(**fields))
    assert caught.value.code is code, caught.value.message
    return caught.value.detail


def keys(count: int, prefix: str = "k") -> str:
    return json.dumps({f"{prefix}{i}": str(i) for i in range(count)})


def test_defaults() -> None:
    options = read_options(OptionFields())
    assert options == PushOptions()
    assert (options.notify_type, options.silent, options.push_action) == ("notify", 0, 0)
    assert options.to_json() == "{}"


# --- ExtendedParams ---


def test_extended_params_up_to_twenty_keys() -> None:
    options = read_options(OptionFields(extended_params=keys(MAX_EXTENDED_KEYS)))
    assert options.extended_params == {f"k{i}": str(i) for i in range(MAX_EXTENDED_KEYS)}


def test_extended_params_with_more_than_twenty_keys() -> None:
    detail = refused(Code.EXTEND_PARAM_TO_MUCH, extended_params=keys(MAX_EXTENDED_KEYS + 1))
    assert "ExtendedParams has 21 keys; at most 20" in detail


@pytest.mark.parametrize("key", sorted(RESERVED_EXTENSION_KEYS))
def test_extended_params_reserved_key(key: str) -> None:
    detail = refused(Code.INVALID_EXTEND_PARAM, extended_params=json.dumps({key: "x", "a": "b"}))
    assert f"reserved key {key}" in detail


@pytest.mark.parametrize("raw", ["{", "not json", "[1, 2]", '{"a": {"b": "c"}}', '{"a": [1]}'])
def test_extended_params_not_a_flat_json_object(raw: str) -> None:
    assert "ExtendedParams" in refused(Code.INVALID_EXTEND_PARAM, extended_params=raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"badge": 1, "sound": "ding"}', {"badge": "1", "sound": "ding"}),
        ("{'badge': 1, 'sound': 'ding'}", {"badge": "1", "sound": "ding"}),
        ("null", None),
        ("", None),
        ("{}", None),
    ],
)
def test_extended_params_shapes(raw: str, expected: dict | None) -> None:
    assert read_options(OptionFields(extended_params=raw)).extended_params == expected


# --- ThirdChannelCategory and NotifyLevel ---


@pytest.mark.parametrize("field", ["third_channel_category", "notify_level"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"oppo":1}', {"oppo": "1"}),  # the new SDK keeps JSON numbers as numbers
        ('{"hms":"1","vivo":"0"}', {"hms": "1", "vivo": "0"}),
        ("{'hms': '9', 'oppo': 2}", {"hms": "9", "oppo": "2"}),  # the old SDK given a dict
        ({"xiaomi": "1"}, {"xiaomi": "1"}),  # rebuilt from dotted keys
        ("null", None),
        ("", None),
    ],
)
def test_vendor_maps(field: str, raw, expected: dict | None) -> None:
    assert getattr(read_options(OptionFields(**{field: raw})), field) == expected


@pytest.mark.parametrize(
    ("field", "name"),
    [("third_channel_category", "ThirdChannelCategory"), ("notify_level", "NotifyLevel")],
)
def test_vendor_maps_refuse_unknown_vendors_and_bad_json(field: str, name: str) -> None:
    detail = refused(Code.INVALID_PARAM, **{field: '{"hms": "1", "nokia": "1"}'})
    assert f"{name} has unknown vendor nokia" in detail
    assert name in refused(Code.INVALID_PARAM, **{field: "{hms: 1}"})
    assert f"{name}.hms must be a string or a number" in refused(
        Code.INVALID_PARAM, **{field: '{"hms": {"level": 1}}'}
    )


# --- TransparentMessagePayload ---


@pytest.mark.parametrize(
    "raw",
    [
        '{"hms": {"data": "x"}, "fcm": {"k": "v"}}',
        {"hms": {"data": "x"}, "fcm": {"k": "v"}},  # TransparentMessagePayload.hms.data=x ...
    ],
)
def test_transparent_payload_as_json_or_dotted_keys(raw) -> None:
    options = read_options(OptionFields(transparent_payload=raw))
    assert options.transparent_payload == {"hms": {"data": "x"}, "fcm": {"k": "v"}}


def test_transparent_payload_unknown_channel() -> None:
    detail = refused(Code.INVALID_PARAM, transparent_payload='{"apns": {}}')
    assert "TransparentMessagePayload has unknown channel apns" in detail


# --- choices ---


@pytest.mark.parametrize(
    ("field", "name", "accepted", "refused_values"),
    [
        ("notify_type", "NotifyType", ["notify", "transparent"], ["NOTIFY", "silent"]),
        ("silent", "Silent", ["0", "1"], ["2", "-1", "true", "True"]),
        ("push_action", "PushAction", ["0", "1"], ["2", "x"]),
        ("classification", "Classification", ["0", "1"], ["2", "news"]),
        ("transparent_urgency", "TransparentMessageUrgency", ["HIGH", "NORMAL"], ["high", "LOW"]),
        ("activity_event", "ActivityEvent", ["update", "end"], ["start", "END", "begin"]),
    ],
)
def test_choices(field: str, name: str, accepted: list[str], refused_values: list[str]) -> None:
    for value in accepted:
        assert str(getattr(read_options(OptionFields(**{field: value})), field)) == value
    for value in refused_values:
        assert name in refused(Code.INVALID_PARAM, **{field: value})


def test_text_and_live_activity_fields() -> None:
    options = read_options(
        OptionFields(
            channel_id="orders",
            mi_channel_id="mi-1",
            activity_event="update",
            activity_content_state='{"eta": 5, "stage": "on the way"}',
            dismissal_date="1800000000",
            vendor_template='{"hms": {"templateId": "t1"}}',
        )
    )
    assert (options.channel_id, options.mi_channel_id) == ("orders", "mi-1")
    assert options.activity_content_state == {"eta": 5, "stage": "on the way"}
    assert options.dismissal_date == 1800000000
    assert options.vendor_template == {"hms": {"templateId": "t1"}}
    assert PushOptions.from_json(options.to_json()) == options
    assert "ChannelId" in refused(Code.INVALID_PARAM, channel_id="c" * 201)
    assert "DismissalDate" in refused(Code.INVALID_PARAM, dismissal_date="-1")


def test_live_activity_keys_of_extended_params() -> None:
    """stale-date, attributes-type and attributes become options, not custom data; a start
    needs the last two."""
    options = read_options(
        OptionFields(
            activity_event="start",
            extended_params=json.dumps(
                {
                    "stale-date": 1_900_000_000,
                    "attributes-type": "MatchAttributes",
                    "attributes": '{"home": "Lions"}',
                    "orderId": "7",
                }
            ),
        )
    )
    assert options.activity_event == "start"
    assert options.stale_date == 1_900_000_000
    assert options.activity_attributes_type == "MatchAttributes"
    assert options.activity_attributes == {"home": "Lions"}
    assert options.extended_params == {"orderId": "7"}
    assert PushOptions.from_json(options.to_json()) == options
    only_stale = read_options(OptionFields(extended_params='{"stale-date": "1900000000"}'))
    assert only_stale.extended_params is None and only_stale.stale_date == 1_900_000_000
    without = refused(Code.INVALID_PARAM, activity_event="start", extended_params='{"a": "1"}')
    assert without.startswith("ActivityEvent start needs ExtendedParams attributes-type and")
    assert "ExtendedParams.attributes must be" in refused(
        Code.INVALID_EXTEND_PARAM, extended_params='{"attributes": "[1]"}'
    )
    assert "ExtendedParams.stale-date" in refused(
        Code.INVALID_EXTEND_PARAM, extended_params='{"stale-date": "soon"}'
    )


# --- any text: a ServiceError or options that can be stored and read back ---

maybe_hostile = st.none() | hostile_text
field_values = st.fixed_dictionaries(
    {},
    optional={
        name: maybe_hostile
        for name in (
            "notify_type",
            "silent",
            "push_action",
            "classification",
            "extended_params",
            "third_channel_category",
            "notify_level",
            "channel_id",
            "mi_channel_id",
            "transparent_payload",
            "transparent_urgency",
            "vendor_template",
            "activity_event",
            "activity_content_state",
            "dismissal_date",
        )
    },
)


@settings(max_examples=300, deadline=None)
@given(field_values)
def test_arbitrary_text_raises_only_service_errors(fields: dict) -> None:
    try:
        options = read_options(OptionFields(**fields))
    except ServiceError as exc:
        assert exc.code in (
            Code.INVALID_PARAM,
            Code.INVALID_EXTEND_PARAM,
            Code.EXTEND_PARAM_TO_MUCH,
        )
    else:
        assert PushOptions.from_json(options.to_json()).to_json() == options.to_json()
