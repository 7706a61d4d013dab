"""Decoding the RPC parameters: query and form body into one flat map, lists and objects back out.

The SDKs flatten structured values into dotted keys (``TargetMsg.1.Target``,
``TransparentMessagePayload.hms.x``), sort the keys as strings (so ``TargetMsg.10`` precedes
``TargetMsg.2``) and encode spaces as ``+`` or ``%20``. This module undoes that, strictly: text must
be UTF-8, a key may appear once per source, list indexes run from 1 without gaps.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus

from yarl import query_to_pairs

from tidings.errors import Code, ServiceError

MAX_OBJECT_DEPTH = 16


class FormError(ValueError):
    """The parameters cannot be decoded at all (bad encoding, a repeated key)."""


def decode_params(raw: bytes, source: str) -> dict[str, str]:
    """One source's parameters (the query or the body), refusing a key given twice and any
    NUL: no MPS field may hold one, and PostgreSQL would refuse it at the write, after every
    check had passed. A form decoded whole is known to hold none (``_decode_whole``), so
    only the others are searched for a raw or escaped NUL."""
    keys, values, nul_free = _decode(raw, source)
    params = unique_map(keys, values, source)
    if not nul_free and (b"\x00" in raw or b"%00" in raw):
        for key, value in params.items():
            if "\x00" in key or "\x00" in value:
                raise FormError(f"parameter {key[:60]!r} in the {source} holds a NUL character")
    return params


def decode_pairs(raw: bytes | str, source: str) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` text to (key, value) pairs, blanks kept."""
    keys, values, _ = _decode(raw, source)
    return list(zip(keys, values, strict=True))


