"""The self-built channel end to end: ``tidings serve``, the official SDK pushing, and devices
that are real ``tidings device listen`` processes (or raw WebSocket clients where the test is
about the protocol itself). Each test uses its own users and msgKeys on one shared server."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from alibabacloud_mpaas20201028 import models
from sqlalchemy import text

from tests.conftest import BACKENDS
from tests.support.clients import new_sdk
from tests.support.devices import Listener, bind, push_multiple
from tests.support.servers import Server, running_server
from tests.support.stored import connection

APP_ID = "ONEX570DA89211721"
WORKSPACE = "test"
TEMPLATE = "Prize template"
_keys = itertools.count()


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One server per backend; a short sweep so expiry shows in the stored status quickly."""
    data_dir = tmp_path_factory.mktemp(f"delivery-{request.param}")
    with running_server(
        request.param, data_dir, {"TIDINGS_DELIVERY_SWEEP_SECONDS": "0.5"}
    ) as running:
        running.create_app(WORKSPACE, APP_ID)
        running.create_app(WORKSPACE, "OTHERAPP")
        yield running


@pytest.fixture(scope="module")
def sdk(server: Server):
    client = new_sdk(server, server.create_key(WORKSPACE))
    client.create_template(
        models.CreateTemplateRequest(
            app_id=APP_ID,
            workspace_id=WORKSPACE,
            template_name=TEMPLATE,
            title="Congratulations",
            content="Hello #name#, congratulations on winning #money# yuan",
            uri="https://example.com/prize/#money#",
        )
    )
    return client


@pytest.fixture
def devices(server: Server, tmp_path: Path) -> Iterator:
    """Start listeners (each with its own state file); all are stopped after the test."""
    started: list[Listener] = []

    def start(*extra: str, state: Path | None = None, app_id: str = APP_ID) -> Listener:
        path = state or tmp_path / f"device-{len(started)}.json"
        listener = Listener(server, app_id, WORKSPACE, path, *extra)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.stop()


def key(label: str) -> str:
    return f"{label}-{time.time_ns()}-{next(_keys)}"


def prize(name: str = "Zhang San", money: str = "200") -> dict[str, str]:
    return {"name": name, "money": money}


def statuses(server: Server, msg_key: str) -> list[int]:
    with connection(server) as conn:
        rows = conn.execute(
            text(
                "SELECT d.status FROM deliveries d JOIN messages m ON m.pk = d.message_pk "
                "WHERE m.msg_key = :key ORDER BY d.id"
            ),
            {"key": msg_key},
        )
        return [row[0] for row in rows]


async def registered(url: str, count: int) -> list[tuple[str, str]]:
    """``count`` android devices registered over raw WebSockets: (DeliveryToken, secret) each."""

    async def register() -> tuple[str, str]:
        async with websockets.connect(url) as socket:
            hello = {"appId": APP_ID, "workspaceId": WORKSPACE}
            await socket.send(json.dumps({**hello, "type": "register", "platform": "android"}))
            answer = json.loads(await socket.recv())
        return answer["deliveryToken"], answer["secret"]

    return list(await asyncio.gather(*(register() for _ in range(count))))


def wait_for_statuses(server: Server, msg_key: str, wanted: list[int], timeout: float = 10):
    deadline = time.monotonic() + timeout
    while (found := statuses(server, msg_key)) != wanted:
        assert time.monotonic() < deadline, f"{msg_key}: statuses {found}, wanted {wanted}"
        time.sleep(0.05)


def device_state(sdk, target_type: int, target: str):
    return sdk.push_query_device_state(
        models.PushQueryDeviceStateRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, target_type=target_type, target=target
        )
    ).body


def test_the_seed_example_reaches_the_bound_device(server: Server, sdk, devices) -> None:
    device = devices()
    token = device.connected()["DeliveryToken"]
    assert bind(sdk, APP_ID, WORKSPACE, token, "userid1024").push_result.success
    msg_key = str(int(time.time() * 1000))
    task_id = push_multiple(
        sdk, APP_ID, WORKSPACE, TEMPLATE, [("userid1024", msg_key, prize())], delivery_type=3
    )
    (message,) = device.messages(1)
    assert message["content"] == "Hello Zhang San, congratulations on winning 200 yuan"
    assert message["title"] == "Congratulations"
    assert message["uri"] == "https://example.com/prize/200"
    assert (message["msgKey"], message["taskId"]) == (msg_key, task_id)
    wait_for_statuses(server, msg_key, [2])


