"""The captured SDK requests of tests/data/pop-captured.json, as the verifier receives them.

The file holds six PushMultiple requests that the unmodified official clients sent to a local
capture server, byte for byte (copied from the project's wire-protocol research,
``shared/testvectors/pop-captured.json``): the new Python SDK with ACS3-HMAC-SHA256, with STS
credentials and in ``v2`` (RPC v1) mode, ``@alicloud/pop-core`` with POST and with GET, and the old
Python SDK (2019-08-21), whose entry also records the SDK's own v1 string to sign. Every request
was signed with AccessKeyId ``ak`` and secret ``sk``.
"""

from __future__ import annotations

import calendar
import json
import time
from dataclasses import dataclass
from pathlib import Path

from tidings.openapi.form import decode_params
from tidings.openapi.signing import SignedRequest

DATA = Path(__file__).resolve().parent.parent / "data" / "pop-captured.json"


@dataclass(frozen=True)
class Vector:
    name: str
    method: str
    target: str
    headers: dict[str, str]  # lower-case names, as the endpoint hands them to the verifier
    body: bytes
    key_id: str
    secret: str
    sdk_string_to_sign: str | None

    @property
    def query_string(self) -> str:
        return self.target.partition("?")[2]

    @property
    def params(self) -> dict[str, str]:
        """Query and body merged, as the client signed them."""
        request = self.request()
        return {**request.query, **request.form}

    @property
    def timestamp(self) -> str:
        return self.headers.get("x-acs-date") or self.params["Timestamp"]

    @property
    def epoch(self) -> int:
        return calendar.timegm(time.strptime(self.timestamp, "%Y-%m-%dT%H:%M:%SZ"))

    def request(
        self,
        *,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> SignedRequest:
        """The request decoded as the endpoint decodes it, with any part replaced."""
        raw_body = self.body if body is None else body
        raw_query = self.query_string if query_string is None else query_string
        return SignedRequest(
            method=self.method,
            query=decode_params(raw_query, "query"),
            form=decode_params(raw_body, "body"),
            headers=self.headers if headers is None else headers,
            body=raw_body,
            raw_query=raw_query.encode(),
        )


def load() -> dict[str, Vector]:
    entries = json.loads(DATA.read_text(encoding="utf-8"))
    return {
        entry["name"]: Vector(
            name=entry["name"],
            method=entry["method"],
            target=entry["target"],
            headers={name.lower(): value for name, value in entry["headers"]},
            body=entry["body"].encode("utf-8"),
            key_id=entry["ak"],
            secret=entry["sk"],
            sdk_string_to_sign=entry["sdk_string_to_sign"],
        )
        for entry in entries
    }


VECTORS = load()
ACS3 = ("new_sdk_acs3", "new_sdk_acs3_sts")
V1 = ("new_sdk_v2", "popcore_v1_post", "popcore_v1_get", "old_sdk_v1")
