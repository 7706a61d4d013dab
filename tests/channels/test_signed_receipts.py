"""Honor's, Xiaomi's, OPPO's and vivo's receipts without a server: the signed tag each message
carries (named and checked with the app's receipt_secret), the callback fields each send sets only
when the channel takes receipts, and each vendor's callback body read into receipts."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.channels.outbound import outbound
from tidings.channels import honor, oppo, vivo, xiaomi
from tidings.channels.catalog import check_config
from tidings.channels.http import NotRecallable
from tidings.channels.receipt_formats import (
    Event,
    Receipt,
    ReceiptMalformed,
    ReceiptRefused,
    check_receipt_url,
    delivery_of_tag,
    receipt_tag,
)
from tidings.channels.vendor_config import ChannelConfigError

URL = "https://tidings.example/receipts/x/ws/app"
BASE = {
    "honor": {"app_id": "1", "client_id": "c", "client_secret": "s"},
    "xiaomi": {"app_secret": "s", "package_name": "com.example"},
    "oppo": {"app_key": "k", "master_secret": "m"},
    "vivo": {"app_id": "1", "app_key": "k", "app_secret": "s"},
}


def config(channel: str, **keys):
    return check_config(channel, {**BASE[channel], **keys})


def receiving(channel: str):
    where = {"receipt_id": "r-1"} if channel == "honor" else {"receipt_url": URL}
    if channel == "vivo":
        where["receipt_id"] = "r-1"
    return config(channel, receipt_secret="secret", **where)


def test_a_signed_tag_names_its_delivery_and_nothing_else_verifies() -> None:
    mine = receiving("xiaomi")
    tag = receipt_tag(mine, 5812)
    assert tag is not None and tag.startswith("5812.") and len(tag) <= 64
    assert delivery_of_tag(mine, tag) == 5812
    other_secret = config("xiaomi", receipt_url=URL, receipt_secret="another")
    forged = [tag.replace("5812", "5813", 1), "5812", "", None, f"5812.{'0' * 24}"]
    for bad in forged:
        with pytest.raises(ReceiptRefused, match="not one Tidings signed"):
            delivery_of_tag(mine, bad)
    with pytest.raises(ReceiptRefused):
        delivery_of_tag(other_secret, tag)
    with pytest.raises(ReceiptRefused):  # another channel's tag for the same delivery
        delivery_of_tag(receiving("vivo"), tag)
    with pytest.raises(ReceiptRefused, match="once receipt_secret is configured"):
        delivery_of_tag(config("xiaomi"), tag)


def sent_fields(channel: str, cfg) -> dict:
    out = outbound(channel, "regid-1")._replace(id=77)
    if channel == "xiaomi":
        return xiaomi.form(out, cfg, 0)
    if channel == "oppo":
        return oppo.message(out, cfg, 0)["notification"]
    if channel == "vivo":
        return vivo.message(out, cfg, 0).get("extra") or {}
    return honor.message(out, cfg, 0)["android"]


CALLBACK_FIELDS = {
    "xiaomi": ("extra.callback", "extra.callback.param"),
    "oppo": ("call_back_url", "call_back_parameter"),
    "vivo": ("callback", "callback.param"),
    "honor": ("receiptId", "biTag"),
}


@pytest.mark.parametrize("channel", sorted(CALLBACK_FIELDS))
def test_messages_ask_for_receipts_only_when_the_channel_takes_them(channel) -> None:
    where, tag = CALLBACK_FIELDS[channel]
    cfg = receiving(channel)
    fields = sent_fields(channel, cfg)
    assert fields[tag] == receipt_tag(cfg, 77)
    assert fields[where] == ("r-1" if channel in ("vivo", "honor") else URL)
    plain = sent_fields(
        channel, config(channel, **({} if channel == "honor" else {"receipt_url": URL}))
    )
    assert where not in plain and tag not in plain


def test_vivo_names_the_url_itself_without_a_receipt_id() -> None:
    cfg = config("vivo", receipt_url=URL, receipt_secret="secret")
    assert sent_fields("vivo", cfg)["callback"] == URL


def test_each_vendors_callback_becomes_receipts() -> None:
    def tag(channel: str, delivery_id: int) -> str:
        return receipt_tag(receiving(channel), delivery_id) or ""

    data = {"m1": {"param": tag("xiaomi", 1), "type": 1, "targets": "r"},
            "m2": {"param": tag("xiaomi", 2), "type": 2, "targets": "r"},
            "m3": {"param": tag("xiaomi", 3), "type": 16, "targets": "r"}}  # fmt: skip
    body = urlencode({"data": json.dumps(data)}).encode()
    got = xiaomi.read_receipts(receiving("xiaomi"), {}, body)
    assert [(r.delivery_id, r.event) for r in got] == [
        (1, Event.ARRIVED), (2, Event.ARRIVED), (2, Event.OPENED), (3, Event.FAILED),
    ]  # fmt: skip
    events = [
        {"param": tag("oppo", 4), "eventType": "push_arrive", "messageId": "m"},
        {"param": tag("oppo", 5), "eventType": "regid_invalid", "messageId": "m"},
    ]
    assert oppo.read_receipts(receiving("oppo"), {}, json.dumps(events).encode()) == [
        Receipt(4, Event.ARRIVED, "push_arrive of message m"),
        Receipt(5, Event.FAILED, "regid_invalid of message m"),
    ]
    tasks = {"t9": {"param": tag("vivo", 6), "targets": "r"}}
    assert vivo.read_receipts(receiving("vivo"), {}, json.dumps(tasks).encode()) == [
        Receipt(6, Event.ARRIVED, "task t9")
    ]
    statuses = {"statuses": [{"biTag": tag("honor", 7), "status": 0},
                             {"biTag": tag("honor", 8), "status": 2}]}  # fmt: skip
    assert honor.read_receipts(receiving("honor"), {}, json.dumps(statuses).encode()) == [
        Receipt(7, Event.ARRIVED, "receipt status 0"),
        Receipt(8, Event.FAILED, "receipt status 2"),
    ]


@pytest.mark.parametrize(
    ("module", "body"),
    [(xiaomi, b"data=%5B1%5D"), (xiaomi, b"nodata=1"), (oppo, b"{}"), (oppo, b"[1]"),
     (vivo, b"[]"), (vivo, b'{"t": 1}'), (honor, b"{}")],
)  # fmt: skip
def test_a_body_not_in_the_vendors_format_is_malformed(module, body) -> None:
    with pytest.raises(ReceiptMalformed):
        module.read_receipts(receiving(module.NAME), {}, body)


def test_the_receipt_secret_is_never_shown() -> None:
    public = receiving("oppo").public()
    assert public["receipt_url"] == URL and "receipt_secret" not in public


def test_xiaomi_recalls_a_notification_by_regid_and_notify_id() -> None:
    protocol = xiaomi.XiaomiProtocol(check_config("xiaomi", {**BASE["xiaomi"]}))
    out = outbound("xiaomi", "regid-1")
    request = protocol.revoke_request(out, None, 0)
    assert request.url.path == "/v3/message/regid/revoke"
    assert request.headers["authorization"] == "key=s"
    form = dict(parse_qsl(request.content.decode()))
    assert form == {
        "registration_id": "regid-1",
        "restricted_package_name": "com.example",
        "notify_id": xiaomi.form(out, config("xiaomi"), 0)["notify_id"],
    }
    with pytest.raises(NotRecallable):
        protocol.revoke_request(outbound("xiaomi", "regid-1", silent=1), None, 0)


def test_a_receipt_url_must_lead_to_this_apps_receipts_for_the_channel() -> None:
    def check(url: str) -> None:
        check_receipt_url(config("oppo", receipt_url=url), "ws", "ONEX1")

    check("https://tidings.example/receipts/oppo/ws/ONEX1")
    check("https://gw.example/push/receipts/oppo/ws/ONEX1")  # behind a proxy's prefix
    for wrong in (
        "https://tidings.example/receipts/oppo/ws/OTHER",
        "https://tidings.example/receipts/vivo/ws/ONEX1",
        "https://tidings.example/",
    ):
        with pytest.raises(
            ChannelConfigError, match=r"receipt_url must be .* /receipts/oppo/ws/ONEX1"
        ):
            check(wrong)
