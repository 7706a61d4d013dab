"""The console's fixtures serve here too: a database per backend and a clock the test moves."""

from tests.console.conftest import clock, database_url

__all__ = ["clock", "database_url"]
