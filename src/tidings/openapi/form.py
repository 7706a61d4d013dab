"""Decoding the RPC parameters: query and form body into one flat map, lists and objects back out.

The SDKs flatten structured values into dotted keys (``TargetMsg.1.Target``,
``TransparentMessagePayload.hms.x``), sort the keys as strings (so ``TargetMsg.10`` precedes
``TargetMsg.2``) and encode spaces as ``+`` or ``%20``. This module undoes that, strictly: text must
be UTF-8, a key may appear once per source, list indexes run from 1 without gaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus

from yarl import query_to_pairs

from tidings.errors import Code, ServiceError

MAX_OBJECT_DEPTH = 16


class FormError(ValueError):
    """The parameters cannot be decoded at all (bad encoding, a repeated key)."""


def decode_pairs(raw: bytes | str, source: str) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` text to (key, value) pairs, blanks kept.

    A form as the SDKs write one is decoded whole (``_decode_whole``); any other goes through
    yarl's ``query_to_pairs`` (its C unquoter, without building a URL and a MultiDict around
    the pairs, five times faster than ``urllib.parse.parse_qsl`` on a PushMultiple body). Both
    replace bad UTF-8 with U+FFFD instead of failing; the rare text that decodes to U+FFFD is
    therefore decoded again strictly, pair by pair, to tell a real U+FFFD from broken input.
    """
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormError(f"the {source} is not UTF-8 (bad byte at offset {exc.start})") from None
    else:
        text, raw = raw, raw.encode("utf-8", "surrogatepass")
    if not text:
        return []
    pairs = _decode_whole(text, raw)
    if pairs is None:
        pairs = query_to_pairs(text)
        if any("\ufffd" in k or "\ufffd" in v for k, v in pairs):
            pairs = [_strict_pair(part, source) for part in text.split("&") if part]
    return pairs


