"""The ids vendors see a delivery by: the same on every attempt and in every release."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from tests.channels.outbound import outbound
from tidings.channels.extensions import delivery_uuid

NAMESPACE = uuid.UUID("0b6f1c1e-5a7d-4e0e-9d53-2f4f6f3b8a21")


@given(
    task_id=st.integers(min_value=1, max_value=2**63 - 1),
    msg_key=st.text(min_size=1, max_size=64),
)
def test_delivery_uuid_is_the_uuid5_of_task_msg_key_and_id(task_id: int, msg_key: str) -> None:
    out = outbound("apns", "ab" * 32)
    out = out._replace(payload=out.payload._replace(task_id=task_id, msg_key=msg_key))
    key = f"{task_id}/{msg_key}/{out.id}"
    assert delivery_uuid(out) == str(uuid.uuid5(NAMESPACE, key))
