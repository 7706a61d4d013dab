"""Reading a batch CSV: the header, each row, and the calls a large batch is sent as."""

from __future__ import annotations

import re

import pytest

from tidings.console.batch import (
    MAX_ROWS,
    LinesProblem,
    chunks,
    placeholder_values,
    read_batch,
    target_keys,
    task_name,
)

NAMES = ("name", "money")


def test_rows_become_target_msg_entries() -> None:
    text = '\ufefftarget,msgKey,name,money\r\nu1, k1 ,Zhang San,200\n\n u2 ,k2,"Li, Si",#money#\n'
    batch = read_batch(text, NAMES, "T")
    assert batch.ok and batch.problem is None
    assert batch.columns == ["target", "msgKey", "name", "money"]
    assert [r.number for r in batch.rows] == [1, 2]
    first, second = (r.entry for r in batch.rows)
    assert first == {
        "Target": "u1",
        "MsgKey": "k1",
        "TemplateKeyValue": {"name": "Zhang San", "money": "200"},
    }
    assert second["TemplateKeyValue"] == {"name": "Li, Si", "money": "#money#"}
    assert second["Target"] == "u2"


def test_columns_may_come_in_any_order_and_target_and_msgkey_in_any_case() -> None:
    batch = read_batch("money,MSGKEY,Target,name\n5,k,u,N\n", NAMES, "T")
    assert batch.ok
    entry = batch.rows[0].entry
    assert (entry["Target"], entry["MsgKey"]) == ("u", "k")
    assert entry["TemplateKeyValue"] == {"name": "N", "money": "5"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the CSV is empty"),
        ("\n \n", "the CSV is empty"),
        ("target,msgKey,name,money\n", "has a header but no rows"),
        ("target,name,money\nu,N,1\n", "no column for msgKey"),
        (
            "target,msgKey,name\nu,k,N\n",
            "no column for #money# (expected: target, msgKey, name, money)",
        ),
        ("target,msgKey,Name,money\nu,k,N,1\n", "no column for #name#"),
        (
            "target,msgKey,name,money,extra\nu,k,N,1,x\n",
            "column extra is not a placeholder of template 'T'",
        ),
        ("target,msgKey,name,name,money\nu,k,N,N,1\n", "names column name more than once"),
    ],
)
def test_problems_of_the_file_as_a_whole(text: str, problem: str) -> None:
    batch = read_batch(text, NAMES, "T")
    assert problem in batch.problem
    assert not batch.ok


def test_a_row_with_the_wrong_number_of_cells_is_named() -> None:
    batch = read_batch("target,msgKey,name,money\nu1,k1,A,1\nu2,k2,B\nu3,k3,C,3,4\n", NAMES, "T")
    assert [r.error for r in batch.rows] == [
        None,
        "has 3 cells; the header has 4",
        "has 5 cells; the header has 4",
    ]
    assert batch.errors == 2 and not batch.ok
    assert batch.rows[1].entry is None


def test_too_many_rows_are_refused_before_reading_them() -> None:
    text = "target,msgKey,name,money\n" + "u,k,n,1\n" * (MAX_ROWS + 1)
    assert "at most 10000 are taken" in read_batch(text, NAMES, "T").problem


def test_a_template_without_placeholders_needs_only_target_and_msgkey() -> None:
    batch = read_batch("target,msgKey\nu,k\n", (), "Plain")
    assert batch.ok and batch.rows[0].entry["TemplateKeyValue"] == {}


def test_large_batches_are_split_into_named_parts() -> None:
    rows = read_batch("target,msgKey\n" + "".join(f"u,k{n}\n" for n in range(250)), (), "T").rows
    assert [len(part) for part in chunks(rows, 100)] == [100, 100, 50]
    assert chunks(rows, 100)[2][0].number == 201
    assert task_name("News", 1, 1) == "News"
    assert task_name("News", 2, 3) == "News (2/3)"


def test_target_lines_become_target_msgkey() -> None:
    assert target_keys('u1, k1\n\n"u,2",k2\n') == {"u1": "k1", "u,2": "k2"}
    for text, problem in (
        ("u1\n", "line 1: write target,msgKey"),
        ("u1,k1\nu2,\n", "line 2: write target,msgKey"),
        ("u1,k1,x\n", "line 1: write target,msgKey"),
        ("u1,k1\nu1,k2\n", "line 2: target 'u1' is on line 1 too"),
    ):
        with pytest.raises(LinesProblem, match=re.escape(problem)):
            target_keys(text)


def test_value_lines_become_template_key_value() -> None:
    values = placeholder_values("name=Zhang San\nmoney = 200\n\nformula=a=b\n")
    assert values == {"name": "Zhang San", "money": " 200", "formula": "a=b"}
    with pytest.raises(LinesProblem, match="line 2: write name=value"):
        placeholder_values("name=x\nmoney\n")
    with pytest.raises(LinesProblem, match="line 1: write name=value"):
        placeholder_values("=x\n")
