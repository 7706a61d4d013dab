"""Connections: pushes written in order, duplicates dropped, acks checked against what was sent."""

from __future__ import annotations

import json

from tests.support.links import Peer
from tidings.contract import DeviceAddress, Outbound, Payload, PushOptions
from tidings.gateway.hub import Connection, Hub


def item(delivery_id: int, device_pk: int = 1) -> Outbound:
    return Outbound(
        delivery_id,
        "selfbuilt",
        DeviceAddress(device_pk, "t", "android", "android", None),
        Payload(1, f"k{delivery_id}", "T", "C", None, {}, 0),
        PushOptions(),
    )


def connection(peer: Peer, window: int = 100, now: float = 0.0) -> Connection:
    return Connection(peer, lambda: now, window)


def test_pushes_are_written_once_each_in_order() -> None:
    peer = Peer()
    sending = connection(peer)
    for delivery_id in (3, 1, 3, 2):
        sending.push(item(delivery_id))
    assert [json.loads(f)["id"] for f in peer.frames] == [3, 1, 2]
    assert sending.settle((1, 9, 2)) == {1, 2}  # 9 was never sent here
    assert sending.in_flight == {3}
    assert sending.settle((1,)) == set()  # acked already


def test_an_ack_during_a_read_of_what_is_owed_keeps_that_read_from_sending_it_again() -> None:
    """The read may have found the delivery pending before its ack was written."""
    peer = Peer()
    sending = connection(peer)
    sending.push(item(1))
    sending.reading()
    assert sending.settle((1,)) == {1}
    sending.push(item(1))  # what the read found
    sending.push(item(2))
    sending.read()
    sending.push(item(1))  # a later read, after the ack was written, would not find it: if
    sent = [json.loads(f)["id"] for f in peer.frames]  # it did, it would be owed again
    assert sent == [1, 2, 1] and sending.acked_while_read == set()


def test_closing_sends_the_last_frame_then_closes_once() -> None:
    peer = Peer()
    closing = connection(peer)
    closing.close(4001, "no", '{"type":"error"}')
    closing.close(1000, "again")
    closing.push(item(1))
    assert peer.frames == ['{"type":"error"}'] and peer.closed == (4001, "no")


def test_past_the_window_pushes_wait_until_acks_drain_half_of_it() -> None:
    peer = Peer()
    sending = connection(peer, window=4)
    for delivery_id in range(1, 7):
        sending.push(item(delivery_id))
    assert [json.loads(f)["id"] for f in peer.frames] == [1, 2, 3, 4]
    assert sending.behind and not sending.wants_more()
    sending.settle((1,))
    assert not sending.wants_more()  # 3 of 4 still in flight
    sending.settle((2,))
    assert sending.wants_more()  # half the window is free: read the next page
    sending.catching_up = True
    assert not sending.wants_more()  # one page at a time


def test_a_connection_is_stalled_when_nothing_it_was_sent_is_acked_in_time() -> None:
    now = [10.0]
    sending = Connection(Peer(), lambda: now[0], 10)
    assert not sending.stalled(100.0)  # nothing in flight: nothing to wait for
    sending.push(item(1))
    now[0] = 50.0
    sending.push(item(2))
    assert sending.stalled(20.0)  # waiting since 10
    sending.settle((1,))
    assert not sending.stalled(20.0)  # an ack at 50 restarts the wait


def test_a_device_connected_twice_keeps_its_newer_connection() -> None:
    hub = Hub()
    first, second = (connection(Peer(), now=t) for t in (1.0, 2.0))
    first.device_pk = second.device_pk = 7
    assert hub.attach(first) is None
    assert hub.attach(second) is first
    assert not hub.detach(first)  # the old connection's end does not drop the new one
    assert hub.get(7) is second and len(hub) == 1
    assert hub.silent_since(1.5) == [] and hub.silent_since(2.5) == [second]
    assert hub.detach(second) and hub.get(7) is None


def test_held_names_the_connected_devices_whichever_side_is_smaller() -> None:
    hub = Hub()
    for device_pk in (7, 3, 12):
        connected = connection(Peer())
        connected.device_pk = device_pk
        hub.attach(connected)
    assert hub.held(range(1, 10_001)) == [3, 7, 12]  # a broadcast's page: the hub is walked
    assert hub.held([12, 5, 3, 9, 40]) == [3, 12]  # a list of pks, as a set
    assert hub.held([12, 3]) == [3, 12]  # fewer pks than connections: the pks are walked
    assert hub.held(()) == []
