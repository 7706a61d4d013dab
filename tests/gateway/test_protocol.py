"""The device protocol driven with frames, no sockets: every transition and every refusal."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tidings.contract import DeviceAddress, Outbound, Payload, PushOptions
from tidings.gateway import protocol
from tidings.gateway.protocol import (
    Ack,
    Activity,
    DeviceProtocol,
    Open,
    Ping,
    Register,
    Report,
    Resume,
    StartToken,
    State,
    Violation,
)

REGISTER = {"type": "register", "appId": "A", "workspaceId": "W", "platform": "android"}


def ready() -> DeviceProtocol:
    machine = DeviceProtocol(1024)
    machine.receive(json.dumps(REGISTER))
    machine.ready()
    return machine


def refusal(machine: DeviceProtocol, frame: str | bytes) -> tuple[int, str]:
    with pytest.raises(Violation) as caught:
        machine.receive(frame)
    assert machine.state is State.CLOSED
    return caught.value.code, caught.value.reason


def test_register_and_resume_open_a_connection() -> None:
    assert DeviceProtocol(1024).receive(json.dumps(REGISTER)) == Register("A", "W", "android")
    resume = {"type": "resume", "appId": "A", "workspaceId": "W"}
    event = DeviceProtocol(1024).receive(
        json.dumps({**resume, "deliveryToken": "t", "secret": "s"})
    )
    assert event == Resume("A", "W", "t", "s")


def test_an_established_connection_takes_acks_opens_and_pings() -> None:
    machine = ready()
    assert machine.receive('{"type":"ack","ids":[3,1,2]}') == Ack((3, 1, 2))
    assert machine.receive('{"type":"open","id":7}') == Open(7)
    assert machine.receive('{"type":"ping"}') == Ping()
    assert machine.receive('{"type":"report","vendor":"hms","token":"t1"}') == Report("hms", "t1")
    activity = '{"type":"activity","activityId":"match-1","pushToken":"ab12"}'
    assert machine.receive(activity) == Activity("match-1", "ab12")
    start = '{"type":"activityStartToken","attributesType":"MatchAttributes","pushToken":"cd34"}'
    assert machine.receive(start) == StartToken("MatchAttributes", "cd34")


def test_a_frame_is_json_as_json_loads_reads_it() -> None:
    """Whitespace around the object is JSON too; anything after it is not."""
    machine = ready()
    assert machine.receive(' \n{"type":"ack","ids":[4]}\t ') == Ack((4,))
    assert machine.receive('{"type":"ping"}\r\n') == Ping()
    for text in ('{"type":"ping"} x', '{"type":"ping"}{"type":"ping"}', '\ufeff{"type":"ping"}'):
        assert refusal(ready(), text) == (protocol.MALFORMED, "frame is not JSON")


@pytest.mark.parametrize(
    ("frame", "code", "words"),
    [
        ('{"type":"ack","ids":[1]}', protocol.POLICY, "first frame must be register or resume"),
        ('{"type":"ping"}', protocol.POLICY, "first frame"),
        ('{"type":"report","vendor":"hms","token":"t"}', protocol.POLICY, "first frame"),
        ("[1, 2]", protocol.MALFORMED, "JSON object"),
        ("{nope", protocol.MALFORMED, "not JSON"),
        (b'{"type":"ping"}', protocol.UNSUPPORTED, "binary"),
        (
            '{"type":"register","appId":"A","workspaceId":"W","platform":"symbian"}',
            1007,
            "platform",
        ),
        ('{"type":"register","appId":"","workspaceId":"W","platform":"ios"}', 1007, "appId"),
        ('{"type":"resume","appId":"A","workspaceId":"W","deliveryToken":"t"}', 1007, "secret"),
        (
            '{"type":"resume","appId":"A","workspaceId":"W","deliveryToken":5,"secret":"s"}',
            1007,
            "deliveryToken",
        ),
        ("x" * 2000, protocol.TOO_BIG, "larger than 1024"),
    ],
)
def test_refusals_before_the_connection_is_established(frame, code: int, words: str) -> None:
    found_code, reason = refusal(DeviceProtocol(1024), frame)
    assert found_code == code and words in reason


@pytest.mark.parametrize(
    ("frame", "code", "words"),
    [
        (json.dumps(REGISTER), protocol.POLICY, "register after the connection is established"),
        ('{"type":"ack","ids":[]}', protocol.MALFORMED, "ids must be a list"),
        ('{"type":"ack","ids":"1"}', protocol.MALFORMED, "ids must be a list"),
        ('{"type":"ack","ids":[1,"2"]}', protocol.MALFORMED, "positive integers"),
        ('{"type":"ack","ids":[0]}', protocol.MALFORMED, "positive integers"),
        ('{"type":"ack","ids":[true]}', protocol.MALFORMED, "positive integers"),
        (json.dumps({"type": "ack", "ids": list(range(1, 1002))}), 1009, "larger"),
        ('{"type":"open","id":-1}', protocol.MALFORMED, "positive integer"),
        ('{"type":"open"}', protocol.MALFORMED, "positive integer"),
        ('{"type":"report","vendor":"nokia","token":"t"}', protocol.MALFORMED, "vendor must"),
        ('{"type":"report","vendor":"fcm"}', protocol.MALFORMED, "token must"),
        (json.dumps({"type": "report", "vendor": "fcm", "token": "t" * 513}), 1007, "at most 512"),
        ('{"type":"activity","pushToken":"ab"}', protocol.MALFORMED, "activityId must"),
        ('{"type":"activity","activityId":"a","pushToken":""}', 1007, "pushToken must"),
        (
            json.dumps({"type": "activity", "activityId": "a" * 129, "pushToken": "ab"}),
            1007,
            "at most 128",
        ),
        ('{"type":"activityStartToken","pushToken":"ab"}', 1007, "attributesType must"),
        ('{"type":"activityStartToken","attributesType":"M"}', 1007, "pushToken must"),
        ('{"type":"subscribe"}', protocol.POLICY, "unknown frame type 'subscribe'"),
        ('{"kind":"ping"}', protocol.POLICY, "unknown frame type None"),
    ],
)
def test_refusals_once_established(frame: str, code: int, words: str) -> None:
    machine = ready()
    machine.max_frame = 5000 if code != 1009 else 1024
    found_code, reason = refusal(machine, frame)
    assert found_code == code and words in reason


def as_the_parser_reads(text: str) -> Ack | int:
    """What an established connection makes of ``text``, an ack in some shape, by json.loads
    and the protocol's rules for ids: the Ack, or the close code."""
    try:
        frame = json.loads(text)
    except ValueError:
        return protocol.MALFORMED
    ids = frame["ids"]
    if 1 <= len(ids) <= 1000 and all(type(i) is int and i >= 1 for i in ids):
        return Ack(tuple(ids))
    return protocol.MALFORMED


