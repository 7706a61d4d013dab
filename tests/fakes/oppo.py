"""A fake OPPO Push: sha256-signed auth (timestamp within ten minutes) and unicast form posts
whose ``message`` is JSON; a repeated ``app_message_id`` is accepted and not sent again; receipts
posted the way OPPO posts them, to the ``call_back_url`` a message named."""

from __future__ import annotations

import hashlib
import json
import time

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import HttpFake, Received

APP_KEY = "oppo-app-key"
MASTER_SECRET = "oppo-master-secret"


def answer(code: int, message: str, data: dict | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": data or {}})


class FakeOppo(HttpFake):
    def routes(self) -> list[Route]:
        self.sent_ids: set[str] = set()
        return [
            Route("/server/v1/auth", self.auth, methods=["POST"]),
            Route("/server/v1/message/notification/unicast", self.unicast, methods=["POST"]),
        ]

    def config(self) -> dict:
        return {"app_key": APP_KEY, "master_secret": MASTER_SECRET, "base_url": self.url}

    async def auth(self, request: Request) -> Response:
        form = await request.form()
        timestamp = str(form.get("timestamp", ""))
        if not timestamp.isdigit() or abs(int(timestamp) / 1000 - time.time()) > 600:
            return answer(-2, "timestamp out of range")
        wanted = hashlib.sha256((APP_KEY + timestamp + MASTER_SECRET).encode()).hexdigest()
        if form.get("app_key") != APP_KEY or form.get("sign") != wanted:
            return answer(-1, "sign error")
        token = self.issue_token()
        return answer(0, "Success", {"auth_token": token, "create_time": int(time.time() * 1000)})

    async def unicast(self, request: Request) -> Response:
        form = await request.form()
        if not self.valid_token(form.get("auth_token")):
            return answer(11, "Invalid AuthToken")
        try:
            message = json.loads(str(form.get("message")))
        except ValueError:
            return answer(-1, "message is not JSON")
        token = message.get("target_value")
        scripted = self.scripted(token)
        if scripted is not None:
            return scripted
        if message.get("target_type") != 2 or not token:
            return answer(-1, "target_type must be 2 with target_value")
        if token in self.dead:
            return answer(10000, "Invalid RegistrationId")
        notification = message.get("notification", {})
        if (
            len(notification.get("call_back_url", "")) > 200
            or len(notification.get("call_back_parameter", "")) > 100
        ):
            return answer(-1, "call_back_url is over 200 or call_back_parameter over 100")
        dedup = message.get("notification", {}).get("app_message_id")
        if dedup not in self.sent_ids:
            self.sent_ids.add(dedup)
            self.record.add(Received(token, dict(request.headers), message))
        return answer(0, "Success", {"messageId": f"m{dedup}"})


def post_oppo_receipt(
    got: Received, event: str = "push_arrive", *, param: str | None = None
) -> httpx.Response:
    """POST the receipt OPPO sends for a message the fake accepted: a JSON array of events,
    to the message's ``call_back_url``."""
    notification = got.body["notification"]
    message_id = f"m{notification['app_message_id']}"
    body = [{
        "messageId": message_id,
        "appId": APP_KEY,
        "taskId": message_id,
        "registrationIds": got.token,
        "eventTime": str(int(time.time() * 1000)),
        "param": notification.get("call_back_parameter", "") if param is None else param,
        "eventType": event,
    }]  # fmt: skip
    return httpx.post(notification["call_back_url"], json=body, timeout=10)
