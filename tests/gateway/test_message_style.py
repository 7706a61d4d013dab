"""A message frame carries its display style only when the push has one, so plain messages stay
as small as they were."""

from __future__ import annotations

import json

from tidings.contract import DeviceAddress, Outbound, Payload, PushOptions
from tidings.gateway import protocol


def frame(options: PushOptions) -> dict:
    item = Outbound(
        1,
        "selfbuilt",
        DeviceAddress(1, "tok", "android", "android", None),
        Payload(9, "k1", "T", "C", None, {}, 1234),
        options,
    )
    return json.loads(protocol.message(item))


def test_style_fields_travel_when_set() -> None:
    styled = frame(PushOptions(push_style=2, image_urls={"defaultUrl": "https://x/big.png"}))
    assert styled["pushStyle"] == 2
    assert styled["imageUrls"] == {"defaultUrl": "https://x/big.png"}
    assert styled["iconUrls"] is None
    assert "pushStyle" not in frame(PushOptions())
