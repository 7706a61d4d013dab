"""What a device is shown: per-target extension parameters over the call-wide ones."""

from __future__ import annotations

from tidings.contract import SELFBUILT, DeviceAddress, PushOptions
from tidings.delivery.outbound import build_outbound, merge_extended
from tidings.delivery.plan import MessageRow
from tidings.delivery.routing import router_for


def test_the_target_s_own_parameters_win_over_the_unified_ones() -> None:
    assert merge_extended({"a": "1", "b": "call"}, '{"b":"own","c":"3"}') == {
        "a": "1",
        "b": "own",
        "c": "3",
    }
    assert merge_extended(None, None) == {}
    assert merge_extended({"a": "1"}, None) == {"a": "1"}


def test_messages_with_no_parameters_of_their_own_share_one_dict() -> None:
    """The gateway encodes a message frame's end again only when its parameters are another
    object than the last frame's."""
    unified = {"a": "1"}
    assert merge_extended(unified, None) is unified
    assert merge_extended(None, None) is merge_extended(None, "")
    assert merge_extended(None, '{"b":"2"}') is not merge_extended(None, '{"b":"2"}')


def test_payload_keeps_the_text_and_the_validity() -> None:
    options = PushOptions(extended_params={"a": "1"})
    device = DeviceAddress(1, "t", "android", "android", None)
    message = MessageRow(5, 9, "k", "target", "T", "C", "u", '{"b":"2"}')
    out = build_outbound(
        3, SELFBUILT, device, task_id=9, message=message, options=options, expires_at=77,
        request_id="R1",
    )  # fmt: skip
    assert out.payload == (9, "k", "T", "C", "u", {"a": "1", "b": "2"}, 77, "R1")
    assert (out.id, out.channel, out.device, out.options) == (3, SELFBUILT, device, options)


def test_routing_only_uses_channels_the_app_configured_and_this_process_runs() -> None:
    hms_phone = DeviceAddress(1, "t", "android", "hms", "hms-token")
    notify = PushOptions(notify_type="notify")
    assert router_for(notify, 1, {"hms"})(hms_phone) == "hms"
    assert router_for(notify, 1, set())(hms_phone) == SELFBUILT
    plain = DeviceAddress(2, "t2", "android", "android", None)
    assert router_for(notify, 1, {"hms"})(plain) == SELFBUILT
    transparent = PushOptions(notify_type="transparent")
    assert router_for(transparent, 1, {"hms"})(hms_phone) == SELFBUILT
