"""A fake Xiaomi Push: ``/v3/message/regid`` form posts, ``Authorization: key=<app secret>``;
recall by regid and ``notify_id`` (``/v3/message/regid/revoke``); and receipts posted the way
Xiaomi posts them, to the ``extra.callback`` a message named."""

from __future__ import annotations

import json
import time

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import HttpFake, Received

APP_SECRET = "xiaomi-app-secret"
PACKAGE = "com.example.tidings"
REQUIRED = ("registration_id", "restricted_package_name", "title", "description")


def error(code: int, reason: str) -> JSONResponse:
    return JSONResponse({"result": "error", "code": code, "reason": reason, "description": reason})


class FakeXiaomi(HttpFake):
    def __init__(self) -> None:
        super().__init__()
        self.recalled: list[tuple[str, str]] = []  # (notify_id, regid) of each recall taken
        self.unrecallable: set[str] = set()  # regids whose recall to answer with an error

    def routes(self) -> list[Route]:
        return [
            Route("/v3/message/regid", self.send, methods=["POST"]),
            Route("/v3/message/regid/revoke", self.revoke, methods=["POST"]),
        ]

    def config(self) -> dict:
        return {"app_secret": APP_SECRET, "package_name": PACKAGE, "base_url": self.url}

    async def send(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"key={APP_SECRET}":
            return error(21301, "Authentication failed")
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return error(10017, "form data expected")
        form = dict(await request.form())
        missing = [name for name in REQUIRED if not form.get(name)]
        if missing:
            return error(10016, f"missing {missing[0]}")
        if form["restricted_package_name"] != PACKAGE:
            return error(22022, "invalid package name")
        token = str(form["registration_id"])
        scripted = self.scripted(token)
        if scripted is not None:
            return scripted
        if len(form.get("payload", "")) > 4096:
            return error(65009, "message too long")
        if (
            len(form.get("extra.callback", "")) > 128
            or len(form.get("extra.callback.param", "")) > 64
        ):
            return error(10017, "extra.callback is over 128 or extra.callback.param over 64 bytes")
        if token in self.dead:
            return error(20301, "No valid targets!")
        self.record.add(Received(token, dict(request.headers), form))
        msg_id = f"slm{len(self.record.received)}"
        return JSONResponse(
            {"result": "ok", "code": 0, "trace_id": msg_id, "data": {"id": msg_id},
             "description": "成功", "info": "Received push messages for 1 REGID"}
        )  # fmt: skip

    async def revoke(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"key={APP_SECRET}":
            return error(21301, "Authentication failed")
        form = dict(await request.form())
        token, notify_id = str(form.get("registration_id", "")), str(form.get("notify_id", ""))
        if not token or not notify_id.isdigit():
            return error(10016, "registration_id and a numeric notify_id are required")
        if form.get("restricted_package_name") != PACKAGE:
            return error(22022, "invalid package name")
        if token in self.unrecallable:
            return error(20301, "No valid targets!")
        self.recalled.append((notify_id, token))
        return JSONResponse({"result": "ok", "code": 0, "description": "成功"})


def post_xiaomi_receipt(
    got: Received, kind: int = 1, *, param: str | None = None
) -> httpx.Response:
    """POST the receipt Xiaomi sends for a message the fake accepted: a form whose ``data``
    is JSON keyed by the message id, to the message's ``extra.callback``."""
    form = got.body
    entry = {
        "param": form.get("extra.callback.param", "") if param is None else param,
        "type": kind,
        "targets": form["registration_id"],
        "jobkey": "",
        "barStatus": "Enable",
        "timestamp": int(time.time() * 1000),
    }
    data = json.dumps({f"slm{form['registration_id'][-6:]}": entry})
    return httpx.post(form["extra.callback"], data={"data": data}, timeout=10)