def test_an_offline_device_gets_its_message_when_it_comes_back(
    server: Server, sdk, devices, tmp_path: Path
) -> None:
    state = tmp_path / "phone.json"
    first = devices(state=state)
    token = first.connected()["DeliveryToken"]
    assert device_state(sdk, 1, token).data.statue == "ONLINE"
    first.stop()
    deadline = time.monotonic() + 10
    while device_state(sdk, 1, token).data.statue != "OFFLINE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    msg_key = key("offline")
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, [(token, msg_key, prize("Li Si", "5"))])
    wait_for_statuses(server, msg_key, [0])
    again = devices(state=state)
    assert again.connected() == {"event": "resumed", "DeliveryToken": token}
    (message,) = again.messages(1)
    assert (message["msgKey"], message["content"]) == (
        msg_key,
        "Hello Li Si, congratulations on winning 5 yuan",
    )
    wait_for_statuses(server, msg_key, [2])
    again.quiet(0.3)  # delivered once, not again after the ack


def test_a_message_that_expired_offline_is_never_delivered(
    server: Server, sdk, devices, tmp_path: Path
) -> None:
    state = tmp_path / "late.json"
    first = devices(state=state)
    token = first.connected()["DeliveryToken"]
    first.stop()
    stale = key("stale")
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, [(token, stale, prize())], expired_seconds=1)
    wait_for_statuses(server, stale, [3], timeout=5)  # the sweep expires it
    again = devices(state=state)
    again.connected()
    fresh = key("fresh")
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, [(token, fresh, prize())])
    (message,) = again.messages(1)
    assert message["msgKey"] == fresh
    again.quiet(0.3)
    assert statuses(server, stale) == [3]


def test_a_user_with_two_devices_gets_the_message_on_both(server: Server, sdk, devices) -> None:
    user = key("user")
    phone, tablet = devices(), devices("--platform", "harmonyos")
    for device, os_type in ((phone, 1), (tablet, 7)):
        bind(sdk, APP_ID, WORKSPACE, device.connected()["DeliveryToken"], user, os_type)
    msg_key = key("both")
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, [(user, msg_key, prize())], delivery_type=3)
    (on_phone,), (on_tablet,) = phone.messages(1), tablet.messages(1)
    assert on_phone["msgKey"] == on_tablet["msgKey"] == msg_key
    assert on_phone["id"] != on_tablet["id"]  # one delivery per device
    wait_for_statuses(server, msg_key, [2, 2])


def test_a_binding_made_within_validity_delivers_what_waited(server: Server, sdk, devices) -> None:
    user = key("later")
    msg_key = key("waiting")
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, [(user, msg_key, prize())], delivery_type=3)
    wait_for_statuses(server, msg_key, [1])  # NoBindInfo
    device = devices()
    bind(sdk, APP_ID, WORKSPACE, device.connected()["DeliveryToken"], user)
    (message,) = device.messages(1)
    assert message["msgKey"] == msg_key
    wait_for_statuses(server, msg_key, [2])


def test_an_unbound_device_no_longer_gets_the_users_messages(server: Server, sdk, devices) -> None:
    user = key("leaving")
    device = devices()
    token = device.connected()["DeliveryToken"]
    bind(sdk, APP_ID, WORKSPACE, token, user)
    answer = sdk.push_un_bind(
        models.PushUnBindRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=token, user_id=user
        )
    ).body
    assert answer.push_result.success, answer
    to_user, to_device = key("to-user"), key("to-device")
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, [(user, to_user, prize())], delivery_type=3)
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, [(token, to_device, prize())])
    (message,) = device.messages(1)
    assert message["msgKey"] == to_device  # the device still works, but as nobody's
    wait_for_statuses(server, to_user, [1])
    device.quiet(0.3)


def test_options_and_extension_parameters_reach_the_device(server: Server, sdk, devices) -> None:
    device = devices()
    token = device.connected()["DeliveryToken"]
    msg_key = key("options")
    push_multiple(
        sdk,
        APP_ID,
        WORKSPACE,
        TEMPLATE,
        [(token, msg_key, prize())],
        notify_type="transparent",
        silent=1,
        push_action=1,
        extended_params=json.dumps({"campaign": "spring", "shared": "unified"}),
        per_target={msg_key: {"seat": "12A", "shared": "own"}},
    )
    (message,) = device.messages(1)
    assert message["notifyType"] == "transparent"
    assert (message["silent"], message["pushAction"]) == (1, 1)
    assert message["extendedParams"] == {"campaign": "spring", "seat": "12A", "shared": "own"}