ID_TEXTS = st.one_of(
    st.integers(min_value=-3, max_value=10**25).map(str),
    st.sampled_from(["01", "007", "٣", "1٣", "1e3", "1.0", "-0", " 1", "1 ", "1" * 5000, '"1"']),
)
COMPACT = '{"type":"ack","ids":['


@example(["1٣"], COMPACT, ",", "]}")  # a digit, but not one JSON has
@example(["1" * 5000], COMPACT, ",", "]}")  # more digits than int() reads
@example(["1" * 19], COMPACT, ",", "]}")
@given(
    st.lists(ID_TEXTS, min_size=1, max_size=3),
    st.sampled_from([COMPACT, '{"type": "ack", "ids": [', '{"type":"ack", "ids":[']),
    st.sampled_from([",", ", "]),
    st.sampled_from(["]}", "] }", "]}\n"]),
)
def test_an_ack_reads_as_the_json_parser_reads_it(
    ids: list[str], head: str, comma: str, tail: str
) -> None:
    """The shape clients send an ack in is read without the parser: every spelling of it reads
    as the parser and the rules for ids read it (digits only ASCII ones, no leading zero, an id
    however long)."""
    text = head + comma.join(ids) + tail
    machine = DeviceProtocol(100_000)
    machine.ready()
    try:
        got: Ack | int = machine.receive(text)  # type: ignore[assignment]
    except Violation as violation:
        got = violation.code
    assert got == as_the_parser_reads(text)


def test_too_many_ids_in_one_ack_is_malformed() -> None:
    machine = DeviceProtocol(100_000)
    machine.receive(json.dumps(REGISTER))
    machine.ready()
    code, reason = refusal(machine, json.dumps({"type": "ack", "ids": list(range(1, 1002))}))
    assert code == protocol.MALFORMED and "1000" in reason


def test_nothing_is_accepted_after_a_violation() -> None:
    machine = ready()
    refusal(machine, "{nope")
    code, _ = refusal(machine, '{"type":"ping"}')
    assert code == protocol.POLICY


def test_the_close_frame_names_code_and_reason() -> None:
    machine = ready()
    assert json.loads(machine.close(4001, "why")) == {
        "type": "error",
        "code": 4001,
        "reason": "why",
    }
    assert machine.state is State.CLOSED


def test_a_message_frame_carries_everything_the_device_shows() -> None:
    options = PushOptions(notify_type="transparent", silent=1, push_action=1)
    item = Outbound(
        42,
        "selfbuilt",
        DeviceAddress(1, "tok", "android", "android", None),
        Payload(9, "k1", "T", "Hello 张三", "https://x", {"a": "1"}, 1234),
        options,
    )
    assert json.loads(protocol.message(item)) == {
        "type": "message",
        "id": 42,
        "taskId": "9",
        "msgKey": "k1",
        "title": "T",
        "content": "Hello 张三",
        "uri": "https://x",
        "extendedParams": {"a": "1"},
        "notifyType": "transparent",
        "silent": 1,
        "pushAction": 1,
        "expiresAt": 1234,
    }


@given(st.one_of(st.text(max_size=300), st.binary(max_size=50), st.none()))
def test_arbitrary_frames_either_parse_or_violate(frame) -> None:
    for machine in (DeviceProtocol(256), ready()):
        try:
            machine.receive(frame)
        except Violation as violation:
            assert violation.code in (1003, 1007, 1008, 1009) and violation.reason


@given(
    st.dictionaries(
        st.sampled_from(["type", "appId", "workspaceId", "platform", "ids", "id", "secret"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers())),
    )
)
def test_arbitrary_json_objects_either_parse_or_violate(frame: dict) -> None:
    for machine in (DeviceProtocol(10_000), ready()):
        try:
            machine.receive(json.dumps(frame))
        except Violation as violation:
            assert violation.code in (1007, 1008, 1009)
