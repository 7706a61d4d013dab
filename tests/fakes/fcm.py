"""A fake FCM: Google's OAuth token endpoint (JWT bearer grant, RS256 signature checked against
the test service account's key) and the HTTP v1 send endpoint with FCM's error envelope. Like a
device, it keeps per token the notification shown under each ``android.notification.tag``: a
later one with the same tag replaces it."""

from __future__ import annotations

import json
import time

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import HttpFake, Received
from tests.fakes.credentials import PROJECT_ID, fcm_key, service_account

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


def error(status: int, code: str, message: str, error_code: str | None = None) -> JSONResponse:
    details = []
    if error_code:
        details.append(
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error_code,
            }
        )
    body = {"error": {"code": status, "message": message, "status": code, "details": details}}
    return JSONResponse(body, status_code=status)


class FakeFcm(HttpFake):
    def routes(self) -> list[Route]:
        return [
            Route("/token", self.token, methods=["POST"]),
            Route("/v1/projects/{project}/messages:send", self.send, methods=["POST"]),
        ]

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        try:
            claims = jwt.decode(
                str(form.get("assertion", "")),
                fcm_key().public_key(),
                algorithms=["RS256"],
                audience=self.token_url,
            )
        except jwt.PyJWTError as exc:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": str(exc)}, status_code=400
            )
        expected = service_account(self.token_url)["client_email"]
        if claims.get("iss") != expected or SCOPE not in claims.get("scope", "").split():
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if claims["exp"] - claims["iat"] > 3600 or claims["exp"] < time.time():
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(
            {"access_token": self.issue_token(), "expires_in": self.token_lifetime,
             "token_type": "Bearer"}
        )  # fmt: skip

    async def send(self, request: Request) -> Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not self.valid_token(bearer):
            return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if request.path_params["project"] != PROJECT_ID:
            return error(403, "PERMISSION_DENIED", "wrong project", "SENDER_ID_MISMATCH")
        raw = await request.body()
        try:
            message = json.loads(raw)["message"]
        except (ValueError, KeyError, TypeError):
            return error(400, "INVALID_ARGUMENT", "no message", "INVALID_ARGUMENT")
        targets = [k for k in ("token", "topic", "condition") if k in message]
        if len(targets) != 1:
            return error(400, "INVALID_ARGUMENT", "exactly one target", "INVALID_ARGUMENT")
        token = message.get("token")
        scripted = self.scripted(token)
        if scripted is not None:
            return scripted
        data = {**message.get("data", {}), **message.get("android", {}).get("data", {})}
        if any(not isinstance(v, str) for v in data.values()):
            return error(400, "INVALID_ARGUMENT", "data values must be strings", "INVALID_ARGUMENT")
        if len(raw) > 4096 + 200:
            return error(400, "INVALID_ARGUMENT", "message too big", "INVALID_ARGUMENT")
        if token in self.dead:
            return error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        self.record.add(Received(token, dict(request.headers), message))
        tag = message.get("android", {}).get("notification", {}).get("tag")
        if "notification" in message and tag:
            self.drawer.show(token, tag, message["notification"])
        return JSONResponse({"name": f"projects/{PROJECT_ID}/messages/{len(self.record.received)}"})
