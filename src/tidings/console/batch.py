"""A batch push as a CSV: a header naming ``target``, ``msgKey`` and one column per placeholder,
then one row per target. Reading it is pure: the file becomes PushMultiple's TargetMsg entries
(target, msgKey and placeholder values, as values: nothing is written as JSON to be read again),
with every problem of the file as a whole or of each row named for the operator to fix.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

TARGET = "target"
MSG_KEY = "msgKey"
MAX_ROWS = 10_000

# A TargetMsg entry: "Target" and "MsgKey" to text, "TemplateKeyValue" to the placeholder values.
Entry = dict[str, Any]


@dataclass
class Row:
    number: int  # 1-based among the data rows: TargetMsg.N when the batch is one call
    cells: list[str]
    entry: Entry | None  # the TargetMsg entry, when the row could be read
    error: str | None = None
    title: str = ""
    content: str = ""


@dataclass
class Batch:
    columns: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    problem: str | None = None  # what is wrong with the file as a whole

    @property
    def ok(self) -> bool:
        return self.problem is None and bool(self.rows) and all(r.error is None for r in self.rows)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.rows if r.error is not None)


def read_batch(text: str, placeholders: tuple[str, ...], template_name: str) -> Batch:
    """The batch a CSV holds for a template with these placeholders."""
    text = text.removeprefix("\ufeff")
    try:
        records = [
            r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)
        ]
    except csv.Error as exc:
        return Batch(problem=f"the CSV cannot be read: {exc}")
    if not records:
        return Batch(problem="the CSV is empty: give a header row and one row per target")
    header = [c.strip() for c in records[0]]
    batch = Batch(columns=header)
    batch.problem = _header_problem(header, placeholders, template_name)
    if batch.problem:
        return batch
    if len(records) == 1:
        batch.problem = "the CSV has a header but no rows"
        return batch
    if len(records) - 1 > MAX_ROWS:
        batch.problem = f"the CSV has {len(records) - 1} rows; at most {MAX_ROWS} are taken"
        return batch
    where = {name: i for i, name in enumerate(header)}
    target_at, key_at = _fixed_columns(header)
    for number, cells in enumerate(records[1:], start=1):
        if len(cells) != len(header):
            error = f"has {len(cells)} cells; the header has {len(header)}"
            batch.rows.append(Row(number, cells, None, error))
            continue
        values = {name: cells[where[name]] for name in placeholders}
        entry = {
            "Target": cells[target_at].strip(),
            "MsgKey": cells[key_at].strip(),
            "TemplateKeyValue": values,
        }
        batch.rows.append(Row(number, cells, entry))
    return batch


def _fixed_columns(header: list[str]) -> tuple[int, int]:
    """Where ``target`` and ``msgKey`` are; their names are matched ignoring case."""
    lowered = [name.lower() for name in header]
    return lowered.index(TARGET), lowered.index(MSG_KEY.lower())


def _header_problem(header: list[str], placeholders: tuple[str, ...], template: str) -> str | None:
    """Placeholder columns are named exactly as the placeholders (``#Name#`` is not ``#name#``)."""
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        return f"the header names column {', '.join(repeated)} more than once"
    lowered = [name.lower() for name in header]
    missing = [name for name in (TARGET, MSG_KEY) if name.lower() not in lowered]
    missing += [f"#{name}#" for name in placeholders if name not in header]
    expected = ", ".join([TARGET, MSG_KEY, *placeholders])
    if missing:
        return f"the header has no column for {', '.join(missing)} (expected: {expected})"
    fixed = {TARGET, MSG_KEY.lower()}
    extra = [name for name in header if name not in placeholders and name.lower() not in fixed]
    if extra:
        return (
            f"column {', '.join(extra)} is not a placeholder of template {template!r} "
            f"(expected: {expected})"
        )
    return None


def chunks(rows: list[Row], size: int) -> list[list[Row]]:
    """The rows split into calls of at most ``size`` targets each."""
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def task_name(name: str, part: int, parts: int) -> str:
    """A batch sent as several calls names each task after its part."""
    return name if parts == 1 else f"{name} ({part}/{parts})"


class LinesProblem(ValueError):
    """A line of a targets or values box that cannot be read, named by its number."""


def target_keys(text: str) -> dict[str, str]:
    """PushSimple's and PushTemplate's TargetMsgkey from lines of ``target,msgKey``."""
    pairs: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, cells in _lines(text):
        if len(cells) != 2 or not all(c.strip() for c in cells):
            raise LinesProblem(f"line {number}: write target,msgKey")
        target = cells[0].strip()
        if target in lines:
            raise LinesProblem(f"line {number}: target {target!r} is on line {lines[target]} too")
        lines[target] = number
        pairs[target] = cells[1].strip()
    return pairs


def placeholder_values(text: str) -> dict[str, str]:
    """TemplateKeyValue from lines of ``name=value`` (the value taken as it is, spaces kept)."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            raise LinesProblem(f"line {number}: write name=value")
        values[name.strip()] = value
    return values


def _lines(text: str) -> list[tuple[int, list[str]]]:
    try:
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    except csv.Error as exc:
        raise LinesProblem(f"the targets cannot be read: {exc}") from None
    return [(n, cells) for n, cells in enumerate(rows, start=1) if any(c.strip() for c in cells)]
