"""Queries for resolving broadcasts: claiming one, finding how far it got, the next page of the
devices it goes to, and writing that page's deliveries from the devices table.

A broadcast's progress is its own deliveries: they are made in device pk order, so the highest
device pk among them is where the next batch starts, and a batch and that progress commit
together.
"""

from __future__ import annotations

import functools
from collections import defaultdict, namedtuple
from collections.abc import Mapping
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Row,
    Select,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    insert,
    literal,
    or_,
    select,
)

from tidings.store.deliveries import CLAIM_COLUMNS, OUTBOUND
from tidings.store.plain import fetch_statement, run_statement
from tidings.store.tables import deliveries, devices, messages, tasks

# A claimed broadcast: its CLAIM_COLUMNS and audience by name, and the pk of its message not
# revoked (None: revoked before every device got it).
ClaimedBroadcast = namedtuple(
    "ClaimedBroadcast", [*(column.name for column in CLAIM_COLUMNS), "audience", "message_pk"]
)


def claim(conn: Connection, state: str, action: str, now_ms: int) -> ClaimedBroadcast | None:
    """The earliest due task of ``action`` in ``state``, with its audience, the facts its
    analytics counters name (store.analytics.TASK_FACTS) and its message's pk, locked; one
    another process holds is skipped.

    This and the page's other statements run through the driver (store/plain.py): a page runs
    them every 5,000 devices or so, and SQLAlchemy's work around each cost more than the
    statement."""
    found = fetch_statement(conn, _CLAIM, {"state": state, "action": action, "now": now_ms})
    return ClaimedBroadcast._make(found[0]) if found else None


def last_device(conn: Connection, task_id: int, message_pk: int) -> int:
    """The highest device pk the task's message was delivered to so far (0 for none)."""
    return _scalar(conn, _LAST_DEVICE, {"task": task_id, "message": message_pk}) or 0


def next_device(conn: Connection, reach: Reach, task_id: int, message_pk: int) -> int | None:
    """The lowest pk of the devices ``reach`` names past the highest one the task's message was
    delivered to so far: where the next page starts (None: no device is left)."""
    params = reach._params() | {"task": task_id, "message": message_pk}
    return _scalar(conn, _next_query(reach._shape()), params)


def _scalar(conn: Connection, statement: Executable, values: Mapping[str, Any]) -> Any:
    return fetch_statement(conn, statement, values)[0][0]


