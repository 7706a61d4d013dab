"""Connections to the database lost under work: seen, replaced, and the work run again where
that is safe; ``StoreUnavailable`` where it is not (store/database.py's transactions and group
commit use these; openapi/endpoint.py answers it 503).

A connection is lost when PostgreSQL restarts, its backend is terminated, or the network is
cut or goes silent. SQLAlchemy then invalidates the connection (so does store/plain.py for the
statements it runs through the driver), and the pool hands out a new one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

T = TypeVar("T")
log = logging.getLogger("tidings.store")

# How long a PostgreSQL connection may wait on a link that went silent (a partition, a host
# gone without closing its sockets): libpq's defaults wait as long as the kernel's TCP does
# (~15 minutes of retransmissions; forever for an answer awaited on an idle link), and a write
# lane waits with it, then every lane in turn. Bounded, the connection fails as lost
# (again_if_lost): a statement's data unacknowledged for 30 s, an idle link unanswered to 3
# keepalives 10 s apart after 30 s, a connect after 10 s. A long query is not cut: the
# server's TCP acknowledges it at once. A URL that sets one of these keeps its own.
PG_LINK_BOUNDS = {
    "connect_timeout": 10,
    "tcp_user_timeout": 30_000,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def link_bounds(url: str) -> dict[str, Any]:
    """The bounds of ``PG_LINK_BOUNDS`` that ``url`` does not set itself."""
    given = make_url(url).query
    return {name: value for name, value in PG_LINK_BOUNDS.items() if name not in given}


class StoreUnavailable(Exception):
    """The database could not be reached, or the connection to it was lost, and the work was
    not run again on a new connection (``again_if_lost``): it may be tried again later."""


COMMIT_LOST = (
    "the connection to the database was lost while it committed: the writes may or may not "
    "have been committed"
)


class Lost(Exception):
    """No connection could be had, or the one in use was lost before its transaction
    committed: the database rolled that transaction back, and nothing of it happened."""


def is_lost(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLAlchemy's for a lost connection, which it invalidated (so does
    store/plain.py for the statements it runs through the driver)."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@contextlib.contextmanager
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection from ``engine``'s pool, as ``Lost`` when none could be had or when the
    work in it lost it."""
    try:
        conn = engine.connect()
    except DBAPIError as exc:  # the pool's pre-ping found the old one dead and none came
        raise Lost from exc
    with conn:
        try:
            yield conn
        except DBAPIError as exc:
            if is_lost(exc):
                raise Lost from exc
            raise


def again_if_lost(attempt: Callable[..., T], *args: Any) -> T:
    """``attempt(*args)``, run once more on a new connection if its connection was lost
    before it committed (``Lost``); ``StoreUnavailable`` if that is lost too.

    Nothing of a transaction the database did not commit happened, and the writes of a batch
    already run again apart when one of them fails (``_apart``), so running them again is
    safe. A lost connection is most often alone (a backend terminated, a pooled connection an
    idle timeout cut) or all of them at once (a restart, after which the pool's pre-ping
    replaces every dead one at its checkout): one more attempt recovers both without an
    error for the client; a database still out of reach gets a 503 rather than keeping the
    writer waiting."""
    try:
        return attempt(*args)
    except Lost as exc:
        log.warning("the connection to the database was lost (%s); running again", exc.__cause__)
    try:
        return attempt(*args)
    except Lost as exc:
        raise StoreUnavailable(f"the database is out of reach: {exc.__cause__}") from exc.__cause__


def fate(conn: Connection, xid: str | None) -> str | None:
    """PostgreSQL's word on transaction ``xid`` ('committed', 'aborted', 'in progress'), asked
    on ``conn``, which takes a new connection from the pool after losing its own; None if it
    cannot be had."""
    if xid is None:
        return None
    try:
        with conn.begin():
            return conn.exec_driver_sql("SELECT pg_xact_status(%s)", (xid,)).scalar()
    except DBAPIError:
        return None
