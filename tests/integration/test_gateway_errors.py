"""Gateway errors: each with its HTTP status, the gateway's five-key JSON body and a request id
header, as the official SDKs report them and as a raw request sees them."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from alibabacloud_mpaas20201028 import models
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.request import CommonRequest
from aliyunsdkmpaas.request.v20190821 import PushMultipleRequest

from tests.integration.conftest import APP_ID, WORKSPACE, Tenant, target
from tests.support import stored
from tests.support.clients import new_sdk, old_request, old_sdk
from tests.support.raw import V2019, RawClient, gateway_error
from tests.support.servers import Server

OTHER_APP = "ONEXPUSH00000002"
OTHER_WORKSPACE = "otherws"
OTHER_WORKSPACE_APP = "ONEXOTHER0000001"
SIXTEEN_MINUTES = 16 * 60


@pytest.fixture(scope="module")
def tenant(tenant: Tenant) -> Tenant:
    """The push tenant, with a second app in its workspace and an app in another workspace."""
    tenant.server.create_app(WORKSPACE, OTHER_APP)
    tenant.server.create_app(OTHER_WORKSPACE, OTHER_WORKSPACE_APP)
    return tenant


def sdk_error(call: Callable[[], object]) -> ClientException:
    with pytest.raises(ClientException) as caught:
        call()
    return caught.value


def list_params(app: str = APP_ID, workspace: str = WORKSPACE) -> dict[str, str]:
    return {"AppId": app, "WorkspaceId": workspace}


def eventually(check: Callable[[], bool], seconds: float = 2.0) -> None:
    """Poll ``check`` until it holds; fail if it still does not after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"still not so after {seconds} s"
        time.sleep(0.05)


# --- wrong or unknown credentials -------------------------------------------------------------


@pytest.mark.parametrize("mode", ["acs3", "v2"])
def test_wrong_secret_is_signature_does_not_match(tenant: Tenant, mode: str) -> None:
    client = new_sdk(tenant.server, (tenant.key[0], "not-the-secret"), mode=mode)
    error = sdk_error(lambda: client.push_multiple(tenant.multiple()))
    assert (error.code, error.status_code) == ("SignatureDoesNotMatch", 400)
    assert "server string to sign is:" in error.message


@pytest.mark.parametrize("scheme", ["acs3", "v1"])
def test_signature_mismatch_body_carries_the_string_to_sign(tenant: Tenant, scheme) -> None:
    raw = RawClient(tenant.server, (tenant.key[0], "not-the-secret"))
    before = stored.counts(tenant.server)
    response = getattr(raw, scheme)("PushMultiple", tenant.multiple_params())
    body = gateway_error(response, 400, "SignatureDoesNotMatch")
    prefix, _, string_to_sign = body["Message"].partition("server string to sign is:")
    assert prefix and string_to_sign.startswith(
        "ACS3-HMAC-SHA256\n" if scheme == "acs3" else "POST&"
    )
    assert stored.counts(tenant.server) == before


def test_old_sdk_recognises_a_wrong_secret(tenant: Tenant) -> None:
    """The old SDK compares the string to sign in the message with its own: equal means the
    signature differs only by the secret, which it reports as InvalidAccessKeySecret."""
    request = old_request(PushMultipleRequest.PushMultipleRequest(), tenant.server)
    request.set_AppId(APP_ID)
    request.set_WorkspaceId(WORKSPACE)
    request.set_TaskName("python test task")
    with pytest.raises(ServerException) as caught:
        old_sdk((tenant.key[0], "not-the-secret")).do_action_with_exception(request)
    assert caught.value.get_error_code() == "InvalidAccessKeySecret"
    assert caught.value.get_http_status() == 400


def test_unknown_access_key_is_not_found(tenant: Tenant) -> None:
    client = new_sdk(tenant.server, ("TIDnosuchkey000000000000", "secret"))
    error = sdk_error(lambda: client.push_multiple(tenant.multiple()))
    assert (error.code, error.status_code) == ("InvalidAccessKeyId.NotFound", 404)
    raw = RawClient(tenant.server, ("TIDnosuchkey000000000000", "secret"))
    gateway_error(raw.v1("ListTemplatePage", list_params()), 404, "InvalidAccessKeyId.NotFound")