def test_resume_with_a_wrong_secret_is_refused(server: Server, devices, tmp_path: Path) -> None:
    state = tmp_path / "stolen.json"
    first = devices(state=state)
    token = first.connected()["DeliveryToken"]
    first.stop()
    with sqlite3.connect(state) as saved:
        saved.execute("UPDATE credentials SET value = 'guessed' WHERE name = 'secret'")
    thief = devices(state=state)
    assert thief.next() == {
        "event": "refused",
        "code": 4001,
        "reason": "unknown DeliveryToken or wrong secret",
    }
    assert thief.exit_code() == 2
    # The DeliveryToken alone, with no secret, is not a way in either.
    closed = asyncio.run(_resume(server, token, ""))
    assert closed[0] == 1007


async def _resume(server: Server, token: str, secret: str) -> tuple[int, str]:
    async with websockets.connect(server.url.replace("http", "ws") + "/device") as socket:
        hello = {"type": "resume", "appId": APP_ID, "workspaceId": WORKSPACE}
        await socket.send(json.dumps({**hello, "deliveryToken": token, "secret": secret}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await socket.recv()
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_query_device_state_reports_presence_by_platform(server: Server, sdk, devices) -> None:
    android, ios = devices(), devices("--platform", "ios")
    android_token = android.connected()["DeliveryToken"]
    ios_token = ios.connected()["DeliveryToken"]
    user = key("owner")
    bind(sdk, APP_ID, WORKSPACE, android_token, user)
    by_device = device_state(sdk, 1, android_token)
    assert (by_device.success, by_device.code) == (True, "100")
    assert by_device.data.statue == "ONLINE"
    assert (by_device.data.platform, by_device.data.user_id) == ("android", user)
    assert device_state(sdk, 2, user).data.delivery_token == android_token
    assert device_state(sdk, 1, ios_token).data.statue == "UNKNOW"  # iOS presence: APNs'
    unknown = device_state(sdk, 1, "no-such-device")
    assert (unknown.success, unknown.code) == (False, "3028")
    assert "no-such-device" in unknown.message


def test_device_actions_refuse_bad_input_with_their_codes(server: Server, sdk, devices) -> None:
    token = devices().connected()["DeliveryToken"]

    def bind_with(**fields):
        request = models.PushBindRequest(app_id=APP_ID, workspace_id=WORKSPACE, **fields)
        return sdk.push_bind(request).body

    missing_token = bind_with(os_type=1, user_id="u")
    assert missing_token.result_code == "3001"
    assert "DeliveryToken" in missing_token.result_message
    assert bind_with(delivery_token=token, os_type=1).result_code == "3012"
    wrong_os = bind_with(delivery_token=token, os_type=2, user_id="u")
    assert (wrong_os.result_code, wrong_os.push_result.success) == ("3028", False)
    assert "OsType" in wrong_os.result_message
    unknown = bind_with(delivery_token="nobody", os_type=1, user_id="u")
    assert unknown.result_code == "3028" and "nobody" in unknown.result_message
    other_user = sdk.push_un_bind(
        models.PushUnBindRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, delivery_token=token, user_id="u"
        )
    ).body
    assert other_user.result_code == "OK"  # not bound: unbinding is a no-op


def test_push_report_adds_a_vendor_device(server: Server, sdk) -> None:
    apns_token = key("apns")
    answer = sdk.push_report(
        models.PushReportRequest(
            app_id=APP_ID,
            workspace_id=WORKSPACE,
            delivery_token=apns_token,
            os_type=2,
            third_channel=1,
            third_channel_device_token=apns_token,
            model="iPhone15,2",
            imei="not kept",
        )
    ).body
    assert answer.result_code == "OK", answer
    state = device_state(sdk, 1, apns_token).data
    assert (state.platform, state.manufacturer, state.third_token) == ("ios", "ios", apns_token)
    bad = sdk.push_report(
        models.PushReportRequest(
            app_id=APP_ID,
            workspace_id=WORKSPACE,
            delivery_token=apns_token,
            os_type=2,
            third_channel=99,
            third_channel_device_token="x",
        )
    ).body
    assert bad.result_code == "3028" and "ThirdChannel" in bad.result_message
    with connection(server) as conn:
        facts = conn.execute(
            text("SELECT facts FROM devices WHERE token = :t"), {"t": apns_token}
        ).scalar_one()
    assert json.loads(facts) == {"Model": "iPhone15,2"}  # the IMEI is not stored


def test_bad_frames_close_only_their_own_connection(server: Server, sdk, devices) -> None:
    device = devices()
    token = device.connected()["DeliveryToken"]
    url = server.url.replace("http", "ws") + "/device"

    async def closed_by(*frames: str | bytes) -> tuple[int, str]:
        async with websockets.connect(url, max_size=None) as socket:
            for frame in frames:
                await socket.send(frame)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await socket.recv()
        return closed.value.rcvd.code, closed.value.rcvd.reason

    async def all_of_them() -> list[tuple[int, str]]:
        register = json.dumps(
            {"type": "register", "appId": APP_ID, "workspaceId": WORKSPACE, "platform": "android"}
        )
        return await asyncio.gather(
            closed_by("{not json"),
            closed_by(b"\x00\x01"),
            closed_by("x" * 200_000),
            closed_by('{"type": "ack", "ids": [1]}'),
            closed_by(register, '{"type": "ack", "ids": ["1"]}'),
            closed_by(register, register),
            closed_by(register.replace(APP_ID, "NOSUCHAPP")),
            closed_by(register.replace("android", "symbian")),
        )

    codes = asyncio.run(all_of_them())
    assert [code for code, _ in codes] == [1007, 1003, 1009, 1008, 1007, 1008, 4004, 1007]
    assert all(reason for _, reason in codes[:2] + codes[3:])
    msg_key = key("still-fine")
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, [(token, msg_key, prize())])
    assert device.messages(1)[0]["msgKey"] == msg_key


