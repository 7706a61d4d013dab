"""Named tuples read from database rows by column name: the order of the columns, and the others
a query selects, do not matter."""

from __future__ import annotations

import sqlalchemy as sa

from tidings.contract import ADDRESS_COLUMNS, DeviceAddress, from_rows, from_tuples
from tidings.delivery.plan import MessageRow
from tidings.store.deliveries import MESSAGE_COLUMNS
from tidings.store.devices import ADDRESS


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


def test_the_reads_dispatch_makes_as_tuples_select_the_fields_in_their_order() -> None:
    """messages_of, messages_to_devices and the address lookups hand the driver's tuples over,
    made into MessageRow and DeviceAddress by position: their queries must name the fields in
    the named tuples' order."""
    assert [column.name for column in MESSAGE_COLUMNS] == list(MessageRow._fields)
    assert tuple(column.name for column in ADDRESS) == ADDRESS_COLUMNS
    assert len(ADDRESS_COLUMNS) == len(DeviceAddress._fields)
    assert ADDRESS_COLUMNS[1:] == DeviceAddress._fields[1:]  # the device's pk is read as device_pk
    assert from_tuples(DeviceAddress, [(7, "DT1", "android", "hms", "t")]) == [
        DeviceAddress(7, "DT1", "android", "hms", "t")
    ]
