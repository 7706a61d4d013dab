"""A fake Huawei Push Kit: the OAuth client-credentials token endpoint and ``messages:send``,
answering with Huawei's result codes. Like a device, it keeps per token the notification shown
under each ``notify_id``: a later one with the same id replaces it (Huawei's overwrite)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import HttpFake, Received

APP_ID = "10086"
CLIENT_SECRET = "hms-client-secret"


def answer(code: str, msg: str, status: int = 200) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg, "requestId": "req-1"}, status_code=status)


class FakeHms(HttpFake):
    client_id = APP_ID
    client_secret = CLIENT_SECRET
    send_path = "/v1/{app_id}/messages:send"

    def routes(self) -> list[Route]:
        return [
            Route("/oauth2/v3/token", self.token, methods=["POST"]),
            Route(self.send_path, self.send, methods=["POST"]),
        ]

    def config(self) -> dict:
        return {
            "app_id": APP_ID,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "base_url": self.url,
            "auth_url": f"{self.url}/oauth2/v3/token",
        }

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": 1102, "error_description": "bad grant"}, 400)
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return JSONResponse({"error": 1101, "error_description": "invalid client"}, 400)
        return JSONResponse(
            {"access_token": self.issue_token(), "expires_in": self.token_lifetime,
             "token_type": "Bearer"}
        )  # fmt: skip

    async def send(self, request: Request) -> Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not self.valid_token(bearer):
            return answer("80200003", "OAuth token expired", 401)
        if request.path_params["app_id"] != APP_ID:
            return answer("80300002", "The current app does not have permission", 200)
        raw = await request.body()
        try:
            message = json.loads(raw)["message"]
        except (ValueError, KeyError, TypeError):
            return answer("80100003", "Illegal message structure")
        tokens = message.get("token") or []
        if len(tokens) > 1000:
            return answer("80300010", "The number of tokens exceeds the limit")
        scripted = self.scripted(tokens[0] if tokens else None)
        if scripted is not None:
            return scripted
        if len(raw) - sum(len(t) for t in tokens) > 4096:
            return answer("80300008", "The message body size exceeds the default value")
        if any(t in self.dead for t in tokens):
            return answer("80300007", "All the tokens are invalid")
        self.record.add(Received(tokens[0], dict(request.headers), message))
        notification = (message.get("android") or {}).get("notification")
        if notification and "notify_id" in notification:
            for token in tokens:
                self.drawer.show(token, notification["notify_id"], notification)
        return answer("80000000", "Success")


def post_huawei_receipts(
    url: str, username: str, secret: str, statuses: list[dict]
) -> httpx.Response:
    """POST receipts the way Huawei's receipt service does: ``{"statuses": [...]}`` signed in
    ``X-HUAWEI-CALLBACK-ID`` with the callback user name and key."""
    headers = huawei_callback_id(username, secret)
    return httpx.post(url, json={"statuses": statuses}, headers=headers, timeout=10)


def huawei_callback_id(username: str, secret: str) -> dict[str, str]:
    """The signature header of a Huawei receipt made now."""
    stamp, nonce = str(int(time.time() * 1000)), str(uuid.uuid4())
    digest = hmac.new(secret.encode(), (stamp + nonce + username).encode(), hashlib.sha256)
    value = base64.b64encode(digest.digest()).decode()
    return {"X-HUAWEI-CALLBACK-ID": f"timestamp={stamp}; nonce={nonce}; value={value}"}


def hms_receipt(message: dict, status: int = 0) -> dict:
    """HMS's receipt (v1) of a message the fake accepted."""
    return {
        "biTag": message["android"].get("bi_tag", ""),
        "appid": APP_ID,
        "token": message["token"][0],
        "status": status,
        "timestamp": int(time.time() * 1000),
        "requestId": "req-1",
    }
