"""The device protocol as a state machine over text frames, with no I/O of its own.

The server feeds it each frame it receives and gets back an event to act on, or a
``Violation`` that says how to close the connection and why; it asks it for the text of every
frame it sends. docs/device-protocol.md is the specification this module implements.

A connection starts in HELLO, where only ``register`` and ``resume`` are accepted; once the
server has authenticated the device it calls ``ready()``, after which only ``ack``, ``open``,
``revoked``, ``report``, ``activity``, ``activityStartToken`` and ``ping`` are.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from typing import Any, NamedTuple

from tidings.channels.catalog import VENDORS
from tidings.contract import PLATFORMS, Outbound, PushOptions, Recall, maker
from tidings.devices.rules import MAX_ACTIVITY_ID, MAX_ATTRIBUTES_TYPE, MAX_THIRD_TOKEN

# Close codes (RFC 6455 §7.4 and the 4000-4999 range kept for applications).
UNSUPPORTED = 1003  # a binary frame
MALFORMED = 1007  # not JSON, or a field of the wrong type
POLICY = 1008  # a frame not allowed in this state, or of an unknown type
TOO_BIG = 1009
GOING_AWAY = 1001  # the server is stopping; connect again (to another server)
SERVER_ERROR = 1011
REPLACED = 4000  # the same device connected again; the newer connection wins
REFUSED = 4001  # resume with an unknown DeliveryToken or a wrong secret
UNKNOWN_APP = 4004  # no such AppId in that WorkspaceId
SILENT = 4008  # nothing heard for too long (missed heartbeats), or no register/resume in time
SLOW = 4009  # messages sent and not acknowledged for too long

MAX_TEXT_FIELD = 256
MAX_IDS_PER_ACK = 1000


class Violation(Exception):
    """Close the connection with ``code``; ``reason`` says why (at most 123 bytes on the wire)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Register(NamedTuple):
    app_id: str
    workspace_id: str
    platform: str


class Resume(NamedTuple):
    app_id: str
    workspace_id: str
    delivery_token: str
    secret: str


class Ack(NamedTuple):
    ids: tuple[int, ...]


class Open(NamedTuple):
    id: int


class Revoked(NamedTuple):
    """The device withdrew these revoked deliveries (or never had them)."""

    ids: tuple[int, ...]


class Report(NamedTuple):
    """The device's push token on a vendor channel (what PushReport records, from the device)."""

    vendor: str
    token: str


class Activity(NamedTuple):
    """A Live Activity the device started: its id and the APNs push token ActivityKit gave it
    (sent again whenever ActivityKit renews the token)."""

    activity_id: str
    push_token: str


class StartToken(NamedTuple):
    """The push-to-start token ActivityKit gave the device for one ActivityAttributes type
    (iOS 17.2+; sent again whenever it changes)."""

    attributes_type: str
    push_token: str


class Ping(NamedTuple):
    pass


Event = Register | Resume | Ack | Open | Revoked | Report | Activity | StartToken | Ping
PING = Ping()


class State(Enum):
    HELLO = "hello"
    READY = "ready"
    CLOSED = "closed"


# Read by every frame: an Enum member looked up on its class costs 0.07 µs (Python 3.11), and
# ``receive`` looked up two.
_HELLO, _CLOSED = State.HELLO, State.CLOSED


