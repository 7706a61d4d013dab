"""The console's fixtures serve here too: a database per backend, a clock the test moves, and
the services opened on both."""

from tests.console.conftest import clock, database_url, services

__all__ = ["clock", "database_url", "services"]
