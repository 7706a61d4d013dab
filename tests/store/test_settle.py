"""Settling deliveries by the batch (store.deliveries.settle, mark_opened): ids given in lists
of any size and repeated, on both databases, each delivery changed and counted once under its
stat_pk, an open only by the delivery's own device; and on SQLite the lists come to few
statement texts, so that a batch of acks of a size not seen before runs statements SQLite has
prepared already."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from tests.delivery.test_outcomes import fill
from tests.support.servers import served_database
from tidings.contract import ACKABLE, Status
from tidings.store import deliveries as store
from tidings.store.plain import LADDER, one_of, one_of_values
from tidings.store.tables import deliveries, devices


def test_lists_of_any_size_come_to_one_statement_text_a_ladder_size() -> None:
    texts = {one_of("?", count) for count in range(1, 501)}
    assert len(texts) == len(LADDER)
    assert one_of_values("?", []) == ()  # no values: nothing to repeat
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


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_opens_are_recorded_once_and_only_by_the_deliverys_own_device(
    kind: str, tmp_path: Path
) -> None:
    with served_database(kind, tmp_path) as db:
        db.migrate()
        ids = fill(db, 6)  # the first is device 1's; the others get devices 2 to 6
        with db.engine.begin() as conn:
            conn.execute(
                insert(devices),
                [
                    {"pk": pk, "app_pk": 1, "token": f"t{pk}", "platform": "android"}
                    | {"manufacturer": "android", "created_at": 0}
                    for pk in range(2, 7)
                ],
            )
            for pk, i in zip(range(2, 7), ids[1:], strict=True):
                conn.execute(update(deliveries).where(deliveries.c.id == i).values(device_pk=pk))
            conn.execute(update(deliveries).values(stat_pk=deliveries.c.id % 2 + 100))
            before = deliveries.c.id == ids[5]  # opened before: not again
            conn.execute(update(deliveries).where(before).values(opened_at=3))
        opens = [
            (1, ids[0]),
            (1, ids[0]),  # reported twice
            (2, ids[1]),
            (1, ids[2]),  # device 3's: not device 1's to open
            (4, ids[3]),
            (6, ids[5]),
        ]
        with db.engine.begin() as conn:
            opened = store.mark_opened(conn, opens, 7)
        with db.engine.connect() as conn:
            found = dict(conn.execute(select(deliveries.c.id, deliveries.c.opened_at)).all())
        db.engine.dispose()
    assert sorted(opened) == [(i, i % 2 + 100) for i in (ids[0], ids[1], ids[3])]
    assert found == {ids[0]: 7, ids[1]: 7, ids[2]: None, ids[3]: 7, ids[4]: None, ids[5]: 3}
