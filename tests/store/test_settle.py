"""Settling deliveries by the batch (store.deliveries.settle): ids given in lists of any size
and repeated, on both databases, each delivery changed and counted once under its stat_pk; and
on SQLite the lists come to few statement texts, so that a batch of acks of a size not seen
before runs statements SQLite has prepared already."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.delivery.test_outcomes import fill
from tests.support.servers import served_database
from tidings.contract import ACKABLE, Status
from tidings.store import deliveries as store
from tidings.store.plain import LADDER, one_of, one_of_values
from tidings.store.tables import deliveries


def test_lists_of_any_size_come_to_one_statement_text_a_ladder_size() -> None:
    texts = {one_of("?", count) for count in range(1, 501)}
    assert len(texts) == len(LADDER)
    for count in (1, 3, 99, 101, 257, 500):
        values = list(range(count))
        given = one_of_values("?", values)
        assert one_of("?", count).count("?") == len(given)
        assert set(given) == set(values)  # only repeats added


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_each_delivery_is_settled_and_counted_once(kind: str, tmp_path: Path) -> None:
    with served_database(kind, tmp_path) as db:
        db.migrate()
        ids = fill(db, 150)
        with db.engine.begin() as conn:
            conn.execute(update(deliveries).values(stat_pk=deliveries.c.id % 3 + 100))
            done = deliveries.c.id.in_(ids[:2])  # acked before: not again
            conn.execute(update(deliveries).where(done).values(status=Status.ACKED))
        batch = [*ids[:103], *ids[50:60]]  # 113 ids, padded to 200 on SQLite
        values = {"status": Status.ACKED, "acked_at": 7, "updated_at": 7}
        with db.engine.begin() as conn:
            changed = store.settle(conn, batch, ACKABLE, values, raised=("attempts",))
        with db.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.id, deliveries.c.acked_at, deliveries.c.attempts)
            )
            found = {i: (acked_at, attempts) for i, acked_at, attempts in rows}
        db.engine.dispose()
    expected: dict[int, int] = {}
    for i in ids[2:103]:
        expected[i % 3 + 100] = expected.get(i % 3 + 100, 0) + 1
    assert changed == expected
    assert {i: found[i] for i in ids[2:103]} == dict.fromkeys(ids[2:103], (7, 1))
    assert {found[i] for i in (*ids[:2], *ids[103:])} == {(None, 0)}
