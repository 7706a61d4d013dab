"""Push calls' schedule plans as the API reads them, for tests that build calls by hand."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from tidings.openapi.strategy import read_timing
from tidings.schedule.strategy import Timing


def wire_timing(strategy_type: str | None, content: str | None = None) -> Callable[[], Timing]:
    """The ``timing`` of a call whose StrategyType and StrategyContent arrived as given."""
    return lambda: read_timing(strategy_type, content)


NO_TIMING = wire_timing(None)


def wire_timings(kinds: st.SearchStrategy, contents: st.SearchStrategy) -> st.SearchStrategy:
    """Hypothesis: plans read from any StrategyType and StrategyContent drawn."""
    return st.builds(wire_timing, kinds, contents)
