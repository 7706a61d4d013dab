"""An app of its own per test, on a shared server: the official 2020-10-28 SDK pushing to it, and
devices (``tidings device listen``) receiving. A broadcast reaches every device of an app and
analytics count every push of it, so tests that depend on either take a fresh app."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from alibabacloud_mpaas20201028 import models
from alibabacloud_mpaas20201028.client import Client

from tests.support.clients import new_sdk
from tests.support.devices import Listener
from tests.support.servers import Server

WORKSPACE = "pushes"
TEMPLATE = "Prize"
T = TypeVar("T")


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


def eventually(check: Callable[[], T], timeout: float = 10.0) -> T:
    """``check()``'s first truthy value, asked until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"still {found!r} after {timeout} s"
        time.sleep(0.05)


@dataclass
class AppSpace:
    """One app with the template ``Prize`` (``Hello #name#, you won #money#``)."""

    server: Server
    sdk: Client
    key: tuple[str, str]
    app_id: str
    tmp: Path
    listeners: list[Listener] = field(default_factory=list)

    def ids(self) -> dict[str, str]:
        return {"app_id": self.app_id, "workspace_id": WORKSPACE}

    def device(self, *extra: str, platform: str = "android") -> Listener:
        """A ``tidings device listen`` process, registered; stopped when the test ends."""
        state = self.tmp / f"{self.app_id}-{len(self.listeners)}.json"
        listener = Listener(
            self.server, self.app_id, WORKSPACE, state, "--platform", platform, *extra
        )
        self.listeners.append(listener)
        return listener

    def again(self, listener: Listener, *extra: str) -> Listener:
        """The same device connecting again (its state file resumes it)."""
        again = Listener(self.server, self.app_id, WORKSPACE, listener.state, *extra)
        self.listeners.append(again)
        return again

    def bind(self, token: str, user_id: str, os_type: int = 1) -> None:
        answer = self.sdk.push_bind(
            models.PushBindRequest(
                **self.ids(), delivery_token=token, os_type=os_type, user_id=user_id
            )
        ).body
        assert answer.result_code == "OK", answer

    def simple(self, targets: dict[str, str], **fields: Any) -> Any:
        call = {
            "task_name": "simple",
            "title": "Notice",
            "content": "Maintenance tonight",
            "delivery_type": 1,
            "expired_seconds": 600,
            "target_msgkey": json.dumps(targets),
            **fields,
        }
        return self.sdk.push_simple(models.PushSimpleRequest(**{**self.ids(), **call})).body

    def template(self, targets: dict[str, str], **fields: Any) -> Any:
        call = {
            "task_name": "template",
            "template_name": TEMPLATE,
            "template_key_value": json.dumps({"name": "Zhang San", "money": "200"}),
            "delivery_type": 1,
            "expired_seconds": 600,
            "target_msgkey": json.dumps(targets),
            **fields,
        }
        return self.sdk.push_template(models.PushTemplateRequest(**{**self.ids(), **call})).body

    def broadcast(self, **fields: Any) -> Any:
        call = {
            "task_name": "broadcast",
            "template_name": TEMPLATE,
            "template_key_value": json.dumps({"name": "everyone", "money": "5"}),
            "delivery_type": 1,
            "msgkey": unique("b"),
            "expired_seconds": 600,
            **fields,
        }
        return self.sdk.push_broadcast(models.PushBroadcastRequest(**{**self.ids(), **call})).body

    def stop(self) -> None:
        for listener in self.listeners:
            listener.stop()


def ok(body: Any) -> str:
    """The task id of an accepted push."""
    assert body.result_code == "OK", f"{body.result_code}: {body.result_message}"
    assert body.push_result.success is True
    return body.push_result.data


def refused(body: Any, code: str) -> str:
    """The message of a push refused with ``code``."""
    assert (body.result_code, body.push_result.success) == (code, False), body
    assert body.push_result.data is None
    return body.result_message


class Workbench:
    """The server, a key for the whole workspace, and fresh apps on demand."""

    def __init__(self, server: Server) -> None:
        self.server = server
        server.create_app(WORKSPACE, unique("FIRST").upper())  # a key needs a workspace
        self.key = server.create_key(WORKSPACE)
        self.sdk = new_sdk(server, self.key)

    def app(self, tmp: Path) -> AppSpace:
        app_id = unique("APP").upper()
        self.server.create_app(WORKSPACE, app_id)
        created = self.sdk.create_template(
            models.CreateTemplateRequest(
                app_id=app_id,
                workspace_id=WORKSPACE,
                template_name=TEMPLATE,
                title="Hello #name#",
                content="Hello #name#, you won #money#",
                uri="https://example.com/prize/#money#",
            )
        ).body
        assert created.success, created
        return AppSpace(self.server, self.sdk, self.key, app_id, tmp)
