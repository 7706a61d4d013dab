"""The official Alibaba Cloud SDKs, pointed at a Tidings server (endpoint and protocol changed)."""

from __future__ import annotations

from alibabacloud_mpaas20201028.client import Client as NewClient
from alibabacloud_tea_openapi.models import Config
from aliyunsdkcore.client import AcsClient

from tests.support.servers import Server


def new_sdk(server: Server, key: tuple[str, str], *, mode: str = "acs3") -> NewClient:
    """``alibabacloud-mpaas20201028``: ACS3-HMAC-SHA256 by default, RPC v1 with mode ``v2``."""
    config = Config(
        access_key_id=key[0],
        access_key_secret=key[1],
        endpoint=f"{server.host}:{server.port}",
        protocol="http",
    )
    if mode == "v2":
        config.signature_algorithm = "v2"
    return NewClient(config)


def old_sdk(key: tuple[str, str]) -> AcsClient:
    """``aliyun-python-sdk-core`` (2019-08-21 requests), as the seed's Python example builds it."""
    return AcsClient(key[0], key[1], "cn-hangzhou")


def old_request(request, server: Server):
    """Point an old-SDK request at the server instead of mpaas.cn-hangzhou.aliyuncs.com."""
    request.set_endpoint(f"{server.host}:{server.port}")
    request.set_protocol_type("http")
    return request
