"""Raw HTTP calls to a server, signed with tests.support.signer, for what no SDK would send."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from tests.support.servers import Server
from tests.support.signer import SignedCall, flatten, sign_acs3, sign_v1

V2019 = "2019-08-21"
V2020 = "2020-10-28"
GATEWAY_KEYS = {"RequestId", "HostId", "Code", "Message", "Recommend"}


@dataclass
class RawClient:
    server: Server
    key: tuple[str, str]

    @property
    def host(self) -> str:
        return f"{self.server.host}:{self.server.port}"

    def acs3_call(self, action: str, params: Mapping[str, Any], **signing: Any) -> SignedCall:
        return sign_acs3(self.key[0], self.key[1], self.host, action, flatten(params), **signing)

    def v1_call(
        self, action: str, params: Mapping[str, Any], version: str = V2020, **signing: Any
    ) -> SignedCall:
        return sign_v1(self.key[0], self.key[1], action, flatten(params), version, **signing)

    def acs3(self, action: str, params: Mapping[str, Any], **signing: Any) -> httpx.Response:
        return self.send(self.acs3_call(action, params, **signing))

    def v1(
        self, action: str, params: Mapping[str, Any], version: str = V2020, **signing: Any
    ) -> httpx.Response:
        return self.send(self.v1_call(action, params, version, **signing))

    def send(self, call: SignedCall, **changes: Any) -> httpx.Response:
        """Send a signed call, with any of its fields (method, headers, body) replaced."""
        call = replace(call, **changes) if changes else call
        return httpx.request(
            call.method,
            self.server.url + call.path_and_query,
            headers=call.headers,
            content=call.body,
            timeout=30,
        )


def gateway_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is the gateway's error answer; its body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == GATEWAY_KEYS, body
    assert body["Code"] == code, body
    assert response.headers["x-acs-request-id"] == body["RequestId"]
    assert "Traceback" not in response.text
    return body
