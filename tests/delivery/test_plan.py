"""Resolving tasks into deliveries, without a database: targets, bindings, expiry, occurrences."""

from __future__ import annotations

from tidings.contract import SELFBUILT, DeviceAddress, Status
from tidings.delivery.plan import MessageRow, Planned, TaskRow, plan_task

PHONE = DeviceAddress(1, "tok-phone", "android", "android", None)
TABLET = DeviceAddress(2, "tok-tablet", "harmonyos", "harmonyos", None)
NOW = 1_000_000


def task(delivery_type: int, *, parent_id=None, due_at=NOW, expired=60) -> TaskRow:
    return TaskRow(7, parent_id, 3, delivery_type, expired, "{}", NOW - 5000, due_at)


def message(pk: int, target: str) -> MessageRow:
    return MessageRow(pk, 7, f"k{pk}", target, "T", "C", None, None)


def plans(task_row: TaskRow, messages, by_token=None, by_user=None, now=NOW) -> list[Planned]:
    return list(
        plan_task(
            task_row,
            messages,
            by_token or {},
            by_user or {},
            router=lambda device: f"via-{device.platform}",
            now_ms=now,
        )
    )


def test_device_targets_go_to_their_device_with_the_routed_channel() -> None:
    found = plans(task(1), [message(1, "tok-phone")], by_token={"tok-phone": PHONE})
    assert found == [Planned(message(1, "tok-phone"), PHONE, None, "via-android", Status.PENDING)]


def test_an_unknown_token_is_kept_pending_without_a_device() -> None:
    (found,) = plans(task(1), [message(1, "nobody")])
    assert (found.device, found.channel, found.status) == (None, None, Status.PENDING)


def test_a_user_target_fans_out_to_every_bound_device() -> None:
    found = plans(task(3), [message(1, "u1")], by_user={"u1": [PHONE, TABLET]})
    assert [(p.device, p.user_id, p.channel) for p in found] == [
        (PHONE, "u1", "via-android"),
        (TABLET, "u1", "via-harmonyos"),
    ]


def test_a_user_without_devices_gets_one_no_bind_row() -> None:
    (found,) = plans(task(3), [message(1, "u2")], by_user={"u1": [PHONE]})
    assert (found.device, found.user_id, found.status) == (None, "u2", Status.NO_BIND)


def test_messages_already_expired_at_dispatch_are_recorded_expired() -> None:
    late = task(1, expired=60)
    after = NOW + 60_000
    found = plans(
        late, [message(1, "tok-phone"), message(2, "nobody")], {"tok-phone": PHONE}, now=after
    )
    assert [p.status for p in found] == [Status.EXPIRED, Status.EXPIRED]
    (user,) = plans(task(3), [message(1, "u9")], now=after)
    assert user.status == Status.EXPIRED
    assert (
        plans(late, [message(1, "tok-phone")], {"tok-phone": PHONE}, now=after - 1)[0].status
        == Status.PENDING
    )


def test_an_occurrence_sends_its_parents_messages_valid_from_its_own_due_time() -> None:
    occurrence = task(1, parent_id=5, due_at=NOW + 3_600_000, expired=60)
    assert occurrence.messages_of == 5
    assert occurrence.expires_at == NOW + 3_600_000 + 60_000
    immediate = task(1, due_at=None, expired=60)
    assert (immediate.messages_of, immediate.expires_at) == (7, NOW - 5000 + 60_000)


def test_an_activity_push_token_is_its_own_address_on_no_device() -> None:
    token = "ab" * 32
    (found,) = plans(task(5), [message(1, token)])
    assert found.device == DeviceAddress(None, token, "ios", "ios", token)
    assert (found.channel, found.status) == ("via-ios", Status.PENDING)


def test_an_activity_without_a_channel_to_carry_it_waits_without_an_address() -> None:
    (found,) = list(
        plan_task(task(5), [message(1, "cd" * 32)], {}, {}, router=lambda _: SELFBUILT, now_ms=NOW)
    )
    assert (found.device, found.channel, found.status) == (None, None, Status.PENDING)


def test_an_activity_id_goes_to_the_push_token_registered_for_it() -> None:
    token = "ef" * 32
    known, unknown = plans_with_activities(task(6), [message(1, "match-1"), message(2, "other")])
    assert known.device == DeviceAddress(None, token, "ios", "ios", token)
    assert (known.channel, known.status) == ("via-ios", Status.PENDING)
    assert (unknown.device, unknown.channel, unknown.status) == (None, None, Status.PENDING)


def plans_with_activities(task_row: TaskRow, messages) -> list[Planned]:
    return list(
        plan_task(
            task_row,
            messages,
            {},
            {},
            by_activity={"match-1": "ef" * 32},
            router=lambda device: f"via-{device.platform}",
            now_ms=NOW,
        )
    )


def test_a_start_goes_to_each_devices_push_to_start_token() -> None:
    """A Live Activity started on a user's devices: the one with a push-to-start token gets
    it at that token (no device on the row, the user kept); the other waits with no address."""
    iphone = DeviceAddress(3, "tok-iphone", "ios", "ios", "aa" * 32)
    ipad = DeviceAddress(4, "tok-ipad", "ios", "ios", None)
    start_token = "5a" * 32
    found = list(
        plan_task(
            task(3),
            [message(1, "u1")],
            {},
            {"u1": [iphone, ipad]},
            start_tokens={3: start_token},
            router=lambda device: f"via-{device.platform}",
            now_ms=NOW,
        )
    )
    assert [(p.device, p.user_id, p.channel, p.status) for p in found] == [
        (DeviceAddress(None, start_token, "ios", "ios", start_token), "u1", "via-ios", 0),
        (None, "u1", None, Status.PENDING),
    ]


def test_an_update_to_a_user_goes_to_their_activities_and_live_views_only() -> None:
    """A Live Activity update to a user: each activity an iPhone registered, at its push token
    (the user kept, no device); the HarmonyOS tablet as a live view; the iPhone's own APNs
    token and the Android phone's channel get nothing. A user whose devices can take it
    nowhere gets one row that waits with no address."""
    iphone = DeviceAddress(3, "tok-iphone", "ios", "ios", "aa" * 32)
    channels = {"ios": "apns", "harmonyos": "harmonyos", "android": "hms"}
    found = list(
        plan_task(
            task(3),
            [message(1, "u1"), message(2, "u2")],
            {},
            {"u1": [PHONE, iphone, TABLET], "u2": [PHONE]},
            activity_tokens={3: ["a1" * 32, "b2" * 32]},
            router=lambda device: channels[device.platform],
            now_ms=NOW,
        )
    )
    assert [(p.message.pk, p.device, p.user_id, p.channel, p.status) for p in found] == [
        (1, DeviceAddress(None, "a1" * 32, "ios", "ios", "a1" * 32), "u1", "apns", 0),
        (1, DeviceAddress(None, "b2" * 32, "ios", "ios", "b2" * 32), "u1", "apns", 0),
        (1, TABLET, "u1", "harmonyos", 0),
        (2, None, "u2", None, Status.PENDING),
    ]
