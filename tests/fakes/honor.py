"""A fake Honor Push: client-credentials tokens and ``sendMessage``, naming expired tokens in
``expireTokens`` as Honor does; receipts posted as Honor's receipt service posts them, to the URL
its console holds for the message's ``receiptId`` (``receipt_urls``). Like a device, it keeps per
token the notification shown under each ``android.notification.notifyId``: a later one with the
same id replaces it."""

from __future__ import annotations

import json
import time

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import HttpFake, Received

APP_ID = "104"
CLIENT_ID = "honor-client"
CLIENT_SECRET = "honor-secret"


class FakeHonor(HttpFake):
    def __init__(self) -> None:
        super().__init__()
        self.receipt_urls: dict[str, str] = {}  # the console's receipt id -> its URL

    def routes(self) -> list[Route]:
        return [
            Route("/auth/token", self.token, methods=["POST"]),
            Route("/api/v1/{app_id}/sendMessage", self.send, methods=["POST"]),
        ]

    def config(self) -> dict:
        return {
            "app_id": APP_ID,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "base_url": self.url,
            "auth_url": f"{self.url}/auth/token",
        }

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return JSONResponse({"access_token": self.issue_token(), "expires_in": self.token_lifetime})

    async def send(self, request: Request) -> Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not self.valid_token(bearer):
            return JSONResponse({"code": 80200003, "message": "token expired"}, status_code=401)
        if not request.headers.get("timestamp", "").isdigit():
            return JSONResponse({"code": 80100001, "message": "timestamp header missing"})
        if request.path_params["app_id"] != APP_ID:
            return JSONResponse({"code": 80300002, "message": "no permission"})
        try:
            message = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"code": 80100003, "message": "Illegal message structure"})
        tokens = message.get("token") or []
        scripted = self.scripted(tokens[0] if tokens else None)
        if scripted is not None:
            return scripted
        expired = [t for t in tokens if t in self.dead]
        data = {"sendResult": not expired, "requestId": "r1", "failTokens": [],
                "expireTokens": expired}  # fmt: skip
        if not expired:
            self.record.add(Received(tokens[0], dict(request.headers), message))
            notification = (message.get("android") or {}).get("notification")
            if notification and "notifyId" in notification:
                for token in tokens:
                    self.drawer.show(token, notification["notifyId"], notification)
        return JSONResponse({"code": 200, "message": "success", "data": data})

    def post_receipt(
        self, got: Received, status: int = 0, *, bi_tag: str | None = None
    ) -> httpx.Response:
        """POST the receipt Honor sends for a message the fake accepted."""
        android = got.body["android"]
        status_of = {
            "biTag": android.get("biTag", "") if bi_tag is None else bi_tag,
            "appId": APP_ID,
            "token": got.token,
            "status": status,
            "timestamp": int(time.time() * 1000),
            "requestId": "r1",
        }
        url = self.receipt_urls[android["receiptId"]]
        return httpx.post(url, json={"statuses": [status_of]}, timeout=10)
