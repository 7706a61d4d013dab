"""A fake Alibaba Cloud SMS API (Dysmsapi 2017-05-25): ``SendSms`` as the official SDK calls it.

Every request's signature is checked with the server-side verifier Tidings uses for its own MPS
endpoint (tidings/openapi/signing.py: ACS3-HMAC-SHA256 or RPC v1, whichever the SDK sent), under
the one AccessKey the fake knows, and the SMS it asks for is recorded: PhoneNumbers, SignName,
TemplateCode, TemplateParam (decoded) and OutId. Answers are the API's JSON: ``Code`` "OK" with a
``BizId``, or the error's ``Code`` and ``Message``.
"""

from __future__ import annotations

import json
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import HttpFake, Received
from tidings.openapi import signing
from tidings.openapi.errors import GatewayError
from tidings.openapi.form import decode_pairs

ACCESS_KEY_ID = "LTAI-fake-sms-key"
ACCESS_KEY_SECRET = "fake-sms-secret-0123456789"
REQUIRED = ("PhoneNumbers", "SignName", "TemplateCode")


def _headers(request: Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


class FakeAliyunSms(HttpFake):
    def __init__(self) -> None:
        super().__init__()
        self.schemes: list[str] = []  # the signature scheme of each request, as the SDK sent it

    def routes(self) -> list[Route]:
        return [Route("/", self.send, methods=["POST", "GET"])]

    def config(self) -> dict:
        return {
            "access_key_id": ACCESS_KEY_ID,
            "access_key_secret": ACCESS_KEY_SECRET,
            "endpoint": self.url,
        }

    async def send(self, request: Request) -> Response:
        body = await request.body()
        signed = signing.SignedRequest(
            method=request.method,
            query=dict(decode_pairs(request.scope["query_string"], "query")),
            form=dict(decode_pairs(body, "body")),
            headers=_headers(request),
            body=body,
        )
        try:
            claim = signing.read_claim(signed)
            if claim.access_key_id != ACCESS_KEY_ID:
                return _error(
                    404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
                )
            signing.check_fresh(claim, time.time(), 900)
            signing.verify(claim, signed, ACCESS_KEY_SECRET)
        except GatewayError as exc:
            return _error(exc.status, exc.code, exc.message)
        if (claim.action, claim.version) != ("SendSms", "2017-05-25"):
            return _error(400, "InvalidAction.NotFound", f"{claim.action} {claim.version}")
        self.schemes.append(claim.scheme)
        params = signing.params_of(signed)
        missing = [name for name in REQUIRED if not params.get(name)]
        if missing:
            return _error(400, "MissingParameter", f"{missing[0]} is mandatory")
        scripted = self.scripted(params["PhoneNumbers"])
        if scripted is not None:
            return scripted
        sms = {
            "PhoneNumbers": params["PhoneNumbers"],
            "SignName": params["SignName"],
            "TemplateCode": params["TemplateCode"],
            "TemplateParam": json.loads(params["TemplateParam"])
            if params.get("TemplateParam")
            else None,
            "OutId": params.get("OutId"),
        }
        self.record.add(Received(params["PhoneNumbers"], _headers(request), sms))
        biz_id = f"{len(self.record.received)}^0"
        return JSONResponse(
            {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": f"req-{biz_id}"}
        )

    def refuse(self, phone: str, code: str, message: str) -> None:
        """Answer the next SendSms to ``phone`` with a business error (HTTP 200, Code not OK)."""
        self.fail(200, {"Code": code, "Message": message, "RequestId": "req-refused"}, token=phone)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"Code": code, "Message": message, "RequestId": "req-error"}, status_code=status
    )
