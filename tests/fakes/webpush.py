"""A fake Web Push service (RFC 8030): it hands out browser subscriptions whose P-256 key pair
and auth secret it keeps (as a browser would), checks each push's VAPID JWT (ES256 under the
key in the header, which must be the app's, for this service's origin, not expired) and
decrypts the aes128gcm body with the subscription's private key."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.base import HttpFake, Received


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeWebPush(HttpFake):
    def __init__(self) -> None:
        super().__init__()
        self.app_key: str | None = None  # the applicationServerKey subscriptions were made for
        self._browsers: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}

    def routes(self) -> list[Route]:
        return [Route("/push/{sid}", self.push, methods=["POST"])]

    def subscribe(self, app_key: str) -> str:
        """A new browser subscription for the app whose VAPID public key is ``app_key``: the
        JSON ``PushSubscription.toJSON()`` gives (endpoint, keys.p256dh, keys.auth)."""
        self.app_key = app_key
        sid = uuid.uuid4().hex
        key, auth = ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        self._browsers[sid] = (key, auth)
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        keys = {"p256dh": b64url(point), "auth": b64url(auth)}
        return json.dumps({"endpoint": f"{self.url}/push/{sid}", "keys": keys})

    def unsubscribe(self, subscription: str) -> None:
        """The browser dropped it: pushes to it get 410 Gone."""
        self.dead.add(json.loads(subscription)["endpoint"].rsplit("/", 1)[1])

    def vapid_error(self, header: str) -> str | None:
        scheme, _, params = header.partition(" ")
        fields = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        if scheme.lower() != "vapid" or "t" not in fields or "k" not in fields:
            return "Authorization is not vapid t=..., k=..."
        if fields["k"] != self.app_key:
            return "k is not the key the subscription was made with"
        raw = unb64url(fields["k"])
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        try:
            claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=self.url)
        except jwt.PyJWTError as exc:
            return f"bad JWT: {exc}"
        if not time.time() < claims["exp"] <= time.time() + 24 * 3600:
            return "exp is not within the next 24 hours"
        return None

    async def push(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        if sid not in self._browsers or sid in self.dead:
            return PlainTextResponse("subscription gone", status_code=410)
        scripted = self.scripted(sid)
        if scripted is not None:
            return scripted
        refused = self.vapid_error(request.headers.get("authorization", ""))
        if refused:
            return PlainTextResponse(refused, status_code=403)
        if request.headers.get("content-encoding") != "aes128gcm" or "ttl" not in request.headers:
            return PlainTextResponse("needs TTL and Content-Encoding aes128gcm", status_code=400)
        key, auth = self._browsers[sid]
        try:
            plain = http_ece.decrypt(
                await request.body(), private_key=key, auth_secret=auth, version="aes128gcm"
            )
        except Exception as exc:
            return PlainTextResponse(f"cannot decrypt: {exc}", status_code=400)
        self.record.add(Received(sid, dict(request.headers), json.loads(plain)))
        return Response(status_code=201, headers={"location": f"{self.url}/msg/{uuid.uuid4()}"})
