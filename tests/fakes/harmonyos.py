"""A fake Huawei Push Kit for HarmonyOS (REST v3): ``/v3/{projectId}/messages:send`` checking the
service account's PS256 JWT against the account's public key, the ``push-type`` header and the
scenario's payload schema, and answering with Huawei's result codes."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import HttpFake, Received

PROJECT_ID = "388421841222199046"
CLIENT_ID = "1234567890123456789"  # the app's OAuth client id: recall's path names it
KEY_ID = "harmony-key-1"
SUB_ACCOUNT = "109876543"
AUDIENCE_PATH = "/oauth2/v3/token"
PUSH_TYPES = {0, 1, 2, 6, 7, 10}
CATEGORIES = {
    "IM", "VOIP", "SUBSCRIPTION", "TRAVEL", "HEALTH", "WORK", "ACCOUNT", "EXPRESS", "FINANCE",
    "DEVICE_REMINDER", "SYSTEM_REMINDER", "MAIL", "CUSTOMER_SERVICE", "MARKETING", "NEWS",
    "CONTENT_RECOMMENDATION", "SOCIAL_DYNAMICS", "PROMO", "PLAY_VOICE", "MISS_CALL",
}  # fmt: skip
MAX_TTL = 1_296_000


@functools.cache
def account_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def account_pem() -> str:
    return (
        account_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def answer(code: str, msg: str, status: int = 200) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg, "requestId": "harmony-req-1"}, status)


def schema_error(push_type: int, message: Any) -> str | None:
    """What is wrong with a send request's body for its push-type, or None."""
    if not isinstance(message, dict) or set(message) - {"payload", "target", "pushOptions"}:
        return "message must hold payload, target and pushOptions only"
    tokens = (message.get("target") or {}).get("token")
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        return "target.token must be a list of tokens"
    options = message.get("pushOptions") or {}
    ttl = options.get("ttl", 86400)
    if type(ttl) is not int or not 0 <= ttl <= MAX_TTL:
        return "pushOptions.ttl must be a whole number of seconds up to 15 days"
    if "biTag" in options and len(str(options["biTag"]).encode()) > 64:
        return "pushOptions.biTag is longer than 64 bytes"
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "payload must be an object"
    if push_type == 0:
        return _notification_error(payload.get("notification"))
    if push_type == 6:
        if not isinstance(payload.get("extraData"), str):
            return "payload.extraData must be a string"
        return None
    if push_type == 7:
        if type(payload.get("activityId")) is not int or payload.get("operation") not in (0, 1, 2):
            return "payload needs an integer activityId and operation 0, 1 or 2"
        for name in ("event", "status"):
            if not isinstance(payload.get(name), str):
                return f"payload.{name} must be a string"
        if not isinstance(payload.get("activityData"), dict):
            return "payload.activityData must be an object"
        return None
    return None


def _notification_error(notification: Any) -> str | None:
    if not isinstance(notification, dict):
        return "payload.notification is missing"
    if notification.get("category") not in CATEGORIES:
        return f"Illegal category {notification.get('category')!r}"
    for name in ("title", "body"):
        if not isinstance(notification.get(name), str) or not notification[name]:
            return f"notification.{name} is missing"
    action = notification.get("clickAction")
    if not isinstance(action, dict) or action.get("actionType") not in (0, 1):
        return "notification.clickAction.actionType must be 0 or 1"
    if action["actionType"] == 1 and not (action.get("action") or action.get("uri")):
        return "clickAction type 1 needs action or uri"
    if "data" in action and not isinstance(action["data"], dict):
        return "clickAction.data must be an object"
    notify_id = notification.get("notifyId")
    if notify_id is not None and (type(notify_id) is not int or not 0 < notify_id < 2**31):
        return "notifyId must be a positive 32-bit integer"
    badge = notification.get("badge")
    if badge is not None and not 1 <= badge.get("addNum", 1) <= 99:
        return "Illegal payload, badge addNum value ranges from 1 to 99"
    return None


def harmony_receipt(message: dict, push_type: int, result: int = 0) -> dict:
    """Push Kit for HarmonyOS's receipt (v2) of a message the fake accepted."""
    return {
        "token": message["target"]["token"][0],
        "pushType": push_type,
        "appPackageName": "com.example.tidings",
        "biTag": message["pushOptions"].get("biTag", ""),
        "requestId": "harmony-req-1",
        "deliveryStatus": {"result": result, "timestamp": int(time.time() * 1000)},
    }


