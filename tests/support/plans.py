"""Push calls' schedule plans as the API reads them, for tests that build calls by hand."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from tidings.openapi.strategy import read_plan
from tidings.schedule.strategy import Plan


def wire_plan(strategy_type: str | None, content: str | None = None) -> Callable[[], Plan]:
    """The ``plan`` of a call whose StrategyType and StrategyContent arrived as given."""
    return lambda: read_plan(strategy_type, content)


NO_PLAN = wire_plan(None)


def wire_plans(kinds: st.SearchStrategy, contents: st.SearchStrategy) -> st.SearchStrategy:
    """Hypothesis: plans read from any StrategyType and StrategyContent drawn."""
    return st.builds(wire_plan, kinds, contents)
