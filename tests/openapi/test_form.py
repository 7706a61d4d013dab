"""Form decoding and the rebuilding of the SDKs' flattened lists and objects."""

from __future__ import annotations

import string
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.support.signer import flatten
from tidings.errors import Code, ServiceError
from tidings.openapi.form import FormError, Params, decode_pairs, decode_params

TARGET_FIELDS = ("Target", "MsgKey", "TemplateKeyValue", "ExtendedParams")

unique_pairs = st.dictionaries(st.text(), st.text(), max_size=8).map(lambda d: list(d.items()))


# --- decoding ---


@given(unique_pairs, st.sampled_from(["plus", "%20"]), st.booleans())
def test_urlencoded_pairs_round_trip(pairs: list, style: str, as_bytes: bool) -> None:
    text = urlencode(pairs) if style == "plus" else urlencode(pairs, quote_via=quote)
    raw = text.encode() if as_bytes else text
    assert decode_pairs(raw, "body") == pairs


@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_form_error(raw: bytes) -> None:
    try:
        pairs = decode_pairs(raw, "body")
    except FormError as exc:
        assert "body" in str(exc)
    else:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in pairs)


@given(unique_pairs.filter(bool), st.data())
def test_a_repeated_key_is_refused(pairs: list, data: st.DataObject) -> None:
    key, _ = data.draw(st.sampled_from(pairs))
    text = urlencode([*pairs, (key, data.draw(st.text()))])
    with pytest.raises(FormError, match="more than once in the query"):
        decode_params(text.encode(), "query")


@pytest.mark.parametrize(
    ("raw", "pairs"),
    [
        (b"a=1&b=&c", [("a", "1"), ("b", ""), ("c", "")]),
        (b"TaskName=a+b%2Bc%20d", [("TaskName", "a b+c d")]),
        (b"k=%EF%BF%BD", [("k", "\ufffd")]),  # a real U+FFFD, sent correctly encoded
        (b"", []),
    ],
)
def test_decoding_examples(raw: bytes, pairs: list) -> None:
    assert decode_pairs(raw, "body") == pairs


@pytest.mark.parametrize("raw", [b"k=\xff", b"k=%FF", b"k=%C3%28", b"%E4%B8=v", b"a=1&k=%ED%A0%80"])
def test_bytes_that_are_not_utf8_are_refused(raw: bytes) -> None:
    with pytest.raises(FormError, match="UTF-8"):
        decode_pairs(raw, "body")


@pytest.mark.parametrize(
    "raw",
    [b"A=1&B=x%00y&C=2", b"A=1&B=x\x00y&C=2", b"A=1&B%00=y", b"A=1&B=x%00y&C", b"B=%00"],
)
def test_a_nul_raw_or_escaped_is_refused_naming_the_parameter(raw: bytes) -> None:
    """Whether the form decodes whole or pair by pair (a pair without ``=``)."""
    with pytest.raises(FormError, match=r"parameter 'B.*' in the body holds a NUL character"):
        decode_params(raw, "body")


@given(unique_pairs)
def test_params_are_the_pairs_of_a_form(pairs: list) -> None:
    assume(not any("\x00" in k or "\x00" in v for k, v in pairs))
    assert decode_params(urlencode(pairs).encode(), "query") == dict(pairs)


# --- lists: Prefix.N.Field ---

entry = st.dictionaries(st.sampled_from(TARGET_FIELDS), st.text(max_size=5), min_size=1)


def flattened(entries: list[dict[str, str]]) -> list[tuple[str, str]]:
    return list(flatten({"TargetMsg": entries}).items())


@settings(max_examples=60)
@given(st.lists(entry, min_size=1, max_size=14), st.randoms(use_true_random=False))
def test_items_rebuilds_entries_from_keys_in_any_order(entries: list, random) -> None:
    pairs = flattened(entries)
    random.shuffle(pairs)
    assert Params(dict(pairs)).items("TargetMsg", TARGET_FIELDS) == entries
    in_sdk_order = dict(sorted(pairs))
    assert Params(in_sdk_order).items("TargetMsg", TARGET_FIELDS) == entries
    assert Params(in_sdk_order).count_items("TargetMsg") == len(entries)


