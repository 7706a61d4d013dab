"""Revocation on the device protocol: the revoke frame, the device's ``revoked`` answer, and a
connection that sends each revoke frame once and takes confirmations only for what it sent."""

from __future__ import annotations

import json

import pytest

from tests.gateway.test_hub import Peer
from tests.gateway.test_protocol import ready, refusal
from tidings.contract import Recall
from tidings.gateway import protocol
from tidings.gateway.hub import Connection
from tidings.gateway.protocol import Revoked


def test_the_revoke_frame_names_the_delivery_and_its_message() -> None:
    assert json.loads(protocol.revoke(Recall(42, 1, 9, "k1"))) == {
        "type": "revoke",
        "id": 42,
        "taskId": "9",
        "msgKey": "k1",
    }


def test_the_device_confirms_with_revoked() -> None:
    assert ready().receive('{"type":"revoked","ids":[42,43]}') == Revoked((42, 43))


@pytest.mark.parametrize(
    "frame", ['{"type":"revoked","ids":[]}', '{"type":"revoked"}', '{"type":"revoked","ids":[0]}']
)
def test_a_malformed_confirmation_closes_the_connection(frame: str) -> None:
    code, reason = refusal(ready(), frame)
    assert code == protocol.MALFORMED and "ids" in reason


def test_revoke_frames_go_once_and_only_sent_ones_are_confirmed() -> None:
    peer = Peer()
    connection = Connection(peer, lambda: 0.0, 100)
    for delivery_id in (5, 6, 5):
        connection.recall(Recall(delivery_id, 1, 9, f"k{delivery_id}"))
    assert [json.loads(f)["id"] for f in peer.frames] == [5, 6]
    assert connection.withdrawn((6, 7)) == {6}  # 7 was never revoked here
    assert connection.withdrawn((6,)) == set()
    assert connection.recalled == {5}
