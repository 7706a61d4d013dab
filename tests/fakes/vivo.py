"""A fake vivo Push: md5-signed auth (timestamp within ten minutes) and ``/message/send`` with
the ``authToken`` header; a repeated ``requestId`` is accepted and not sent again. Receipts are
posted the way vivo posts them, to the ``extra.callback`` a message named (a URL, or a receipt id
registered with the fake's console, ``receipt_ids``)."""

from __future__ import annotations

import hashlib
import json
import time

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import HttpFake, Received

APP_ID = "12345"
APP_KEY = "vivo-app-key"
APP_SECRET = "vivo-app-secret"


def answer(result: int, desc: str, **extra) -> JSONResponse:
    return JSONResponse({"result": result, "desc": desc, **extra})


class FakeVivo(HttpFake):
    def routes(self) -> list[Route]:
        self.request_ids: dict[str, str] = {}
        self.receipt_ids: dict[str, str] = {}  # the console's receipt id -> its URL
        return [
            Route("/message/auth", self.auth, methods=["POST"]),
            Route("/message/send", self.send, methods=["POST"]),
        ]

    def config(self) -> dict:
        return {
            "app_id": APP_ID,
            "app_key": APP_KEY,
            "app_secret": APP_SECRET,
            "base_url": self.url,
        }

    async def auth(self, request: Request) -> Response:
        body = json.loads(await request.body())
        if not all(body.get(k) for k in ("appId", "appKey", "timestamp", "sign")):
            return answer(10200, "appId, appKey, timestamp and sign are required")
        if abs(int(body["timestamp"]) / 1000 - time.time()) > 600:
            return answer(10207, "timestamp out of range")
        text = f"{body['appId']}{body['appKey']}{body['timestamp']}{APP_SECRET}".strip()
        if str(body["appId"]) != APP_ID or body["sign"] != hashlib.md5(text.encode()).hexdigest():
            return answer(10206, "sign error")
        return answer(0, "请求成功", authToken=self.issue_token())

    async def send(self, request: Request) -> Response:
        if not self.valid_token(request.headers.get("authtoken")):
            return answer(10050, "authToken invalid")
        body = json.loads(await request.body())
        if str(body.get("appId")) != APP_ID:
            return answer(10094, "appId does not match the authToken")
        request_id = body.get("requestId")
        if not request_id or len(request_id) > 64:
            return answer(10200, "requestId is required (at most 64 characters)")
        token = body.get("regId")
        scripted = self.scripted(token)
        if scripted is not None:
            return scripted
        if token in self.dead:
            return answer(10302, "regId invalid")
        extra = body.get("extra") or {}
        if len(extra.get("callback", "")) > 128 or len(extra.get("callback.param", "")) > 64:
            return answer(10200, "extra.callback is over 128 or callback.param over 64 characters")
        if request_id not in self.request_ids:
            self.request_ids[request_id] = f"t{len(self.request_ids) + 1}"
            self.record.add(Received(token, dict(request.headers), body))
        return answer(0, "请求成功", taskId=self.request_ids[request_id])

    def post_receipt(self, got: Received, *, param: str | None = None) -> httpx.Response:
        """POST the receipt vivo sends for a message the fake accepted: JSON keyed by the
        task id, to the URL the message's ``extra.callback`` is or names."""
        extra = got.body["extra"]
        url = self.receipt_ids.get(extra["callback"], extra["callback"])
        entry = {"param": extra["callback.param"] if param is None else param, "targets": got.token}
        task_id = self.request_ids[got.body["requestId"]]
        return httpx.post(url, json={task_id: entry}, timeout=10)
