"""``tidings device``: a device on the command line, for trying pushes out and for tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tidings.channels.registry import VENDORS
from tidings.contract import PLATFORMS

if TYPE_CHECKING:
    from tidings.device_client import DeviceClient, Message

app = typer.Typer(help="Act as a device on the self-built channel.", no_args_is_help=True)


@app.command("listen")
def listen(
    server: Annotated[
        list[str],
        typer.Option(
            help="A server, e.g. http://127.0.0.1:8080; repeat it for every node of a cluster: "
            "the device moves to the next one when its connection is lost"
        ),
    ],
    workspace: Annotated[str, typer.Option(help="mPaaS workspace (WorkspaceId)")],
    app_id: Annotated[str, typer.Option("--app-id", help="mPaaS App ID (AppId)")],
    platform: Annotated[str, typer.Option(help=f"One of {', '.join(PLATFORMS)}")] = "android",
    state: Annotated[
        Path | None,
        typer.Option(help="File keeping the device's token, secret and seen deliveries"),
    ] = None,
    count: Annotated[int | None, typer.Option(help="Exit after this many messages")] = None,
    timeout: Annotated[float | None, typer.Option(help="Exit after this many seconds")] = None,
    open_messages: Annotated[
        bool,
        typer.Option("--open", help="Report each message opened as soon as it arrives"),
    ] = False,
    vendor: Annotated[
        str | None,
        typer.Option(help=f"Report a vendor push token too: one of {', '.join(VENDORS)}"),
    ] = None,
    vendor_token: Annotated[
        str | None, typer.Option("--vendor-token", help="The token to report with --vendor")
    ] = None,
    activity: Annotated[
        list[str] | None,
        typer.Option(
            help="Register a Live Activity as ACTIVITY_ID=PUSH_TOKEN (an iOS device); repeatable"
        ),
    ] = None,
    activity_start: Annotated[
        list[str] | None,
        typer.Option(
            "--activity-start",
            help="Register a push-to-start token as ATTRIBUTES_TYPE=PUSH_TOKEN (an iOS device, "
            "iOS 17.2+); repeatable",
        ),
    ] = None,
) -> None:
    """Register (or resume from --state) and print one JSON object per line: the connection
    (and, with --vendor, the vendor token reported; with --activity, each Live Activity
    registered; with --activity-start, each push-to-start token registered), then each
    message, and each message the server revokes."""
    if platform not in PLATFORMS:
        raise typer.BadParameter(f"must be one of {', '.join(PLATFORMS)}", param_hint="--platform")
    if (vendor is None) != (vendor_token is None):
        raise typer.BadParameter("give --vendor and --vendor-token together", param_hint="--vendor")
    if vendor is not None and vendor not in VENDORS:
        raise typer.BadParameter(f"must be one of {', '.join(VENDORS)}", param_hint="--vendor")
    from tidings.device_client import DeviceClient, Refused  # its WebSocket client: here only

    activities = [_pair(given, "ACTIVITY_ID", "--activity") for given in activity or ()]
    start_tokens = [
        _pair(given, "ATTRIBUTES_TYPE", "--activity-start") for given in activity_start or ()
    ]
    client = DeviceClient(
        server,
        app_id=app_id,
        workspace_id=workspace,
        platform=platform,
        state_path=state,
        vendor_token=(vendor, vendor_token) if vendor and vendor_token else None,
        activities=activities,
        start_tokens=start_tokens,
    )
    try:
        with contextlib.suppress(TimeoutError):
            asyncio.run(asyncio.wait_for(_print_events(client, count, open_messages), timeout))
    except Refused as refused:
        _emit({"event": "refused", "code": refused.code, "reason": refused.reason})
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _pair(given: str, name: str, option: str) -> tuple[str, str]:
    """NAME=PUSH_TOKEN, split."""
    key, _, push_token = given.partition("=")
    if not key or not push_token:
        raise typer.BadParameter(f"give {name}=PUSH_TOKEN", param_hint=option)
    return key, push_token


async def _print_events(client: DeviceClient, count: int | None, open_messages: bool) -> None:
    from tidings.device_client import (
        ActivityRegistered,
        Connected,
        Reported,
        Revoked,
        StartTokenRegistered,
    )

    received = 0
    async with contextlib.aclosing(client.events()) as events:
        async for event in events:
            if isinstance(event, Connected):
                kind = "registered" if event.registered else "resumed"
                _emit({"event": kind, "DeliveryToken": event.delivery_token})
                continue
            if isinstance(event, Reported):
                _emit({"event": "reported", "vendor": event.vendor})
                continue
            if isinstance(event, ActivityRegistered):
                _emit({"event": "activityRegistered", "activityId": event.activity_id})
                continue
            if isinstance(event, StartTokenRegistered):
                _emit({"event": "startTokenRegistered", "attributesType": event.attributes_type})
                continue
            if isinstance(event, Revoked):
                _emit(
                    {
                        "event": "revoked",
                        "id": event.id,
                        "taskId": event.task_id,
                        "msgKey": event.msg_key,
                    }
                )
                continue
            _emit(_message_line(event))
            if open_messages:
                await client.report_open(event.id)
            received += 1
            if count is not None and received >= count:
                return


def _message_line(message: Message) -> dict[str, Any]:
    return {
        "event": "message",
        "id": message.id,
        "taskId": message.task_id,
        "msgKey": message.msg_key,
        "title": message.title,
        "content": message.content,
        "uri": message.uri,
        "extendedParams": message.extended_params,
        "silent": message.silent,
        "notifyType": message.notify_type,
        "pushAction": message.push_action,
        "pushStyle": message.push_style,
        "imageUrls": message.image_urls,
        "iconUrls": message.icon_urls,
    }


def _emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    sys.stdout.flush()
