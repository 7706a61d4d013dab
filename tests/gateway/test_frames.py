"""RFC 6455 as the gateway reads and writes it: client frames (masked, fragmented, interleaved
with control frames) read into messages, every rule a server enforces, and the handshake."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from tidings.gateway import frames
from tidings.gateway.frames import BINARY, CLOSE, PING, TEXT, FrameReader, Refusal
from tidings.gateway.protocol import Violation


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    """A frame as a client sends it: masked with a random key."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        length = bytes((0x80 | size,))
    elif size < 0x10000:
        length = bytes((0x80 | 126,)) + size.to_bytes(2, "big")
    else:
        length = bytes((0x80 | 127,)) + size.to_bytes(8, "big")
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(((0x80 if fin else 0) | rsv | opcode,)) + length + mask + body


def test_text_of_every_length_class_is_read_back() -> None:
    reader = FrameReader(1 << 20)
    texts = ["", "ping", "é" * 100, "x" * 70_000]
    data = b"".join(client_frame(TEXT, t.encode()) for t in texts)
    assert reader.feed(data) == [(TEXT, t) for t in texts]


def test_frames_split_anywhere_are_read_when_whole() -> None:
    reader = FrameReader(1 << 20)
    data = client_frame(TEXT, b'{"type":"ack","ids":[1]}') + client_frame(TEXT, b"x" * 300)
    got = []
    for byte in range(len(data)):
        got += reader.feed(data[byte : byte + 1])
    assert got == [(TEXT, '{"type":"ack","ids":[1]}'), (TEXT, "x" * 300)]


def test_fragments_are_joined_and_control_frames_may_come_between() -> None:
    reader = FrameReader(1 << 20)
    data = (
        client_frame(TEXT, "héllo ".encode()[:2], fin=False)
        + client_frame(PING, b"p")
        + client_frame(0, "héllo ".encode()[2:], fin=False)
        + client_frame(0, b"world")
    )
    assert reader.feed(data) == [(PING, b"p"), (TEXT, "héllo world")]


def test_binary_messages_are_handed_on_for_the_protocol_to_refuse() -> None:
    assert FrameReader(100).feed(client_frame(BINARY, b"\xff")) == [(BINARY, b"\xff")]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (client_frame(TEXT, b"x")[:1] + bytes((1,)) + b"x", frames.PROTOCOL_ERROR),  # unmasked
        (client_frame(TEXT, b"x", rsv=0x40), frames.PROTOCOL_ERROR),  # compressed, never agreed
        (client_frame(TEXT, b"\xc3\x28"), frames.INVALID_DATA),  # not UTF-8
        (client_frame(0, b"x"), frames.PROTOCOL_ERROR),  # continuation of nothing
        (client_frame(TEXT, b"a", fin=False) + client_frame(TEXT, b"b"), frames.PROTOCOL_ERROR),
        (client_frame(PING, b"x" * 126), frames.PROTOCOL_ERROR),  # control frame too long
        (client_frame(PING, b"x", fin=False), frames.PROTOCOL_ERROR),  # fragmented control
        (client_frame(3, b"x"), frames.PROTOCOL_ERROR),  # reserved data opcode
        (client_frame(11, b"x"), frames.PROTOCOL_ERROR),  # reserved control opcode
    ],
    ids=[
        "unmasked",
        "compressed",
        "not-utf8",
        "lone-continuation",
        "unfinished-then-new",
        "long-control",
        "fragmented-control",
        "reserved-data-opcode",
        "reserved-control-opcode",
    ],
)
def test_a_frame_breaking_the_rules_is_refused_with_its_code(data: bytes, code: int) -> None:
    with pytest.raises(Violation) as refused:
        FrameReader(1000).feed(data)
    assert refused.value.code == code


def test_a_frame_read_whole_on_its_own_meets_the_rules_of_what_came_before() -> None:
    """A short text frame that is all of one read is read without the general loop
    (``whole_text``); it is left to the loop (None) when it is a continuation of bytes already
    buffered, a breach while a fragmented message is under way, or over a limit smaller than
    itself, and the loop reads it so."""
    reader = FrameReader(1000)
    assert reader.whole_text(client_frame(TEXT, b'{"type":"ack","ids":[7]}')) == (
        '{"type":"ack","ids":[7]}'
    )
    mask = bytes((0x81 ^ ord("a"), 0x80 ^ ord("b"), 0, 0))
    payload = b"\x81\x80" + bytes(c ^ mask[i % 4] for i, c in enumerate(b"cdef", 2))
    assert reader.whole_text(b"\x81\x86" + mask) is None
    assert reader.feed(b"\x81\x86" + mask) == []  # the header; its payload looks like a frame
    assert reader.whole_text(payload) is None
    assert reader.feed(payload) == [(TEXT, "abcdef")]
    reader.feed(client_frame(TEXT, b"a", fin=False))
    assert reader.whole_text(client_frame(TEXT, b"b")) is None
    with pytest.raises(Violation) as refused:
        reader.feed(client_frame(TEXT, b"b"))
    assert refused.value.code == frames.PROTOCOL_ERROR
    assert FrameReader(10).whole_text(client_frame(TEXT, b"x" * 11)) is None
    with pytest.raises(Violation) as refused:
        FrameReader(10).feed(client_frame(TEXT, b"x" * 11))
    assert refused.value.code == frames.TOO_BIG
    with pytest.raises(Violation) as refused:
        FrameReader(1000).whole_text(client_frame(TEXT, b"\xff"))
    assert refused.value.code == frames.INVALID_DATA