odd_key = st.sampled_from(
    [
        "TargetMsg.0.Target",
        "TargetMsg.01.Target",
        "TargetMsg.1.Other",
        "TargetMsg.1.Target.x",
        "TargetMsg.2.TemplateKeyValue.name",
        "TargetMsg.1",
        "TargetMsg.",
        "TargetMsg.9.Target",
        "TargetMsg.x.Target",
        "x\nTargetMsg.1.Target",
        "TargetMsgs.1.Target",
    ]
)


@settings(max_examples=300)
@given(st.lists(entry, max_size=14), st.lists(odd_key, max_size=2), st.randoms())
def test_columns_are_the_entries_items_rebuilds_when_every_one_is_plain(
    entries: list, odd_keys: list, random
) -> None:
    pairs = flattened(entries) + [(key, "v") for key in odd_keys]
    random.shuffle(pairs)
    params = Params(dict(pairs))
    columns = params.columns("TargetMsg", TARGET_FIELDS)
    plain = entries and all("Target" in e for e in entries) and not odd_keys
    if plain:
        assert columns is not None
    if columns is not None:
        rows = (zip(TARGET_FIELDS, row, strict=True) for row in zip(*columns, strict=True))
        rebuilt = [{f: v for f, v in row if v is not None} for row in rows]
        assert rebuilt == params.items("TargetMsg", TARGET_FIELDS) == entries
        assert params.count_items("TargetMsg") == len(columns[0])


def test_string_sorted_keys_put_entry_10_before_entry_2() -> None:
    entries = [{"Target": f"user{i}"} for i in range(1, 12)]
    keys = [k for k, _ in sorted(flattened(entries))]
    assert keys.index("TargetMsg.10.Target") < keys.index("TargetMsg.2.Target")
    rebuilt = Params(dict(sorted(flattened(entries)))).items("TargetMsg", TARGET_FIELDS)
    assert [e["Target"] for e in rebuilt] == [f"user{i}" for i in range(1, 12)]


def test_items_nest_dotted_field_sub_keys() -> None:
    params = Params(
        {
            "TargetMsg.1.Target": "u",
            "TargetMsg.1.TemplateKeyValue.name": "Zhang San",
            "TargetMsg.1.TemplateKeyValue.money": "200",
        }
    )
    assert params.items("TargetMsg", TARGET_FIELDS) == [
        {"Target": "u", "TemplateKeyValue": {"name": "Zhang San", "money": "200"}}
    ]


def test_items_of_an_absent_list_is_empty() -> None:
    assert Params({"TaskName": "t"}).items("TargetMsg", TARGET_FIELDS) == []


index_text = st.integers(0, 999_999).map(str) | st.from_regex(r"0[0-9]{1,5}", fullmatch=True)


@given(st.sets(index_text, min_size=1, max_size=8))
def test_indexes_other_than_1_to_n_are_invalid_param(indexes: set[str]) -> None:
    assume(indexes != {str(i) for i in range(1, len(indexes) + 1)})
    params = Params({f"TargetMsg.{i}.Target": "u" for i in indexes})
    with pytest.raises(ServiceError) as caught:
        params.items("TargetMsg", TARGET_FIELDS)
    assert caught.value.code is Code.INVALID_PARAM


