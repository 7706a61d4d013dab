"""A fake Xiaomi Push: ``/v3/message/regid`` form posts, ``Authorization: key=<app secret>``."""

from __future__ import annotations

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
    def routes(self) -> list[Route]:
        return [Route("/v3/message/regid", self.send, methods=["POST"])]

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
        if token in self.dead:
            return error(20301, "No valid targets!")
        self.record.add(Received(token, dict(request.headers), form))
        msg_id = f"slm{len(self.record.received)}"
        return JSONResponse(
            {"result": "ok", "code": 0, "trace_id": msg_id, "data": {"id": msg_id},
             "description": "成功", "info": "Received push messages for 1 REGID"}
        )  # fmt: skip