class DeviceProtocol:
    __slots__ = ("max_frame", "state")

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self.state = State.HELLO

    def receive(self, data: str | bytes | None) -> Event:
        """The event one received frame carries; raises ``Violation`` for a frame that ends the
        connection."""
        state = self.state
        if state is _CLOSED:
            raise Violation(POLICY, "the connection is closing")
        if not isinstance(data, str):
            raise self._fail(UNSUPPORTED, "frames are JSON text; binary frames are not accepted")
        if len(data) > self.max_frame:
            raise self._fail(TOO_BIG, f"frame larger than {self.max_frame} characters")
        if state is not _HELLO:
            ack = _plain_ack(data)
            if ack is not None:
                return ack
        try:
            frame = _json(data)
        except (ValueError, RecursionError):
            raise self._fail(MALFORMED, "frame is not JSON") from None
        if not isinstance(frame, dict):
            raise self._fail(MALFORMED, "frame must be a JSON object")
        kind = frame.get("type")
        if state is _HELLO:
            if kind == "register":
                return self._register(frame)
            if kind == "resume":
                return self._resume(frame)
            raise self._fail(POLICY, f"first frame must be register or resume, not {_show(kind)}")
        if kind == "ack":
            return Ack(self._ids(frame))
        if kind == "open":
            return Open(self._id(frame, "id"))
        if kind == "revoked":
            return Revoked(self._ids(frame))
        if kind == "report":
            return self._report(frame)
        if kind == "activity":
            return Activity(
                self._text(frame, "activityId", MAX_ACTIVITY_ID),
                self._text(frame, "pushToken", MAX_THIRD_TOKEN),
            )
        if kind == "activityStartToken":
            return StartToken(
                self._text(frame, "attributesType", MAX_ATTRIBUTES_TYPE),
                self._text(frame, "pushToken", MAX_THIRD_TOKEN),
            )
        if kind == "ping":
            return PING
        if kind in ("register", "resume"):
            raise self._fail(POLICY, f"{kind} after the connection is established")
        raise self._fail(POLICY, f"unknown frame type {_show(kind)}")

    def ready(self) -> None:
        """The device is authenticated: deliveries may flow."""
        self.state = State.READY

    def close(self, code: int, reason: str) -> str:
        """The error frame to send before closing with ``code``."""
        self.state = State.CLOSED
        return error(code, reason)

    def _fail(self, code: int, reason: str) -> Violation:
        self.state = State.CLOSED
        return Violation(code, reason)

    def _register(self, frame: dict[str, Any]) -> Register:
        platform = self._text(frame, "platform")
        if platform not in PLATFORMS:
            raise self._fail(MALFORMED, f"platform must be one of {', '.join(PLATFORMS)}")
        return Register(self._text(frame, "appId"), self._text(frame, "workspaceId"), platform)

    def _resume(self, frame: dict[str, Any]) -> Resume:
        return Resume(
            self._text(frame, "appId"),
            self._text(frame, "workspaceId"),
            self._text(frame, "deliveryToken"),
            self._text(frame, "secret"),
        )

    def _report(self, frame: dict[str, Any]) -> Report:
        vendor = self._text(frame, "vendor")
        if vendor not in VENDORS:
            raise self._fail(MALFORMED, f"vendor must be one of {', '.join(VENDORS)}")
        return Report(vendor, self._text(frame, "token", MAX_THIRD_TOKEN))

    def _text(self, frame: dict[str, Any], name: str, longest: int = MAX_TEXT_FIELD) -> str:
        value = frame.get(name)
        if not isinstance(value, str) or not value or len(value) > longest:
            raise self._fail(MALFORMED, f"{name} must be a non-empty string of at most {longest}")
        return value

    def _id(self, frame: dict[str, Any], name: str) -> int:
        value = frame.get(name)
        if type(value) is not int or value < 1:
            raise self._fail(MALFORMED, f"{name} must be a delivery id (a positive integer)")
        return value

    def _ids(self, frame: dict[str, Any]) -> tuple[int, ...]:
        ids = frame.get("ids")
        if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS_PER_ACK:
            raise self._fail(MALFORMED, f"ids must be a list of 1 to {MAX_IDS_PER_ACK} ids")
        for i in ids:  # a loop, not all() over a generator: half the cost for an ack's one id
            if type(i) is not int or i < 1:
                raise self._fail(MALFORMED, "ids must hold delivery ids (positive integers)")
        return tuple(ids)


# An ack of one id as clients write it, with json.dumps's spacing or none (device_client, the
# benches); an id of at most 19 digits, so a longer one meets the parser's checks, not int()'s.
_PLAIN_ACK = re.compile(r'\{"type": ?"ack", ?"ids": ?\[([1-9][0-9]{0,18})\]\}').fullmatch
_ack = maker(Ack)


def _plain_ack(data: str) -> Ack | None:
    """An ack of one id in the shape clients send it, read without the JSON parser: nearly
    every frame a device sends is one, and with the parser, the dict it makes and the checks of
    its fields ``receive`` took 1.76 µs for it, against 0.8 so. Anything else, other spacing,
    key order or more ids, is None and goes through the parser and the field checks; what
    matches is valid JSON holding exactly the ack they would accept (ASCII digits, no leading
    zero)."""
    match = _PLAIN_ACK(data)
    return None if match is None else _ack(((int(match[1]),),))