def test_a_message_over_the_limit_is_refused_on_its_header_alone() -> None:
    header = client_frame(TEXT, b"x" * 2000)[:8]  # the length and mask, no payload yet
    with pytest.raises(Violation) as refused:
        FrameReader(1000).feed(header)
    assert refused.value.code == frames.TOO_BIG


def test_fragments_count_together_against_the_limit() -> None:
    reader = FrameReader(1000)
    reader.feed(client_frame(TEXT, b"x" * 600, fin=False))
    with pytest.raises(Violation) as refused:
        reader.feed(client_frame(0, b"x" * 600)[:8])
    assert refused.value.code == frames.TOO_BIG


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"", (frames.NO_STATUS, "")),
        (b"\x03\xe8bye", (1000, "bye")),
        (b"\x0f\xa0", (4000, "")),
    ],
)
def test_close_status_is_read(payload: bytes, status: tuple[int, str]) -> None:
    assert frames.close_status(payload) == status


@pytest.mark.parametrize(
    "payload", [b"\x03", b"\x03\xed", b"\x03\xf7", b"\x07\xd0", b"\x03\xe8\xff"]
)
def test_a_close_frame_with_a_code_no_peer_may_send_is_refused(payload: bytes) -> None:
    with pytest.raises(Violation):
        frames.close_status(payload)


def test_server_frames_are_unmasked_with_the_shortest_length() -> None:
    assert frames.text("hi") == b"\x81\x02hi"
    assert frames.frame(TEXT, b"x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert frames.frame(TEXT, b"x" * 0x10000)[:10] == b"\x81\x7f" + (0x10000).to_bytes(8, "big")
    reason = ("é" * 61).encode()  # 122 bytes: the 62nd character would not fit whole
    assert frames.close(4008, "é" * 100) == bytes((0x88, 124)) + b"\x0f\xa8" + reason


def request(path: str = "/device", **headers: str) -> bytes:
    fields = {
        "host": "x",
        "upgrade": "websocket",
        "connection": "keep-alive, Upgrade",
        "sec-websocket-key": base64.b64encode(b"0123456789abcdef").decode(),
        "sec-websocket-version": "13",
    }
    fields.update({k.replace("_", "-"): v for k, v in headers.items()})
    lines = [f"GET {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in fields.items() if v]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_the_handshake_answers_with_the_accept_key() -> None:
    key = base64.b64encode(b"0123456789abcdef")
    expected = base64.b64encode(
        hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
    )
    answer = frames.accept(request("/device?v=1"), "/device")
    assert isinstance(answer, bytes)
    assert answer.startswith(b"HTTP/1.1 101 ") and b"Sec-WebSocket-Accept: " + expected in answer


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (request("/other"), 404),
        (request(sec_websocket_version="8"), 426),
        (request(sec_websocket_key="short"), 400),
        (request(sec_websocket_key=""), 400),
        (request(connection="keep-alive"), 400),
    ],
)
def test_a_bad_upgrade_is_refused_with_its_status(head: bytes, status: int) -> None:
    answer = frames.accept(head, "/device")
    assert isinstance(answer, Refusal) and answer.status == status
    assert frames.refusal(answer).startswith(f"HTTP/1.1 {status} ".encode())
    if status == 426:
        assert b"Sec-WebSocket-Version: 13\r\n" in frames.refusal(answer)


def test_a_close_frame_is_a_control_frame() -> None:
    assert FrameReader(10).feed(client_frame(CLOSE, b"\x03\xe8")) == [(CLOSE, b"\x03\xe8")]


@pytest.mark.parametrize(
    ("head", "whole"),
    [
        (request("/device"), True),
        (request("/device?v=1"), True),
        (request("/device", upgrade="WebSocket"), True),
        (request("/device")[:-2], False),  # the headers have not ended yet
        (request("/device") + b"\x81", False),  # more after them: uvicorn's parser decides
        (request("/devices"), False),
        (request("/other"), False),
        (request("/device", upgrade=""), False),  # no Upgrade header: plain HTTP
        (request("/device").replace(b"GET", b"POST", 1), False),
    ],
)
def test_only_a_whole_upgrade_request_for_the_path_is_answered_without_the_parser(
    head: bytes, whole: bool
) -> None:
    assert frames.whole_upgrade(head, "/device") is whole