def _decode(raw: bytes | str, source: str) -> tuple[Sequence[str], Sequence[str], bool]:
    """The keys and their values, in order, and whether they are known to hold no NUL.

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
        return [], [], True
    parts = _decode_whole(text, raw)
    if parts is not None:
        return parts[0::2], parts[1::2], True
    pairs = query_to_pairs(text)
    if any("\ufffd" in k or "\ufffd" in v for k, v in pairs):
        pairs = [_strict_pair(part, source) for part in text.split("&") if part]
    return [k for k, _ in pairs], [v for _, v in pairs], False


def _decode_whole(text: str, raw: bytes) -> list[str] | None:
    """The keys and values, alternating, of a form whose separators alternate ``=`` and ``&``
    (every pair has one ``=`` and none is blank) and that holds no NUL, raw or escaped: its
    separators turned into NUL, the whole text unquoted by one call and split at the NULs, in
    C, where pair by pair cost a partition, two unquoter calls and a tuple per pair in Python
    (the form's largest cost on a PushMultiple body). None for any other form, and for one
    that decodes to U+FFFD.
    """
    separators = raw.translate(None, _ALL_BUT_SEPARATORS)
    if separators != b"=&" * (len(separators) // 2) + b"=":
        return None
    # query_to_pairs unquotes the single pair "=<the text>": its value is the whole text.
    whole = query_to_pairs("=" + text.replace("&", "\x00").replace("=", "\x00"))[0][1]
    if "\ufffd" in whole:
        return None
    parts = whole.split("\x00")
    if len(parts) != len(separators) + 1:
        return None  # a NUL, raw or escaped, beside the separators: decoded pair by pair
    return parts


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


def unique_map(keys: Sequence[str], values: Sequence[str], source: str) -> dict[str, str]:
    """Keys to their values, refusing a key given twice: the signature could not say which one
    counts.

    The dict is built in C, from the keys and values as they are (no pair made of each); only
    when it came out shorter than the keys are they walked, to name the first key given again."""
    out = dict(zip(keys, values, strict=True))
    if len(out) < len(keys):
        seen: set[str] = set()
        for key in keys:
            if key in seen:
                raise FormError(f"parameter {key!r} appears more than once in the {source}")
            seen.add(key)
    return out


class Params:
    """The request's parameters after decoding, with the SDKs' structure rebuilt on demand.

    Nothing is grouped up front. A list whose entries are all plain (``columns``: nearly every
    PushMultiple call's TargetMsg) is read a field at a time, by looking up the names its
    entries must have (``TargetMsg.1.Target``, ...) in C, without splitting a key. Any other
    list or object is grouped when first asked for, by its first segment and then its second
    (``TargetMsg`` → ``"1"`` → ``{"Target": v, ...}``), reading only the keys under it; a name
    no key starts with (``ExtendedParams.``, nearly always) is told by two bisections of the
    keys sorted.
    """

    __slots__ = ("_groups", "_keys", "_values")

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values
        self._keys: list[str] | None = None  # every key, sorted, for bisections
        # head -> second segment -> rest after it (None when the key ends there) -> value
        self._groups: dict[str, dict[str, dict[str | None, str]]] = {}

    def _under(self, head: str) -> int:
        """How many keys start with ``head.``: those from ``head.`` up to ``head/`` (``/``
        follows ``.``) in the keys sorted, found by two bisections. The keys are sorted once,
        in nearly linear time as the SDKs send them sorted already, where a search of them all
        for each name asked for cost a PushMultiple call seven searches."""
        if self._keys is None:
            self._keys = sorted(self._values)
        return bisect_left(self._keys, f"{head}/") - bisect_left(self._keys, f"{head}.")

    def _group(self, head: str) -> dict[str, dict[str | None, str]]:
        group = self._groups.get(head)
        if group is None:
            group = self._groups[head] = {}
            if self._under(head):
                start = f"{head}."
                for key, value in self._values.items():
                    if key.startswith(start):
                        second, dot, rest = key[len(start) :].partition(".")
                        group.setdefault(second, {})[rest if dot else None] = value
        return group

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
        for index_text, keys in self._group(prefix).items():
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
        return len(self._group(prefix))

    def columns(self, prefix: str, fields: Sequence[str]) -> list[list[str | None]] | None:
        """The list flattened as ``Prefix.N.Field`` as one column per field (None where an
        entry lacks it), when it is plain: every ``Prefix.*`` key is ``Prefix.N.Field`` with N
        from 1 to n and a field of ``fields``, and every entry has the first field. Else None,
        for ``items`` to rebuild the list (and name what is wrong with it).

        Each column is the values of the names the entries must have, looked up in C; the
        keys are counted, not split: when the names found are as many as the keys under
        ``Prefix.``, they are all of them.
        """
        count = self._under(prefix)
        if not count or count > _MOST_COLUMN_KEYS:
            return None
        get = self._values.get
        first = list(map(get, _entry_names(prefix, fields[0], count)))
        n = count - first.count(None)
        if not n or None in first[:n]:
            return None
        columns = [first[:n]]
        columns += [list(map(get, _entry_names(prefix, field, n))) for field in fields[1:]]
        if n * len(fields) - sum(column.count(None) for column in columns) != count:
            return None
        return columns

    def object(self, name: str) -> str | dict[str, Any] | None:
        """An ``Any``-typed field: its JSON text, or the nested dict its dotted sub-keys spell."""
        group = self._group(name)
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


# A list of more keys than this is rebuilt by ``items``: the names of ``columns`` are kept.
_MOST_COLUMN_KEYS = 1_000
_ENTRY_NAMES: dict[tuple[str, str], list[str]] = {}


def _entry_names(prefix: str, field: str, count: int) -> list[str]:
    """``Prefix.1.Field`` to ``Prefix.count.Field``, made once per prefix and field."""
    names = _ENTRY_NAMES.get((prefix, field), [])
    if len(names) < count:
        made = range(1, max(count, min(2 * len(names), _MOST_COLUMN_KEYS)) + 1)
        names = _ENTRY_NAMES[prefix, field] = [f"{prefix}.{i}.{field}" for i in made]
    return names[:count]


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