@pytest.mark.parametrize(
    "keys",
    [
        ["TargetMsg.1.Target", "TargetMsg.3.Target"],
        ["TargetMsg.2.Target"],
        ["TargetMsg.0.Target"],
        ["TargetMsg.01.Target"],
        ["TargetMsg.1.Target", "TargetMsg.02.Target"],
        ["TargetMsg.-1.Target"],
        ["TargetMsg.+1.Target"],
        ["TargetMsg.1000000.Target"],
        ["TargetMsg.999999.Target"],
        ["TargetMsg.x.Target"],
        ["TargetMsg.١.Target"],  # an Arabic-Indic digit one
        ["TargetMsg.1"],
        ["TargetMsg.1."],
        ["TargetMsg."],
        ["TargetMsg.1.Unknown"],
        ["TargetMsg.1.target"],
        ["TargetMsg.1.TemplateKeyValue", "TargetMsg.1.TemplateKeyValue.name"],
        ["TargetMsg.1.TemplateKeyValue.a", "TargetMsg.1.TemplateKeyValue.a.b"],
        ["TargetMsg.1.TemplateKeyValue..a"],
    ],
)
def test_malformed_list_keys_are_invalid_param(keys: list[str]) -> None:
    params = Params(dict.fromkeys(keys, "v"))
    with pytest.raises(ServiceError) as caught:
        params.items("TargetMsg", TARGET_FIELDS)
    assert caught.value.code is Code.INVALID_PARAM
    assert "TargetMsg." in caught.value.detail


# --- objects: Name.a.b ---

segment = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=6)
tree = st.recursive(
    st.text(max_size=5),
    lambda children: st.dictionaries(segment, children, min_size=1, max_size=3),
    max_leaves=12,
)


def depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(depth(v) for v in value.values())
    return 0


@given(st.dictionaries(segment, tree, min_size=1, max_size=4).filter(lambda d: depth(d) <= 16))
def test_object_rebuilds_nested_dicts_from_dotted_keys(payload: dict) -> None:
    params = Params({"TaskName": "t", **flatten({"TransparentMessagePayload": payload})})
    assert params.object("TransparentMessagePayload") == payload


def test_object_as_text() -> None:
    params = Params({"TransparentMessagePayload": '{"hms":{"a":1}}'})
    assert params.object("TransparentMessagePayload") == '{"hms":{"a":1}}'
    assert params.object("ActivityContentState") is None


@pytest.mark.parametrize(
    "keys",
    [
        ["P", "P.a"],
        ["P.a", "P.a.b"],
        ["P.a.b", "P.a"],
        ["P.a..b"],
        ["P."],
        [".".join(["P", *"abcdefghijklmnopq"])],  # 17 levels
    ],
)
def test_malformed_object_keys_are_invalid_param(keys: list[str]) -> None:
    with pytest.raises(ServiceError) as caught:
        Params(dict.fromkeys(keys, "v")).object("P")
    assert caught.value.code is Code.INVALID_PARAM


form_piece = st.sampled_from(
    [*"ab=&+%;#?/ 中\ufffd\x00", "%2", "%20", "%E4", "%B8%AD", "%FF", "%zz", "%00", "%3D", "%26"]
)


@settings(max_examples=300)
@given(st.lists(form_piece, max_size=12).map("".join))
def test_decoding_agrees_with_parse_qsl(text: str) -> None:
    """The fast decoder reads text exactly as the standard library's strict decoder does."""
    agrees_with_parse_qsl(text)


def agrees_with_parse_qsl(text: str) -> None:
    try:
        expected = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        with pytest.raises(FormError):
            decode_pairs(text, "body")
    else:
        assert decode_pairs(text, "body") == expected


@settings(max_examples=300)
@given(st.lists(st.tuples(*[st.lists(form_piece.filter(lambda p: p not in "&="))] * 2), min_size=1))
def test_a_form_of_whole_pairs_decodes_as_parse_qsl_reads_it(pairs: list) -> None:
    """Pairs of one ``=`` each, none blank (as the SDKs write them): decoded whole, in one
    pass, yet exactly as pair by pair."""
    text = "&".join(f"{''.join(key)}={''.join(value)}" for key, value in pairs)
    agrees_with_parse_qsl(text)
