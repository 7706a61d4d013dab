"""RFC 6455 for the device gateway, with no I/O: the server's answer to the opening handshake,
client frames read from bytes, server frames written as bytes.

Written here rather than taken from a WebSocket library because the gateway's shape is narrow
and hot: thousands of small text frames a second, each built once as bytes and written with
others in one ``transport.write``, and an idle connection holding next to nothing (a library's
connection object cost 3 to 4 times the memory of the rest of a device's state). The rules
kept are the ones a server must enforce: client frames masked, no reserved bits (no extension
is ever agreed), control frames short and unfragmented, fragments in order, text valid UTF-8,
close codes from the allowed ranges, and a size cap checked on the frame header, before the
payload is buffered. A broken rule raises the protocol's ``Violation``, with RFC 6455's code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from typing import NamedTuple

from tidings.gateway.protocol import Violation

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10

NORMAL = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002
NO_STATUS = 1005  # a close frame without a code (never sent)
INVALID_DATA = 1007
TOO_BIG = 1009

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_REASON = 123  # a control frame carries at most 125 bytes, two of them the code


class Refusal(NamedTuple):
    """An upgrade request not taken: the HTTP answer to send before closing."""

    status: int
    reason: str
    extra_headers: str = ""


_PHRASES = {400: "Bad Request", 404: "Not Found", 426: "Upgrade Required", 503: "Unavailable"}


def accept(head: bytes, path: str) -> bytes | Refusal:
    """The 101 answer to an upgrade request ``head`` (request line and headers, as uvicorn
    passes them on) for ``path``, or why it is refused."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET":
        return Refusal(400, "a WebSocket upgrade is a GET request")
    if parts[1].split(b"?", 1)[0].decode("latin-1") != path:
        return Refusal(404, f"no WebSocket endpoint here; devices connect to {path}")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name:
            headers[name.strip().lower()] = value.strip()
    if b"upgrade" not in _tokens(headers.get(b"connection", b"")):
        return Refusal(400, "Connection must include upgrade")
    if headers.get(b"sec-websocket-version") != b"13":
        return Refusal(426, "Sec-WebSocket-Version must be 13", "Sec-WebSocket-Version: 13\r\n")
    key = headers.get(b"sec-websocket-key", b"")
    try:
        valid = len(base64.b64decode(key, validate=True)) == 16
    except binascii.Error:
        valid = False
    if not valid:
        return Refusal(400, "Sec-WebSocket-Key must be 16 bytes in base64")
    answer = base64.b64encode(hashlib.sha1(key + _GUID).digest())  # RFC 6455 §4.2.2
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + answer + b"\r\n\r\n"
    )


def whole_upgrade(head: bytes, path: str) -> bool:
    """Whether ``head``, the first bytes a connection sent, is one whole WebSocket upgrade
    request for ``path`` and nothing after it, in its common form (the request line as given,
    an ``Upgrade: websocket`` header): one the gateway may answer without an HTTP parser, since
    ``accept`` checks every part of it the handshake needs. Anything else, say a request split
    over reads or spelled unusually, goes through the parser as any request does."""
    target = b"GET " + path.encode()
    return (
        head.startswith(target)
        and head[len(target) : len(target) + 1] in (b" ", b"?")
        and head.find(b"\r\n\r\n") == len(head) - 4
        and b"\r\nupgrade: websocket\r\n" in head.lower()
    )


def refusal(refused: Refusal) -> bytes:
    body = refused.reason.encode()
    return (
        f"HTTP/1.1 {refused.status} {_PHRASES[refused.status]}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{refused.extra_headers}\r\n"
    ).encode() + body


def _tokens(value: bytes) -> set[bytes]:
    return {token.strip().lower() for token in value.split(b",")}


def frame(opcode: int, payload: bytes) -> bytes:
    """A whole, unmasked server frame. Its header is packed by ``struct``: every message sent is
    framed here, and a header built from a tuple and ``int.to_bytes`` made ``text`` of a message
    frame cost 0.75 µs instead of 0.51."""
    size = len(payload)
    if size < 126:
        return _SHORT(0x80 | opcode, size) + payload
    if size < 0x10000:
        return _MEDIUM(0x80 | opcode, 126, size) + payload
    return _LONG(0x80 | opcode, 127, size) + payload


_SHORT = struct.Struct("!BB").pack
_MEDIUM = struct.Struct("!BBH").pack
_LONG = struct.Struct("!BBQ").pack


def text(value: str) -> bytes:
    return frame(TEXT, value.encode())


def close(code: int, reason: str) -> bytes:
    """A close frame; a long reason is cut on a character boundary (it must stay UTF-8)."""
    cut = reason.encode()[:_MAX_REASON].decode(errors="ignore").encode()
    return frame(CLOSE, code.to_bytes(2, "big") + cut)


