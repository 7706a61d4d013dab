"""Hypothesis strategies for what a hostile or careless client may put in a text field.

Beside arbitrary text: JSON and Python literals of every shape (the old Python SDK sends dicts as
``str(dict)``), nesting thousands of levels deep, numbers of thousands of digits, NaN and infinity.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
python_values = st.recursive(
    json_scalars | st.binary(max_size=3) | st.complex_numbers() | st.sets(st.integers()),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=3)
    ),
    max_leaves=8,
)
nesting = st.integers(min_value=1, max_value=5000)
hostile_text = st.one_of(
    st.text(),
    st.text(alphabet="{}[]\"':,0123456789.eE-+ aNInfty\\"),
    python_values.map(repr),
    st.dictionaries(st.text(max_size=4), python_values, max_size=4).map(repr),
    st.dictionaries(st.text(max_size=4), json_scalars, max_size=4).map(json.dumps),
    nesting.map(lambda n: '{"a":' * n + "1" + "}" * n),
    nesting.map(lambda n: "{'a':" * n + "1" + "}" * n),
    nesting.map(lambda n: "[" * n),
    nesting.map(lambda n: '{"a": ' + "9" * n + "}"),
    st.sampled_from(["NaN", '{"a": NaN}', '{"a": -Infinity}', '{"a": 1e999}', "{'a': 1e999}"]),
)