class FakeHarmony(HttpFake):
    send_path = "/v3/{project_id}/messages:send"

    def __init__(self) -> None:
        super().__init__()
        self.jwts: set[str] = set()  # every distinct JWT that authorised a request
        self.refused: set[str] = set()  # JWTs to answer 401 for, as a revoked key would be
        self.recalled: list[tuple[int, str]] = []  # (notifyId, token) of each recall taken
        self.unrecallable: set[str] = set()  # tokens whose recall to answer with an error
        # While set, a recall is taken in and held unanswered (its tokens kept in ``held``), as
        # a slow Push Kit would; once cleared, it is dropped unanswered: its asker is gone.
        self.holding_recalls = False
        self.held: list[str] = []
        self.recalls_unavailable = False  # while set, recalls are answered 503, as in an outage
        self.recall_retry_after: str | None = None  # the Retry-After header of those 503s
        self.recall_requests = 0  # recalls received, answered or not

    def routes(self) -> list[Route]:
        return [
            Route(self.send_path, self.send, methods=["POST"]),
            Route("/v1/{client_id}/messages:revoke", self.revoke, methods=["POST"]),
        ]

    def config(self, **extra) -> dict:
        return {
            "project_id": PROJECT_ID,
            "key_id": KEY_ID,
            "private_key": account_pem(),
            "sub_account": SUB_ACCOUNT,
            "client_id": CLIENT_ID,
            "base_url": self.url,
            "auth_url": f"{self.url}{AUDIENCE_PATH}",
            **extra,
        }

    def reset(self) -> None:
        super().reset()
        self.jwts.clear()
        self.refused.clear()
        self.recalled.clear()
        self.unrecallable.clear()
        self.holding_recalls = False
        self.held.clear()
        self.recalls_unavailable = False
        self.recall_retry_after = None
        self.recall_requests = 0

    def jwt_error(self, bearer: str) -> str | None:
        """Why the bearer JWT is refused, or None: Huawei checks the signature with the
        service account's public key, the key id, the issuer, the audience and the time."""
        try:
            header = jwt.get_unverified_header(bearer)
            if header.get("alg") != "PS256" or header.get("kid") != KEY_ID:
                return f"wrong alg or kid: {header}"
            claims = jwt.decode(
                bearer,
                account_key().public_key(),
                algorithms=["PS256"],
                audience=f"{self.url}{AUDIENCE_PATH}",
                issuer=SUB_ACCOUNT,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.PyJWTError as exc:
            return str(exc)
        if claims["exp"] - claims["iat"] > 3600 or claims["iat"] > time.time() + 60:
            return "the JWT's validity is longer than an hour or starts in the future"
        if bearer in self.refused:
            return "the JWT was refused"
        return None

    async def send(self, request: Request) -> Response:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        refused = self.jwt_error(bearer)
        if refused is not None:
            return answer("80200003", f"Authorization failed: {refused}", 401)
        self.jwts.add(bearer)
        if request.path_params["project_id"] != PROJECT_ID:
            return answer("80300002", "The current project does not have permission", 200)
        push_type = request.headers.get("push-type", "")
        if not push_type.isdigit() or int(push_type) not in PUSH_TYPES:
            return answer("80100001", f"Illegal push-type {push_type!r}", 400)
        raw = await request.body()
        try:
            message = json.loads(raw)
        except ValueError:
            return answer("80100003", "Illegal message structure", 400)
        wrong = schema_error(int(push_type), message)
        if wrong is not None:
            return answer("80100003", wrong, 400)
        tokens = message["target"]["token"]
        if len(tokens) > 1000:
            return answer("80300010", "The number of tokens exceeds the limit")
        scripted = self.scripted(tokens[0])
        if scripted is not None:
            return scripted
        if len(raw) - sum(len(t) for t in tokens) > 4096:
            return answer("80300008", "The message body size exceeds the default value")
        if any(t in self.dead for t in tokens):
            return answer("80300007", "All the tokens are invalid")
        self.record.add(Received(tokens[0], dict(request.headers), message))
        return answer("80000000", "Success")

    async def revoke(self, request: Request) -> Response:
        """Message recall: ``{"notifyId", "token": [...]}`` under the app's client id, for
        notification (push-type 0) and text-to-speech (2) messages only."""
        self.recall_requests += 1
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        refused = self.jwt_error(bearer)
        if refused is not None:
            return answer("80200003", f"Authorization failed: {refused}", 401)
        if request.path_params["client_id"] != CLIENT_ID:
            return answer("80300002", "The current app does not have permission", 200)
        if request.headers.get("push-type") not in ("0", "2"):
            return answer(
                "80100003", "Illegal payload, The header does not contain valid push-type"
            )
        try:
            body = json.loads(await request.body())
            notify_id, tokens = body["notifyId"], body["token"]
        except (ValueError, KeyError, TypeError):
            return answer("80100003", "Illegal message structure", 400)
        if (
            type(notify_id) is not int
            or not isinstance(tokens, list)
            or not 0 < len(tokens) <= 1000
        ):
            return answer("80100003", "notifyId must be an integer and token a list of tokens", 400)
        if self.recalls_unavailable:
            unavailable = answer("81000001", "System internal error", 503)
            if self.recall_retry_after is not None:
                unavailable.headers["retry-after"] = self.recall_retry_after
            return unavailable
        if self.holding_recalls:
            self.held.extend(tokens)
            while self.holding_recalls:
                await asyncio.sleep(0.01)
            return Response(status_code=503)
        if any(t in self.unrecallable or t in self.dead for t in tokens):
            return answer("80300007", "All the tokens are invalid")
        self.recalled.extend((notify_id, t) for t in tokens)
        return answer("80000000", "Success")