def test_disable_enable_delete_while_the_server_runs(tenant: Tenant) -> None:
    server = tenant.server
    key = server.create_key(WORKSPACE)
    client = new_sdk(server, key)

    def answer() -> str:
        try:
            client.list_template_page(
                models.ListTemplatePageRequest(app_id=APP_ID, workspace_id=WORKSPACE)
            )
        except ClientException as exc:
            return exc.code
        return "OK"

    assert answer() == "OK"
    server.cli("keys", "disable", key[0])
    eventually(lambda: answer() == "InvalidAccessKeyId.Inactive")
    gateway_error(
        RawClient(server, key).acs3("ListTemplatePage", list_params()),
        400,
        "InvalidAccessKeyId.Inactive",
    )
    server.cli("keys", "enable", key[0])
    eventually(lambda: answer() == "OK")
    server.cli("keys", "delete", key[0])
    eventually(lambda: answer() == "InvalidAccessKeyId.NotFound")


# --- replay and freshness ---------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["acs3_call", "v1_call"])
def test_a_replayed_request_is_refused(tenant: Tenant, scheme: str) -> None:
    raw = tenant.raw()
    call = getattr(raw, scheme)("PushMultiple", tenant.multiple_params())
    first = raw.send(call)
    assert first.status_code == 200 and first.json()["ResultCode"] == "OK"
    after_first = stored.counts(tenant.server)
    gateway_error(raw.send(call), 400, "SignatureNonceUsed")
    assert stored.counts(tenant.server) == after_first


def test_a_nonce_is_recorded_only_once_the_signature_verified(tenant: Tenant) -> None:
    forged = RawClient(tenant.server, (tenant.key[0], "not-the-secret"))
    nonce = "f" * 32
    gateway_error(
        forged.acs3("ListTemplatePage", list_params(), nonce=nonce), 400, "SignatureDoesNotMatch"
    )
    honest = tenant.raw().acs3("ListTemplatePage", list_params(), nonce=nonce)
    assert honest.status_code == 200 and honest.json()["Success"] is True


@pytest.mark.parametrize("scheme", ["acs3", "v1"])
def test_an_overlong_nonce(tenant: Tenant, scheme: str) -> None:
    """Nonces are kept, in PostgreSQL too, so their length has a limit; the SDKs send 32."""
    send = getattr(tenant.raw(), scheme)
    response = send("ListTemplatePage", list_params(), nonce=scheme[0] * 129)
    message = gateway_error(response, 400, "InvalidParameter")["Message"]
    assert "SignatureNonce is 129 characters long; the limit is 128" in message
    assert send("ListTemplatePage", list_params(), nonce=scheme[0] * 128).status_code == 200


@pytest.mark.parametrize("offset", [-SIXTEEN_MINUTES, SIXTEEN_MINUTES])
@pytest.mark.parametrize("scheme", ["acs3", "v1"])
def test_timestamps_sixteen_minutes_off_are_expired(tenant: Tenant, scheme, offset) -> None:
    raw = tenant.raw()
    response = getattr(raw, scheme)("ListTemplatePage", list_params(), now=time.time() + offset)
    body = gateway_error(response, 400, "InvalidTimeStamp.Expired")
    assert "15 minutes" in body["Message"]
    # Fourteen minutes off is within the window.
    near = getattr(raw, scheme)("ListTemplatePage", list_params(), now=time.time() + offset * 7 / 8)
    assert near.status_code == 200


def test_malformed_timestamps(tenant: Tenant) -> None:
    raw = tenant.raw()
    call = raw.acs3_call("ListTemplatePage", list_params())
    http_date = call.headers | {"x-acs-date": "Fri, 27 Nov 2026 01:00:00 GMT"}
    body = gateway_error(raw.send(call, headers=http_date), 400, "InvalidTimeStamp.Format")
    assert "Fri, 27 Nov 2026" in body["Message"]

    call = raw.v1_call("ListTemplatePage", list_params())
    stamp = call.path_and_query.split("Timestamp=")[1].split("&")[0]
    for bad in ("2026-11-27%2001%3A00%3A00", "2026-13-45T25%3A61%3A00Z"):
        broken = call.path_and_query.replace(f"Timestamp={stamp}", f"Timestamp={bad}")
        gateway_error(raw.send(call, path_and_query=broken), 400, "InvalidTimeStamp.Format")


@pytest.mark.parametrize(
    "authorization",
    [
        # x-acs-date and x-acs-signature-nonce left out of the signed headers
        lambda auth: auth.replace("x-acs-date;", "").replace("x-acs-signature-nonce;", ""),
        lambda auth: auth.split(",SignedHeaders=")[0],
        lambda auth: auth.replace("SignedHeaders=", "SignedHeaders"),
    ],
    ids=["unsigned required headers", "no SignedHeaders", "unreadable"],
)
def test_incomplete_signature(tenant: Tenant, authorization) -> None:
    raw = tenant.raw()
    call = raw.acs3_call("ListTemplatePage", list_params())
    headers = call.headers | {"authorization": authorization(call.headers["authorization"])}
    gateway_error(raw.send(call, headers=headers), 400, "IncompleteSignature")