def test_devices_resuming_at_once_each_get_their_own_messages(server: Server, sdk) -> None:
    """Devices resuming together are looked up, and read what they are owed, in shared calls
    (tidings/gathering.py): each still gets exactly its own message, and a wrong secret among
    them is refused alone."""
    url = server.url.replace("http", "ws") + "/device"
    hello = {"appId": APP_ID, "workspaceId": WORKSPACE}

    async def resume(token: str, secret: str) -> list[str]:
        async with websockets.connect(url) as socket:
            frame = {**hello, "type": "resume", "deliveryToken": token, "secret": secret}
            await socket.send(json.dumps(frame))
            answer = json.loads(await socket.recv())
            if answer["type"] != "resumed":
                return [answer["type"], str(answer["code"])]
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            await socket.send(json.dumps({"type": "ack", "ids": [message["id"]]}))
            return [message["msgKey"]]

    devices = asyncio.run(registered(url, 13))
    owed = {token: key("storm") for token, _ in devices[:12]}
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, [(t, k, prize()) for t, k in owed.items()])
    for msg_key in owed.values():
        wait_for_statuses(server, msg_key, [0])

    async def storm() -> list[list[str]]:
        resumes = [resume(token, secret) for token, secret in devices[:12]]
        return await asyncio.gather(*resumes, resume(devices[12][0], "guessed"))

    *received, refused = asyncio.run(storm())
    assert received == [[owed[token]] for token, _ in devices[:12]]
    assert refused == ["error", "4001"]
    for msg_key in owed.values():
        wait_for_statuses(server, msg_key, [2])


def test_an_ack_sent_just_before_leaving_counts_while_other_work_runs(server: Server, sdk) -> None:
    """A frame that needs the database (here a vendor report) holds the frames behind it until
    it is done; an ack among them still counts when the device has closed meanwhile."""
    url = server.url.replace("http", "ws") + "/device"
    hello = {"appId": APP_ID, "workspaceId": WORKSPACE}

    [(token, secret)] = asyncio.run(registered(url, 1))
    msg_key = key("leaving")
    push_multiple(sdk, APP_ID, WORKSPACE, TEMPLATE, [(token, msg_key, prize())])
    wait_for_statuses(server, msg_key, [0])

    async def receive_then_leave() -> None:
        async with websockets.connect(url) as socket:
            frame = {**hello, "type": "resume", "deliveryToken": token, "secret": secret}
            await socket.send(json.dumps(frame))
            assert json.loads(await socket.recv())["type"] == "resumed"
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            await socket.send(json.dumps({"type": "report", "vendor": "fcm", "token": "t" * 40}))
            await socket.send(json.dumps({"type": "ack", "ids": [message["id"]]}))

    asyncio.run(receive_then_leave())
    wait_for_statuses(server, msg_key, [2])