# Built once: a broadcast runs them for every page, and building them cost more than running them.
_MESSAGE = (
    select(messages.c.pk)
    .where(
        messages.c.task_id == func.coalesce(tasks.c.parent_id, tasks.c.id),
        messages.c.revoked_at.is_(None),
    )
    .order_by(messages.c.pk)
    .limit(1)
    .scalar_subquery()
)
_CLAIM = (
    select(*CLAIM_COLUMNS, tasks.c.audience, _MESSAGE)
    .where(
        tasks.c.state == bindparam("state"),
        tasks.c.action == bindparam("action"),
        tasks.c.due_at <= bindparam("now"),
    )
    .order_by(tasks.c.due_at, tasks.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_LAST_DEVICE = select(func.max(deliveries.c.device_pk)).where(
    deliveries.c.task_id == bindparam("task"), deliveries.c.message_pk == bindparam("message")
)


Window = tuple[int | None, int | None]
Pks = tuple[int, int]  # a range of device pks: after the first, up to the second


class Reach(NamedTuple):
    """Whom a broadcast goes to, and over which channel: the app's devices of ``platform``
    that are bound with ``bound_at`` in ``bound``, or unbound since a time in ``unbound`` (when
    they unbound, or registered if they never were bound); None leaves that side out. A device
    holding a vendor token goes over the channel ``routes`` gives its manufacturer, any other
    over ``default`` (delivery/routing.py's ``route_table``)."""

    app_pk: int
    platform: str
    bound: Window | None
    unbound: Window | None
    default: str
    routes: tuple[tuple[str, str], ...]  # (manufacturer, channel)

    def _shape(self) -> _Shape:
        return (_window_shape(self.bound), _window_shape(self.unbound), self.routes)

    def _params(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "r_app_pk": self.app_pk,
            "r_platform": self.platform,
            "r_default": self.default,
        }
        for side, window in (("bound", self.bound), ("unbound", self.unbound)):
            for end, at in zip(_ENDS, window or (None, None), strict=True):
                if at is not None:
                    found[f"r_{side}_{end}"] = at
        return found


def audience_page(conn: Connection, reach: Reach, after_pk: int, limit: int) -> list[Row]:
    """The next ``limit`` devices ``reach`` names after ``after_pk`` in pk order, told per
    channel (``channel``): how many (``devices``) and the highest pk (``last_pk``). No device
    is read: the deliveries are written from the devices table."""
    params = reach._params() | {"r_after": after_pk}
    return conn.execute(_page_query(reach._shape(), limit), params).all()


def write_next(
    conn: Connection, reach: Reach, first_pk: int, limit: int, values: Mapping[str, Any]
) -> int:
    """A delivery to each of the next ``limit`` devices ``reach`` names from ``first_pk`` on in
    pk order, for an audience that goes over one channel: the page and its deliveries in one
    INSERT ... SELECT, with no read of the page before. How many were written."""
    params = reach._params() | {f"v_{name}": value for name, value in values.items()}
    params["r_first"] = first_pk
    statement = _insert_next(reach._shape(), tuple(values), limit)
    return run_statement(conn, statement, params)


def write_page(
    conn: Connection, reach: Reach, pks: Pks, values: Mapping[str, Any], only: str | None
) -> int:
    """A delivery to each device ``reach`` names with a pk in ``pks``, over channel ``only``
    if given, written inside the database in one INSERT ... SELECT: ``app_pk`` and
    ``device_pk`` from the device, every other column from ``values``. How many were
    written."""
    params = reach._params() | {f"v_{name}": value for name, value in values.items()}
    params |= {"r_after": pks[0], "r_last": pks[1]}
    if only is not None:
        params["r_only"] = only
    statement = _insert(reach._shape(), tuple(values), only is not None)
    return run_statement(conn, statement, params)


def device_pks(conn: Connection, reach: Reach, pks: Pks, channel: str) -> list[int]:
    """The pks of the devices ``reach`` names with a pk in ``pks`` that go over ``channel``."""
    params = reach._params() | {"r_after": pks[0], "r_last": pks[1], "r_only": channel}
    return list(conn.execute(_pks_query(reach._shape()), params).scalars().all())


def outbound_of_page(
    conn: Connection, task_id: int, message_pk: int, pks: Pks, channels: list[str]
) -> list[Row]:
    """The OUTBOUND rows of the message's deliveries over ``channels`` to devices with a pk in
    ``pks``: a page just written, to hand to vendors."""
    after_pk, last_pk = pks
    query = OUTBOUND.where(
        deliveries.c.task_id == task_id,
        deliveries.c.message_pk == message_pk,
        deliveries.c.device_pk > after_pk,
        deliveries.c.device_pk <= last_pk,
        deliveries.c.channel.in_(channels),
    ).order_by(deliveries.c.id)
    return list(conn.execute(query))


# The page's statements are built once per shape of audience (which window ends are given, the
# routing table) and run with the values as parameters: building and keying them anew for
# every page cost a fifth of resolving it.
_ENDS = ("since", "until")
_WindowShape = tuple[bool, bool] | None
_Shape = tuple[_WindowShape, _WindowShape, tuple[tuple[str, str], ...]]


def _window_shape(window: Window | None) -> _WindowShape:
    return None if window is None else (window[0] is not None, window[1] is not None)


def _who(shape: _Shape) -> ColumnElement[bool]:
    bound, unbound, _ = shape
    of_platform = and_(
        devices.c.app_pk == bindparam("r_app_pk"), devices.c.platform == bindparam("r_platform")
    )
    if bound == unbound == (False, False):
        # every device, bound or not: the index of (app_pk, platform, pk) is all it takes, with
        # no look at each device's binding (a third of the time of writing its delivery)
        return of_platform
    sides: list[ColumnElement[bool]] = []
    if bound is not None:
        within = _within(devices.c.bound_at, "bound", bound)
        sides.append(and_(devices.c.user_id.is_not(None), *within))
    if unbound is not None:
        since = func.coalesce(devices.c.unbound_at, devices.c.created_at)
        sides.append(and_(devices.c.user_id.is_(None), *_within(since, "unbound", unbound)))
    return and_(of_platform, or_(false(), *sides))


def _within(column: ColumnElement, side: str, shape: tuple[bool, bool]) -> list[Any]:
    since, until = shape
    found = []
    if since:
        found.append(column >= bindparam(f"r_{side}_since"))
    if until:
        found.append(column <= bindparam(f"r_{side}_until"))
    return found


def _channel(shape: _Shape) -> ColumnElement[str]:
    """Each device's channel: its manufacturer's when it holds a vendor token, else the
    default."""
    default = bindparam("r_default", type_=String)
    routes = shape[2]
    if not routes:
        return default
    named: dict[str, list[str]] = defaultdict(list)
    for manufacturer, channel in routes:
        named[channel].append(manufacturer)
    holds_token = and_(devices.c.third_token.is_not(None), devices.c.third_token != "")
    return case(
        *(
            # each label a parameter of its own, held by the statement: an expanding IN list
            # is rendered at every execution, which the driver's text is not
            (and_(holds_token, devices.c.manufacturer.in_([literal(m) for m in labels])), channel)
            for channel, labels in sorted(named.items())
        ),
        else_=default,
    )


def _in_range(shape: _Shape, only: bool) -> list[ColumnElement[bool]]:
    found = [
        _who(shape),
        devices.c.pk > bindparam("r_after"),
        devices.c.pk <= bindparam("r_last"),
    ]
    if only:
        found.append(_channel(shape) == bindparam("r_only", type_=String))
    return found


@functools.lru_cache(maxsize=64)
def _page_query(shape: _Shape, limit: int) -> Select:
    page = (
        select(devices.c.pk, _channel(shape).label("channel"))
        .where(_who(shape), devices.c.pk > bindparam("r_after"))
        .order_by(devices.c.pk)
        .limit(limit)
        .subquery()
    )
    return select(
        page.c.channel,
        func.count().label("devices"),
        func.max(page.c.pk).label("last_pk"),
    ).group_by(page.c.channel)


@functools.lru_cache(maxsize=64)
def _next_query(shape: _Shape) -> Select:
    done = func.coalesce(_LAST_DEVICE.scalar_subquery(), 0)
    return select(func.min(devices.c.pk)).where(_who(shape), devices.c.pk > done)


@functools.lru_cache(maxsize=64)
def _insert(shape: _Shape, names: tuple[str, ...], only: bool) -> Executable:
    return _insert_from(_made(names).where(*_in_range(shape, only)), names)


@functools.lru_cache(maxsize=64)
def _insert_next(shape: _Shape, names: tuple[str, ...], limit: int) -> Executable:
    query = _made(names).where(_who(shape), devices.c.pk >= bindparam("r_first"))
    return _insert_from(query.order_by(devices.c.pk).limit(limit), names)


def _made(names: tuple[str, ...]) -> Select:
    """A delivery row per device: ``app_pk`` and ``device_pk`` from it, the columns ``names``
    from parameters."""
    return select(
        devices.c.app_pk,
        devices.c.pk,
        *(bindparam(f"v_{name}", type_=deliveries.c[name].type) for name in names),
    )


def _insert_from(query: Select, names: tuple[str, ...]) -> Executable:
    statement = insert(deliveries).from_select(["app_pk", "device_pk", *names], query)
    # an INSERT's rowcount is kept only when asked for (SQLAlchemy leaves it -1 on psycopg)
    return statement.execution_options(preserve_rowcount=True)


@functools.lru_cache(maxsize=64)
def _pks_query(shape: _Shape) -> Select:
    return select(devices.c.pk).where(*_in_range(shape, True))
