"""Devices for the tests: ``tidings device listen`` as a real subprocess, and pushes through the
official SDK shaped the way the delivery tests need them."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alibabacloud_mpaas20201028 import models
from alibabacloud_mpaas20201028.client import Client

from tests.support.servers import Server


class Listener:
    """A ``tidings device listen`` process; a thread reads its JSON lines into a queue."""

    def __init__(
        self, server: Server, app_id: str, workspace: str, state: Path, *extra: str
    ) -> None:
        self.state = state
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tidings",
                "device",
                "listen",
                "--server",
                server.url,
                "--workspace",
                workspace,
                "--app-id",
                app_id,
                "--state",
                str(state),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def next(self, timeout: float = 15) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line from the device in {timeout} s") from None
        if line is None:
            raise AssertionError(f"the device exited: {self._stderr()}")
        self.seen.append(line)
        return line

    def connected(self, timeout: float = 45) -> dict[str, Any]:
        """The next registered/resumed line; the DeliveryToken is in it. The wait covers a new
        process's start (a second or two of imports, many more on a loaded two-core machine)."""
        line = self.next(timeout)
        assert line["event"] in ("registered", "resumed"), line
        return line

    def messages(self, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        """The next ``count`` messages (connection lines in between are skipped)."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            line = self.next(max(0.01, deadline - time.monotonic()))
            if line["event"] == "message":
                found.append(line)
        return found

    def quiet(self, seconds: float = 0.5) -> None:
        """Assert that no message arrives within ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return
            assert line is None or line["event"] != "message", f"unexpected {line}"
            if line is not None:
                self.seen.append(line)

    def _stderr(self) -> str:
        self.process.wait(timeout=10)
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def exit_code(self, timeout: float = 15) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def push_multiple(
    client: Client,
    app_id: str,
    workspace: str,
    template: str,
    targets: Sequence[tuple[str, str, dict[str, str]]],
    *,
    delivery_type: int = 1,
    expired_seconds: int = 600,
    **options: Any,
) -> str:
    """PushMultiple through the SDK; targets are (Target, MsgKey, TemplateKeyValue). Extra
    keyword arguments are PushMultipleRequest fields (notify_type, silent, ...); a ``per_target``
    dict maps a MsgKey to that target's ExtendedParams. The task id."""
    per_target = options.pop("per_target", {})
    answer = client.push_multiple(
        models.PushMultipleRequest(
            app_id=app_id,
            workspace_id=workspace,
            delivery_type=delivery_type,
            task_name="delivery test",
            template_name=template,
            expired_seconds=expired_seconds,
            target_msg=[
                models.PushMultipleRequestTargetMsg(
                    target=target,
                    msg_key=msg_key,
                    template_key_value=json.dumps(values),
                    extended_params=json.dumps(per_target[msg_key])
                    if msg_key in per_target
                    else None,
                )
                for target, msg_key, values in targets
            ],
            **options,
        )
    ).body
    assert answer.result_code == "OK", answer
    return answer.push_result.data


def bind(client: Client, app_id: str, workspace: str, token: str, user_id: str, os_type: int = 1):
    return client.push_bind(
        models.PushBindRequest(
            app_id=app_id,
            workspace_id=workspace,
            delivery_token=token,
            os_type=os_type,
            user_id=user_id,
        )
    ).body
