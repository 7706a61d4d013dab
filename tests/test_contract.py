"""Named tuples read from database rows by column name: the order of the columns, and the others
a query selects, do not matter."""

from __future__ import annotations

import sqlalchemy as sa

from tidings.contract import DeviceAddress, from_rows
from tidings.delivery.plan import MessageRow


def test_rows_are_read_by_column_name() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT 'u1' AS user_id, 'hms-token' AS third_token, 'hms' AS manufacturer, "
                "'android' AS platform, 'DT1' AS token, 7 AS device_pk "
                "UNION ALL SELECT 'u2', NULL, 'ios', 'ios', 'DT2', 8"
            )
        ).all()
    assert DeviceAddress.from_rows(rows) == [
        DeviceAddress(7, "DT1", "android", "hms", "hms-token"),
        DeviceAddress(8, "DT2", "ios", "ios", None),
    ]
    assert from_rows(DeviceAddress, []) == []


def test_a_named_tuple_may_be_read_from_another() -> None:
    message = MessageRow(1, 2, "k", "target", "T", "C", None, '{"a":"1"}')
    assert MessageRow.from_rows([message]) == [message]
