"""The response envelopes, read back with the official SDK's own response models.

The new SDK maps answers with ``from_map`` and silently drops keys it does not know, so a wrong
key name would pass unnoticed by a JSON comparison; reading each envelope through the SDK's model
catches that.
"""

from __future__ import annotations

import json
import re

from alibabacloud_mpaas20201028 import models

from tidings.errors import Code, ServiceError
from tidings.openapi import envelopes

REQUEST_ID = "0F4C2A3E-1111-4222-8333-944455556666"


def round_trip(body: dict) -> dict:
    return json.loads(envelopes.encode(body))


def test_request_ids_are_upper_case_uuids_and_unique() -> None:
    ids = {envelopes.new_request_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", i) for i in ids)


def test_encode_is_compact_utf8_json() -> None:
    assert envelopes.encode({"Msg": "张三", "n": 1}) == '{"Msg":"张三","n":1}'.encode()


def test_push_result_reads_as_push_multiple_response() -> None:
    body = models.PushMultipleResponseBody().from_map(
        round_trip(envelopes.push_result(REQUEST_ID, "1234567890"))
    )
    assert (body.request_id, body.result_code) == (REQUEST_ID, "OK")
    assert body.push_result.success is True
    assert body.push_result.data == "1234567890"


def test_push_failure_carries_the_code_and_the_field() -> None:
    error = ServiceError(Code.TEMPLATEKV_NOT_ENOUGH, "TargetMsg.1 has no value for 'money'")
    raw = round_trip(envelopes.push_failure(REQUEST_ID, error))
    body = models.PushMultipleResponseBody().from_map(raw)
    assert body.result_code == "3023"
    assert body.push_result.success is False
    assert "money" in body.result_message and body.push_result.result_msg == body.result_message
    assert "Code" not in raw  # pop-core throws on any top-level Code but OK/Success/200


def test_query_result_reads_as_scheduler_list_response() -> None:
    content = {"Data": {"TotalCount": 0, "List": []}}
    body = models.QueryPushSchedulerListResponseBody().from_map(
        round_trip(envelopes.query_result(REQUEST_ID, content))
    )
    assert body.result_code == "OK"
    assert body.result_content.data.total_count == 0


def test_query_failure() -> None:
    error = ServiceError(Code.INVALID_PARAM, "PageSize must be at most 100, got 500")
    raw = round_trip(envelopes.query_failure(REQUEST_ID, error))
    assert raw == {
        "RequestId": REQUEST_ID,
        "ResultCode": "3028",
        "ResultMessage": "INVALID_PARAM: PageSize must be at most 100, got 500",
    }


def test_service_result_reads_as_template_responses() -> None:
    created = models.CreateTemplateResponseBody().from_map(
        round_trip(envelopes.service_result(REQUEST_ID, "42"))
    )
    assert (created.success, created.code, created.msg, created.data) == (
        True,
        "100",
        "SUCCESS",
        "42",
    )
    listed = models.ListTemplatePageResponseBody().from_map(
        round_trip(
            envelopes.service_result(
                REQUEST_ID, [{"Name": "t"}], CurrentPage=1, PageSize=10, TotalSize=1
            )
        )
    )
    assert (listed.current_page, listed.page_size, listed.total_size) == (1, 10, 1)
    assert listed.data[0].name == "t"


def test_service_result_without_data_has_no_data_key() -> None:
    assert "Data" not in envelopes.service_result(REQUEST_ID)


def test_service_failure_reads_as_template_response() -> None:
    error = ServiceError(Code.TEMPLATE_ALREADY_EXIST, "TemplateName 't' exists")
    body = models.DeleteTemplateResponseBody().from_map(
        round_trip(envelopes.service_failure(REQUEST_ID, error))
    )
    assert (body.success, body.code) == (False, "3036")
    assert body.msg.startswith("TEMPLATE_ALREADY_EXIST: ")


def test_gateway_error_has_the_gateways_five_keys() -> None:
    body = envelopes.gateway_error(REQUEST_ID, "127.0.0.1:8080", "SignatureNonceUsed", "used")
    assert list(body) == ["RequestId", "HostId", "Code", "Message", "Recommend"]
    assert (body["HostId"], body["Code"], body["Message"]) == (
        "127.0.0.1:8080",
        "SignatureNonceUsed",
        "used",
    )
    assert "SignatureNonceUsed" in body["Recommend"]
