"""The JSON envelopes the SDKs parse, one builder per response family.

MPS actions answer in three families (see docs/api.md): push results (``PushResult``), query
results (``ResultContent``) and the template/device family (``Code``/``Msg``/``Success``).
Business failures travel inside these bodies with HTTP 200; only gateway failures use an error
status. The SDKs map keys by exact name, so the names here are the wire names.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tidings.errors import Code, ServiceError

JSON_TYPE = "application/json;charset=utf-8"


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def gateway_error(request_id: str, host: str, code: str, message: str) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "HostId": host,
        "Code": code,
        "Message": message,
        "Recommend": f"docs/api.md#gateway-errors ({code})",
    }


def push_result(request_id: str, data: str | None = None) -> dict[str, Any]:
    """Family A success: ``PushResult.Data`` carries the task id."""
    return {
        "RequestId": request_id,
        "ResultCode": "OK",
        "ResultMessage": Code.SUCCESS.label,
        "PushResult": {"Success": True, "ResultMsg": Code.SUCCESS.label, "Data": data},
    }


def push_failure(request_id: str, error: ServiceError) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "ResultCode": error.code.value_str,
        "ResultMessage": error.message,
        "PushResult": {"Success": False, "ResultMsg": error.message, "Data": None},
    }


def query_result(request_id: str, content: Any) -> dict[str, Any]:
    """Family B success: ``ResultContent`` holds the action's own shape."""
    return {
        "RequestId": request_id,
        "ResultCode": "OK",
        "ResultMessage": Code.SUCCESS.label,
        "ResultContent": content,
    }


def query_failure(request_id: str, error: ServiceError) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "ResultCode": error.code.value_str,
        "ResultMessage": error.message,
    }


def service_result(request_id: str, data: Any = None, **extra: Any) -> dict[str, Any]:
    """Family C success: ``Code`` 100 / ``Msg`` SUCCESS, plus ``Data`` where the action has one."""
    body: dict[str, Any] = {
        "RequestId": request_id,
        "Success": True,
        "Code": Code.SUCCESS.value_str,
        "Msg": Code.SUCCESS.label,
    }
    if data is not None:
        body["Data"] = data
    body.update(extra)
    return body


def device_result(request_id: str, data: Any) -> dict[str, Any]:
    """PushQueryDeviceState's success: family C, but with ``Message`` where templates have
    ``Msg`` (the SDK reads exactly that name)."""
    return {
        "RequestId": request_id,
        "Success": True,
        "Code": Code.SUCCESS.value_str,
        "Message": Code.SUCCESS.label,
        "Data": data,
    }


def device_failure(request_id: str, error: ServiceError) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "Success": False,
        "Code": error.code.value_str,
        "Message": error.message,
    }


def service_failure(request_id: str, error: ServiceError) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "Success": False,
        "Code": error.code.value_str,
        "Msg": error.message,
    }