# --- actions and versions ---------------------------------------------------------------------


def old_common_request(server: Server, action: str) -> CommonRequest:
    request = CommonRequest(
        domain=f"{server.host}:{server.port}", version=V2019, action_name=action
    )
    request.set_protocol_type("http")
    request.set_method("POST")
    request.add_body_params("AppId", APP_ID)
    request.add_body_params("WorkspaceId", WORKSPACE)
    request.add_body_params("TemplateName", "old-version")
    return request


@pytest.mark.parametrize("action", ["NoSuchAction", "CreateTemplate"])
def test_actions_unknown_in_a_version(tenant: Tenant, action: str) -> None:
    """CreateTemplate exists in 2020-10-28 only; the 2019-08-21 API has the push actions."""
    with pytest.raises(ServerException) as caught:
        old_sdk(tenant.key).do_action_with_exception(old_common_request(tenant.server, action))
    assert caught.value.get_error_code() == "InvalidApi.NotFound"
    assert caught.value.get_http_status() == 404
    body = gateway_error(tenant.raw().v1(action, list_params(), V2019), 404, "InvalidApi.NotFound")
    assert f"{action} {V2019}" in body["Message"]


def test_push_multiple_exists_in_both_versions(tenant: Tenant) -> None:
    response = tenant.raw().v1("PushMultiple", tenant.multiple_params(), V2019)
    assert response.status_code == 200 and response.json()["ResultCode"] == "OK"


# --- what a key may do ------------------------------------------------------------------------


def test_a_read_only_key_may_read_but_not_write(tenant: Tenant) -> None:
    server = tenant.server
    key = server.create_key(WORKSPACE, "--read-only")
    client = new_sdk(server, key)
    before = stored.counts(server)
    raw = RawClient(server, key).v1("PushMultiple", tenant.multiple_params())
    assert "read-only (PushMultiple)" in gateway_error(raw, 403, "Forbidden.RAM")["Message"]
    writes = [
        lambda: client.push_multiple(tenant.multiple()),
        lambda: client.create_template(
            models.CreateTemplateRequest(
                app_id=APP_ID, workspace_id=WORKSPACE, template_name="ro", title="t", content="c"
            )
        ),
        lambda: client.delete_template(
            models.DeleteTemplateRequest(
                app_id=APP_ID, workspace_id=WORKSPACE, template_name=tenant.template
            )
        ),
    ]
    for write in writes:
        error = sdk_error(write)
        assert (error.code, error.status_code) == ("Forbidden.RAM", 403)
        assert "read-only" in error.message
    assert stored.counts(server) == before

    got = client.get_template(
        models.GetTemplateRequest(
            app_id=APP_ID, workspace_id=WORKSPACE, template_name=tenant.template
        )
    ).body
    assert got.success and got.data.name == tenant.template
    page = client.list_template_page(
        models.ListTemplatePageRequest(app_id=APP_ID, workspace_id=WORKSPACE)
    ).body
    assert page.success and page.total_size >= 1


def test_a_key_limited_to_one_app(tenant: Tenant) -> None:
    server = tenant.server
    key = server.create_key(WORKSPACE, "--app", APP_ID)
    client = new_sdk(server, key)
    error = sdk_error(lambda: client.push_multiple(tenant.multiple(app_id=OTHER_APP)))
    assert (error.code, error.status_code) == ("Forbidden.RAM", 403)
    assert repr(OTHER_APP) in error.message
    gateway_error(
        RawClient(server, key).v1("ListTemplatePage", list_params(OTHER_APP)), 403, "Forbidden.RAM"
    )
    answer = client.push_multiple(tenant.multiple(target_msg=[target("scoped")])).body
    assert answer.result_code == "OK"


def test_a_key_of_one_workspace_used_for_another(tenant: Tenant) -> None:
    client = tenant.sdk()
    error = sdk_error(
        lambda: client.push_multiple(
            tenant.multiple(app_id=OTHER_WORKSPACE_APP, workspace_id=OTHER_WORKSPACE)
        )
    )
    assert (error.code, error.status_code) == ("Forbidden.RAM", 403)
    assert repr(OTHER_WORKSPACE) in error.message
    gateway_error(
        tenant.raw().acs3("ListTemplatePage", list_params(OTHER_WORKSPACE_APP, OTHER_WORKSPACE)),
        403,
        "Forbidden.RAM",
    )