def _json(data: str) -> Any:
    """``json.loads(data)``, read with the decoder's ``raw_decode`` when ``data`` is one JSON
    value with nothing around it, as clients send frames: ``json.loads`` wraps the same scanner
    in two regular-expression passes for the whitespace around the value, which cost more than
    the scan itself for an ack frame (1.3 µs against 0.6). Anything else, whitespace or not
    JSON, is ``json.loads``'s to accept or refuse."""
    try:
        value, end = _raw_decode(data)
        if end == len(data):
            return value
    except ValueError:
        pass
    return json.loads(data)


_raw_decode = json.JSONDecoder().raw_decode


def registered(delivery_token: str, secret: str, heartbeat: int) -> str:
    return _encode(
        {
            "type": "registered",
            "deliveryToken": delivery_token,
            "secret": secret,
            "heartbeat": heartbeat,
        }
    )


def resumed(delivery_token: str, heartbeat: int) -> str:
    return _encode({"type": "resumed", "deliveryToken": delivery_token, "heartbeat": heartbeat})


PONG = '{"type":"pong"}'


def reported(vendor: str) -> str:
    return _encode({"type": "reported", "vendor": vendor})


def activity_registered(activity_id: str) -> str:
    return _encode({"type": "activityRegistered", "activityId": activity_id})


def start_token_registered(attributes_type: str) -> str:
    return _encode({"type": "activityStartTokenRegistered", "attributesType": attributes_type})


def error(code: int, reason: str) -> str:
    """The frame sent just before the server closes the connection with ``code``."""
    return _encode({"type": "error", "code": code, "reason": reason})


_string = json.encoder.encode_basestring  # a JSON string, as json.dumps(ensure_ascii=False)


def message(item: Outbound) -> str:
    """The message frame, written straight as text: it is built for every delivery sent. The
    ids are ints (``Outbound``, ``Payload``), whose digits need neither ``int()`` nor escaping."""
    payload = item.payload
    uri = payload.uri
    return (
        f'{{"type":"message","id":{item.id},"taskId":"{payload.task_id}"'
        f',"msgKey":{_string(payload.msg_key)},"title":{_string(payload.title)}'
        f',"content":{_string(payload.content)},"uri":{"null" if uri is None else _string(uri)}'
        f"{_last_end.of(payload.extended_params, item.options, payload.expires_at)}"
    )


def _end(extended: dict[str, str], options: PushOptions, expires_at: int) -> str:
    """A message frame's fields after its own text: from its task's options, its extension
    parameters and its validity, often the same for many frames in a row."""
    styled = ""
    if options.push_style or options.image_urls or options.icon_urls:
        styled = (
            f',"pushStyle":{_encode(options.push_style)},"imageUrls":{_encode(options.image_urls)}'
            f',"iconUrls":{_encode(options.icon_urls)}'
        )
    return (
        f',"extendedParams":{_encode(extended)}'
        f',"notifyType":{_string(options.notify_type)},"silent":{int(options.silent)}'
        f',"pushAction":{int(options.push_action)},"expiresAt":{int(expires_at)}{styled}}}'
    )


class _LastEnd:
    """The end (``_end``) of the last message frame written, and the objects it was written
    from. A dispatch sends its tasks' messages one task after another; those of one task share
    its options and, when they have no parameters of their own, its parameters' dict
    (delivery/outbound.py), so a frame whose objects are the same ones gets the same end without
    encoding it again. Both are never changed once made (the options are frozen, a payload's
    parameters only read)."""

    __slots__ = ("expires_at", "extended", "options", "text")

    def __init__(self) -> None:
        self.extended: dict[str, str] | None = None
        self.options: PushOptions | None = None
        self.expires_at = -1
        self.text = ""

    def of(self, extended: dict[str, str], options: PushOptions, expires_at: int) -> str:
        if (
            extended is not self.extended
            or options is not self.options
            or expires_at != self.expires_at
        ):
            self.text = _end(extended, options, expires_at)
            self.extended, self.options, self.expires_at = extended, options, expires_at
        return self.text


_last_end = _LastEnd()


def revoke(item: Recall) -> str:
    """Take back a delivery: the device withdraws it if it has it, and answers ``revoked``."""
    return _encode(
        {"type": "revoke", "id": item.id, "taskId": str(item.task_id), "msgKey": item.msg_key}
    )


# One encoder for every frame: json.dumps with options makes a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
