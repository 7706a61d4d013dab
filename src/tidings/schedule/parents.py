"""Keeping a scheduled push's parent row in step with its occurrences.

The parent stays ``scheduled`` (and counts against the app's limit) while any occurrence waits,
with ``due_at`` at the next one; ``settle`` moves it on whenever occurrences fire, are skipped or
are cancelled.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection

from tidings.store import schedules as store
from tidings.tasks import CANCELLED, FINISHED, PENDING, SCHEDULED


def settle(
    conn: Connection, parent_ids: Collection[int], cancel: Collection[int] = ()
) -> dict[int, str]:
    """Bring ``scheduled`` parents up to date with their occurrences; their states before.

    A parent in ``cancel`` becomes ``cancelled``; any other points its ``due_at`` at its next
    waiting occurrence, or becomes ``finished`` when none waits. The parents are locked first
    and their occurrences read after, in statements of their own: under READ COMMITTED that read
    sees what any process that held the lock before has committed, so the last of several
    processes settling one parent sees every occurrence as it is.
    """
    before = store.lock_tasks(conn, {*parent_ids, *cancel})
    for parent_id, state in before.items():
        if state != SCHEDULED:
            continue
        if parent_id in cancel:
            store.update_task(conn, parent_id, {"state": CANCELLED})
            continue
        following = store.first_due_child(conn, parent_id, PENDING)
        values = {"due_at": following} if following is not None else {"state": FINISHED}
        store.update_task(conn, parent_id, values)
    return before