def close_status(payload: bytes) -> tuple[int, str]:
    """The code and reason of a received close frame."""
    if not payload:
        return NO_STATUS, ""
    if len(payload) == 1:
        raise Violation(PROTOCOL_ERROR, "a close frame's code takes two bytes")
    code = int.from_bytes(payload[:2], "big")
    if not (1000 <= code <= 1003 or 1007 <= code <= 1011 or 3000 <= code <= 4999):
        raise Violation(PROTOCOL_ERROR, f"close code {code} may not be sent")
    try:
        return code, payload[2:].decode()
    except UnicodeDecodeError:
        raise Violation(INVALID_DATA, "close reason is not UTF-8") from None


class FrameReader:
    """Client frames in, whole messages out: ``(TEXT, str)``, ``(BINARY, bytes)`` and control
    frames as ``(opcode, payload)``. A data message larger than ``limit`` bytes, whole or in
    fragments, is refused as soon as a header announces it."""

    __slots__ = ("_buffer", "_fragments", "_kind", "_limit", "_size")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buffer = b""
        self._fragments: list[bytes] = []
        self._kind = 0  # opcode of the fragmented message under way, 0 when none
        self._size = 0

    def whole_text(self, data: bytes) -> str | None:
        """The text of ``data`` if it is one whole short text frame with nothing under way
        before it, else None, for ``feed``. Such a read is nearly every read (a device's ack),
        and is read here without ``feed``'s loop and the list and tuple it returns (its header's
        rules hold by the shape checked): the gateway's ack from frame to delivery then costs
        25,560 instructions, against 26,640 through ``feed`` (bench/gateway_loop.py, callgrind)."""
        size = len(data) - 6
        if (
            0 <= size < 126
            and data[0] == _WHOLE_TEXT
            and data[1] == 0x80 | size
            and not self._buffer
            and not self._kind
            and size <= self._limit
        ):
            return _text(_unmask(data[6:], data[2:6]))
        return None

    def feed(self, data: bytes) -> list[tuple[int, str | bytes]]:
        """The messages ``data`` completes."""
        buffer = self._buffer + data if self._buffer else data
        end = len(buffer)
        at = 0
        out: list[tuple[int, str | bytes]] = []
        while end - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            if first & 0x70:
                raise Violation(PROTOCOL_ERROR, "reserved bits set; no extension was agreed")
            if not second & 0x80:
                raise Violation(PROTOCOL_ERROR, "client frames must be masked")
            opcode = first & 0x0F
            size = second & 0x7F
            head = at + 2
            if size == 126:
                if end - at < 4:
                    break
                size = int.from_bytes(buffer[head : head + 2], "big")
                head += 2
            elif size == 127:
                if end - at < 10:
                    break
                size = int.from_bytes(buffer[head : head + 8], "big")
                head += 8
            if opcode >= 8:
                if not first & 0x80 or size > 125:
                    raise Violation(PROTOCOL_ERROR, "control frames are unfragmented, ≤ 125 bytes")
            elif size + self._size > self._limit:
                raise Violation(TOO_BIG, f"message larger than {self._limit} bytes")
            start = head + 4
            if end < start + size:
                break
            payload = _unmask(buffer[start : start + size], buffer[head:start])
            at = start + size
            if opcode >= 8:
                if opcode > PONG:
                    raise Violation(PROTOCOL_ERROR, f"unknown opcode {opcode}")
                out.append((opcode, payload))
                continue
            message = self._data(opcode, bool(first & 0x80), payload)
            if message is not None:
                out.append(message)
        self._buffer = buffer[at:] if at < end else b""
        return out

    def _data(self, opcode: int, fin: bool, payload: bytes) -> tuple[int, str | bytes] | None:
        if opcode == CONTINUATION:
            if not self._kind:
                raise Violation(PROTOCOL_ERROR, "continuation frame with no message under way")
            self._fragments.append(payload)
            self._size += len(payload)
            if not fin:
                return None
            opcode, payload = self._kind, b"".join(self._fragments)
            self._fragments, self._kind, self._size = [], 0, 0
        elif opcode > BINARY:
            raise Violation(PROTOCOL_ERROR, f"unknown opcode {opcode}")
        elif self._kind:
            raise Violation(PROTOCOL_ERROR, "a new message began before the last one ended")
        elif not fin:
            self._kind, self._fragments, self._size = opcode, [payload], len(payload)
            return None
        if opcode == BINARY:
            return BINARY, payload
        return TEXT, _text(payload)


_WHOLE_TEXT = 0x80 | TEXT


def _text(payload: bytes) -> str:
    try:
        return payload.decode()
    except UnicodeDecodeError:
        raise Violation(INVALID_DATA, "text frame is not UTF-8") from None


def _unmask(payload: bytes, mask: bytes) -> bytes:
    """The XOR on two Python ints, each made in one C call: websockets' ``apply_mask`` (C) takes
    0.1 µs for an ack's 30 bytes against 0.5, but a server that imports websockets loads it at
    every start for that alone (tests/test_startup.py)."""
    size = len(payload)
    if not size:
        return payload
    key = (mask * (size // 4 + 1))[:size]
    return (_from_bytes(payload, "little") ^ _from_bytes(key, "little")).to_bytes(size, "little")


# ``int.from_bytes`` bound once: a class method looked up on ``int`` is a new bound method at
# every call, and unmasking an ack made two (callgrind: 5,990 instructions an unmask, 4,860 so).
_from_bytes = int.from_bytes
