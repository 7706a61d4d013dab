"""Malformed requests: a clear 4xx or a business code, never a 500 or a traceback, nothing
half-written, and the server answering normally afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.conftest import APP_ID, WORKSPACE, Tenant, msg_key
from tests.support import stored
from tests.support.raw import V2019, V2020, RawClient, gateway_error
from tests.support.servers import running_server
from tests.support.signer import flatten, form_encode

DEEP = "[" * 100_000
DEEP_BUT_SHORT = "[" * 60_000  # under the 64 KiB map limit, so the JSON parser sees it
DEEP_OBJECT = '{"a":' * 12_000 + "1" + "}" * 12_000
MIB = 1024 * 1024


@pytest.fixture
def unharmed(tenant: Tenant) -> Iterator[None]:
    """Around each test: nothing stored by it, and the server still serving a normal call."""
    before = stored.counts(tenant.server)
    yield
    assert stored.counts(tenant.server) == before
    check = tenant.raw().acs3("ListTemplatePage", {"AppId": APP_ID, "WorkspaceId": WORKSPACE})
    assert check.status_code == 200 and check.json()["Success"] is True


def business_failure(response: httpx.Response, code: str, *named: str) -> dict:
    assert response.status_code == 200, response.text
    assert "Traceback" not in response.text
    body = response.json()
    assert body["ResultCode"] == code, body
    assert body["PushResult"]["Success"] is False
    for text in named:
        assert text in body["ResultMessage"], body["ResultMessage"]
    return body


def v1_with_body(tenant: Tenant, body: bytes, signed_params: dict[str, str]) -> httpx.Response:
    """An RPC v1 call signed over ``signed_params`` but carrying ``body`` as it is."""
    raw = tenant.raw()
    call = raw.v1_call("PushMultiple", signed_params)
    return raw.send(call, body=body)


# --- encodings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"TaskName=%E4%B8&AppId=A", "not UTF-8"),
        (b"TaskName=%FF%FE", "not UTF-8"),
        (b"TaskName=%C0%AF", "not UTF-8"),  # an overlong encoding of '/'
        (b"TaskName=%ED%A0%80", "not UTF-8"),  # a lone surrogate
        (b"TaskName=\xff\xfe\x00", "not UTF-8"),
        (b"TaskName=caf\xe9", "not UTF-8"),  # Latin-1
    ],
)
def test_bodies_that_are_not_utf8(tenant: Tenant, unharmed, body: bytes, named: str) -> None:
    response = v1_with_body(tenant, body, {"TaskName": "x"})
    message = gateway_error(response, 400, "InvalidParameter")["Message"]
    assert named in message and "body" in message


def test_a_query_that_is_not_utf8(tenant: Tenant, unharmed) -> None:
    raw = tenant.raw()
    call = raw.v1_call("ListTemplatePage", {"AppId": APP_ID, "WorkspaceId": WORKSPACE})
    response = raw.send(call, path_and_query=call.path_and_query + "&Extra=%FF%FE")
    assert "query" in gateway_error(response, 400, "InvalidParameter")["Message"]


def test_broken_percent_escapes_are_taken_literally(tenant: Tenant, unharmed) -> None:
    """``%ZZ`` and a lone ``%`` escape nothing, so they stay as typed, as browsers do; the
    value then meets the rules like any other, under a valid signature over those values."""
    signed = flatten(tenant.multiple_params(TemplateName="100%ZZ", TaskName="50%"))
    body = form_encode(signed).replace("100%25ZZ", "100%ZZ").replace("50%25", "50%")
    response = v1_with_body(tenant, body.encode(), signed)
    business_failure(response, "3022", "'100%ZZ'")


# --- characters no database stores -------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "params"),
    [
        ("TargetMsg.1.Target", {"TargetMsg": [{"Target": "u\x00", "MsgKey": "k"}]}),
        ("TargetMsg.1.MsgKey", {"TargetMsg": [{"Target": "u", "MsgKey": "k\x00"}]}),
        ("TemplateName", {"TemplateName": "Test\x00template"}),
        ("AppId", {"AppId": APP_ID + "\x00"}),
    ],
)
def test_nul_in_a_parameter(tenant: Tenant, unharmed, where: str, params) -> None:
    """PostgreSQL refuses NUL in text; it must be refused before any lookup or write."""
    response = tenant.raw().acs3("PushMultiple", tenant.multiple_params(**params))
    message = gateway_error(response, 400, "InvalidParameter")["Message"]
    assert f"{where!r} in the body holds a NUL character" in message


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800", "\\udfff"])
@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("TargetMsg.1.TemplateKeyValue", "3028"),
        ("TargetMsg.1.ExtendedParams", "3044"),
        ("ExtendedParams", "3044"),
        ("TransparentMessagePayload", "3028"),
    ],
)
def test_json_escapes_for_unstorable_characters(
    tenant: Tenant, unharmed, field: str, code: str, escape: str
) -> None:
    value = f'{{"name":"a{escape}","money":"1"}}'
    if field == "TransparentMessagePayload":
        value = f'{{"hms":{{"data":"a{escape}"}}}}'
    params = tenant.multiple_params()
    if field.startswith("TargetMsg.1."):
        params["TargetMsg"][0][field.rsplit(".", 1)[1]] = value
    else:
        params[field] = value
    response = tenant.raw().acs3("PushMultiple", params)
    business_failure(response, code, field, "NUL character or a lone surrogate")


def test_python_literal_escapes_for_unstorable_characters(tenant: Tenant, unharmed) -> None:
    params = tenant.multiple_params()
    params["TargetMsg"][0]["TemplateKeyValue"] = "{'name': 'a\\x00', 'money': '1'}"
    business_failure(tenant.raw().acs3("PushMultiple", params), "3028", "TemplateKeyValue")


def test_escaped_emoji_pairs_are_fine(tenant: Tenant) -> None:
    params = tenant.multiple_params()
    params["TargetMsg"][0]["TemplateKeyValue"] = '{"name":"\\ud83d\\ude00","money":"1"}'
    response = tenant.raw().acs3("PushMultiple", params)
    assert response.json()["ResultCode"] == "OK"
    [row] = stored.messages(tenant.server, response.json()["PushResult"]["Data"])
    assert row["content"].startswith("Hello \U0001f600,")


# --- sizes ------------------------------------------------------------------------------------


def test_a_body_over_one_mib_is_413(tenant: Tenant, unharmed) -> None:
    raw = tenant.raw()
    call = raw.acs3_call("PushMultiple", tenant.multiple_params(TaskName="x" * (MIB + 1)))
    body = gateway_error(raw.send(call), 413, "RequestEntityTooLarge")
    assert str(MIB) in body["Message"]


def test_a_chunked_body_over_the_limit_is_413(tenant: Tenant, unharmed) -> None:
    """Without a Content-Length the limit is enforced while reading."""
    call = tenant.raw().acs3_call("PushMultiple", tenant.multiple_params(TaskName="x" * 2 * MIB))

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(call.body), 64 * 1024):
            yield call.body[start : start + 64 * 1024]

    response = httpx.post(
        tenant.server.url + "/", headers=call.headers, content=chunks(), timeout=30
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    gateway_error(response, 413, "RequestEntityTooLarge")


def test_a_lowered_body_limit(tenant: Tenant, tmp_path) -> None:
    server = tenant.server
    with running_server(server.kind, tmp_path, {"TIDINGS_BODY_LIMIT": "2048"}) as small:
        small.create_app(WORKSPACE, APP_ID)
        raw = RawClient(small, small.create_key(WORKSPACE))
        create = raw.acs3(
            "CreateTemplate",
            {
                "AppId": APP_ID,
                "WorkspaceId": WORKSPACE,
                "TemplateName": tenant.template,
                "Title": "t",
                "Content": "Hello #name#, congratulations on winning #money# yuan",
            },
        )
        assert create.json()["Success"] is True
        before = stored.counts(small)
        targets = [
            {"Target": f"user{i}", "MsgKey": msg_key(), "TemplateKeyValue": '{"name":"a"}'}
            for i in range(30)
        ]
        big = raw.acs3("PushMultiple", tenant.multiple_params(TargetMsg=targets))
        assert "2048 bytes" in gateway_error(big, 413, "RequestEntityTooLarge")["Message"]
        assert stored.counts(small) == before
        fits = raw.acs3("PushMultiple", tenant.multiple_params())
        assert fits.status_code == 200 and fits.json()["ResultCode"] == "OK"
        assert stored.counts(small) == (before.tasks + 1, before.messages + 1)


# --- deep nesting -----------------------------------------------------------------------------


@pytest.mark.parametrize("nested", [DEEP, DEEP_BUT_SHORT, DEEP_OBJECT], ids=["100k", "60k", "obj"])
@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("ExtendedParams", "3044"),
        ("TransparentMessagePayload", "3028"),
        ("ThirdChannelCategory", "3028"),
        ("StrategyContent", "3028"),
        ("TargetMsg.1.TemplateKeyValue", "3028"),
        ("TargetMsg.1.ExtendedParams", "3044"),
    ],
)
def test_deeply_nested_json(tenant: Tenant, unharmed, field: str, code: str, nested: str) -> None:
    params = tenant.multiple_params(StrategyType="1" if field == "StrategyContent" else "0")
    if field.startswith("TargetMsg.1."):
        params["TargetMsg"][0][field.rsplit(".", 1)[1]] = nested
    else:
        params[field] = nested
    business_failure(tenant.raw().acs3("PushMultiple", params), code, field.split(".")[0])


def test_dotted_sub_keys_too_deep(tenant: Tenant, unharmed) -> None:
    dotted = "TransparentMessagePayload." + ".".join(["hms"] + ["a"] * 20)
    params = tenant.multiple_params(**{dotted: "1"})
    business_failure(tenant.raw().acs3("PushMultiple", params), "3028", "not a valid sub-key")


# --- keys -------------------------------------------------------------------------------------


def test_a_repeated_key_is_refused_by_name(tenant: Tenant, unharmed) -> None:
    signed = {"AppId": APP_ID, "WorkspaceId": WORKSPACE, "TaskName": "one"}
    body = form_encode(signed) + "&TaskName=two"
    response = v1_with_body(tenant, body.encode(), signed)
    message = gateway_error(response, 400, "InvalidParameter")["Message"]
    assert "'TaskName' appears more than once" in message


def test_a_key_repeated_in_the_query(tenant: Tenant, unharmed) -> None:
    raw = tenant.raw()
    call = raw.v1_call("ListTemplatePage", {"AppId": APP_ID, "WorkspaceId": WORKSPACE})
    response = raw.send(call, path_and_query=call.path_and_query + "&Format=XML")
    assert "'Format'" in gateway_error(response, 400, "InvalidParameter")["Message"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"TargetMsg.0.Target": "u0", "TargetMsg.0.MsgKey": "k0"}, "TargetMsg.0.MsgKey"),
        ({"TargetMsg.2.Target": "u2", "TargetMsg.999999.Target": "u"}, "TargetMsg.3 is missing"),
        ({"TargetMsg.1000000.Target": "u"}, "TargetMsg.1000000.Target"),
        ({"TargetMsg.1.Foo": "bar"}, "TargetMsg.1.Foo"),
        ({"TargetMsg.-1.Target": "u"}, "TargetMsg.-1.Target"),
        ({"TargetMsg.01.Target": "u"}, "TargetMsg.01.Target"),
        ({"TargetMsg.x": "u"}, "TargetMsg.x"),
        ({"TargetMsg.1.Target.sub": "u"}, "TargetMsg.1.Target"),
    ],
)
def test_target_msg_keys_out_of_shape(tenant: Tenant, unharmed, extra, named: str) -> None:
    params = tenant.multiple_params(**extra)
    business_failure(tenant.raw().acs3("PushMultiple", params), "3028", named)


def test_only_target_msg_999999(tenant: Tenant, unharmed) -> None:
    params = tenant.multiple_params(TargetMsg=[])
    params["TargetMsg.999999.Target"] = "u"
    params["TargetMsg.999999.MsgKey"] = msg_key()
    response = tenant.raw().acs3("PushMultiple", params)
    business_failure(response, "3028", "TargetMsg.1 is missing", "TargetMsg.999999")


# --- transport --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x"]
)
def test_a_body_that_is_not_a_form(tenant: Tenant, unharmed, content_type: str) -> None:
    raw = tenant.raw()
    call = raw.acs3_call(
        "PushMultiple", tenant.multiple_params(), extra_headers={"content-type": content_type}
    )
    message = gateway_error(raw.send(call), 400, "InvalidParameter")["Message"]
    assert "application/x-www-form-urlencoded" in message


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_methods_other_than_get_and_post(tenant: Tenant, unharmed, method: str) -> None:
    raw = tenant.raw()
    call = raw.v1_call("PushMultiple", tenant.multiple_params())
    body = gateway_error(raw.send(call, method=method), 400, "UnsupportedHTTPMethod")
    assert method in body["Message"]


@pytest.mark.parametrize("version", [V2019, V2020])
def test_get_with_everything_in_the_query(tenant: Tenant, version: str) -> None:
    """pop-core's default: a GET whose query carries every parameter and the signature."""
    before = stored.counts(tenant.server)
    response = tenant.raw().v1("PushMultiple", tenant.multiple_params(), version, method="GET")
    assert response.status_code == 200
    body = response.json()
    assert body["ResultCode"] == "OK" and body["PushResult"]["Data"].isdigit()
    assert stored.counts(tenant.server) == (before.tasks + 1, before.messages + 1)