def _decode_whole(text: str, raw: bytes) -> list[tuple[str, str]] | None:
    """The pairs of a form whose separators alternate ``=`` and ``&`` (every pair has one
    ``=`` and none is blank) and that holds no NUL, raw or escaped: its separators turned into
    NUL, the whole text unquoted by one call and split at the NULs, in C, where pair by pair
    cost a partition, two unquoter calls and a tuple per pair in Python (the form's largest
    cost on a PushMultiple body). None for any other form, and for one that decodes to U+FFFD.
    """
    separators = raw.translate(None, _ALL_BUT_SEPARATORS)
    if separators != b"=&" * (len(separators) // 2) + b"=":
        return None
    if "\x00" in text or "%00" in text:
        return None
    # query_to_pairs unquotes the single pair "=<the text>": its value is the whole text.
    whole = query_to_pairs("=" + text.replace("&", "\x00").replace("=", "\x00"))[0][1]
    if "\ufffd" in whole:
        return None
    parts = whole.split("\x00")
    return list(zip(parts[0::2], parts[1::2], strict=True))


_ALL_BUT_SEPARATORS = bytes(b for b in range(256) if b not in b"&=")


def _strict_pair(part: str, source: str) -> tuple[str, str]:
    key, _, value = part.partition("=")
    try:
        return (
            unquote_plus(key, errors="strict"),
            unquote_plus(value, errors="strict"),
        )
    except UnicodeDecodeError:
        raise FormError(
            f"the {source} holds percent-escapes that are not UTF-8 (in {key[:40]!r})"
        ) from None


def unique_map(pairs: Sequence[tuple[str, str]], source: str) -> dict[str, str]:
    """Pairs to a dict, refusing a key given twice: the signature could not say which one counts.

    The dict is built in C; only when it came out shorter than the pairs are they walked, to name
    the first key given again."""
    out = dict(pairs)
    if len(out) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise FormError(f"parameter {key!r} appears more than once in the {source}")
            seen.add(key)
    return out


class Params:
    """The request's parameters after decoding, with the SDKs' structure rebuilt on demand.

    One pass over the keys groups every dotted key by its first segment and then by its second
    (``TargetMsg`` → ``"1"`` → ``{"Target": v, "MsgKey": v, ...}``), so counting a list's
    entries reads nothing and rebuilding a list or an object reads only its own keys, each once,
    not every parameter of a 400-key PushMultiple call; an entry of plain fields only (nearly
    all) is then taken as a whole.
    """

    __slots__ = ("_groups", "_values")

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values
        # head -> second segment -> rest after it (None when the key ends there) -> value
        groups: dict[str, dict[str, dict[str | None, str]]] = {}
        for key, value in values.items():
            parts = key.split(".", 2)
            if len(parts) == 1:
                continue
            keys = groups.setdefault(parts[0], {}).setdefault(parts[1], {})
            keys[parts[2] if len(parts) == 3 else None] = value
        self._groups = groups

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def items(self, prefix: str, fields: Iterable[str]) -> list[dict[str, Any]]:
        """The list flattened as ``Prefix.N.Field``: entries in index order, indexes 1..n.

        A field given as dotted sub-keys (``Prefix.N.Field.key``) becomes a nested dict.
        """
        allowed = frozenset(fields)
        entries: dict[int, dict[str, Any]] = {}
        for index_text, keys in self._groups.get(prefix, {}).items():
            if not _is_index(index_text):
                raise _not_a_list_key(prefix, index_text, next(iter(keys)))
            index = int(index_text)
            if keys.keys() <= allowed:  # plain fields, each allowed: the entry as it is
                entries[index] = dict(keys)
                continue
            entry: dict[str, Any] = {}
            nested: dict[str, dict[str, str]] = {}
            for tail, value in keys.items():
                if tail is None:
                    raise _not_a_list_key(prefix, index_text, None)
                field, dot, sub = tail.partition(".")
                if field not in allowed:
                    listed = ", ".join(sorted(allowed))
                    raise ServiceError(
                        Code.INVALID_PARAM,
                        f"{prefix}.{index_text}.{tail}: {prefix} entries have only the "
                        f"fields {listed}",
                    )
                if dot:
                    flat = nested.get(field)
                    if flat is None:
                        flat = nested[field] = {}
                    flat[sub] = value
                else:
                    entry[field] = value
            for field, flat in nested.items():
                name = f"{prefix}.{index}.{field}"
                if field in entry:
                    raise ServiceError(
                        Code.INVALID_PARAM, f"{name} is given both as text and as {name}.* sub-keys"
                    )
                entry[field] = _nest(name, flat)
            entries[index] = entry
        ordered = sorted(entries)
        for position, index in enumerate(ordered, start=1):
            if index != position:
                raise ServiceError(
                    Code.INVALID_PARAM,
                    f"{prefix}.{position} is missing: indexes must run from 1 without gaps "
                    f"(found {prefix}.{index})",
                )
        return [entries[i] for i in ordered]

    def count_items(self, prefix: str) -> int:
        """How many distinct indexes ``Prefix.N.*`` carries, without building the entries."""
        return len(self._groups.get(prefix, ()))

    def object(self, name: str) -> str | dict[str, Any] | None:
        """An ``Any``-typed field: its JSON text, or the nested dict its dotted sub-keys spell."""
        group = self._groups.get(name)
        plain = self._values.get(name)
        if not group:
            return plain
        if plain is not None:
            raise ServiceError(
                Code.INVALID_PARAM, f"{name} is given both as text and as {name}.* sub-keys"
            )
        flat = {
            second if tail is None else f"{second}.{tail}": value
            for second, keys in group.items()
            for tail, value in keys.items()
        }
        return _nest(name, flat)


def _not_a_list_key(prefix: str, index_text: str, tail: str | None) -> ServiceError:
    rest = index_text if tail is None else f"{index_text}.{tail}"
    return ServiceError(
        Code.INVALID_PARAM,
        f"{prefix}.{rest} is not a valid {prefix} key: expected {prefix}.N.Field with N from 1",
    )


def _is_index(text: str) -> bool:
    """A list index as the SDKs write it: 1 to 999999, no sign, no leading zero."""
    return 0 < len(text) <= 6 and text.isascii() and text.isdigit() and text[0] != "0"


def _nest(name: str, flat: Mapping[str, str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for dotted, value in flat.items():
        parts = dotted.split(".")
        if len(parts) > MAX_OBJECT_DEPTH or any(p == "" for p in parts):
            raise ServiceError(Code.INVALID_PARAM, f"{name}.{dotted} is not a valid sub-key")
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ServiceError(Code.INVALID_PARAM, f"{name}.{dotted} conflicts with a value")
            node = child
        if parts[-1] in node:
            raise ServiceError(Code.INVALID_PARAM, f"{name}.{dotted} conflicts with a sub-key")
        node[parts[-1]] = value
    return root
